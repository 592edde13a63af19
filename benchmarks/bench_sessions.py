"""Library-level timings of the session store: save, load, resume, add_message, list, index.

Run by hand (not part of the test suite)::

    python benchmarks/bench_sessions.py [--quick] [--runs N] [--out FILE.md]

Everything happens in a temporary data folder under ``benchmarks/.data`` (``OPENCODE_DATA_DIR``
and ``OPENCODE_CONFIG_DIR`` point into it, so no user session or hook is touched); it is
deleted afterwards. Progress goes to stderr, the markdown report to stdout (and ``--out``).
Every figure is a median over repeated runs, in milliseconds, with a warm page cache.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA_PARENT = HERE / ".data"

MESSAGE_SIZES_FULL = (10, 1_000, 10_000)
MESSAGE_SIZES_QUICK = (10, 1_000)
SESSION_COUNTS_FULL = (1_000, 10_000)
SESSION_COUNTS_QUICK = (1_000,)
DEFAULT_RUNS_FULL = 9
DEFAULT_RUNS_QUICK = 3
# add_message calls timed per run. The full figure crosses the 1 MiB compaction threshold
# about once per run (records average ~0.6 KB), so the compaction spike shows in p95/max.
APPENDS_FULL = 2_000
APPENDS_QUICK = 200
PENDING_FRACTION = 0.10  # share of a session's messages left in the journal by a "crash"

# Targets from the speed issue.
APPEND_10K_MAX_MS = 1.0
APPEND_RATIO_MAX = 1.5
RESUME_TARGETS_MS = {1_000: 40.0, 10_000: 300.0}
LIST_RATIO_CLI_TARGET = 1.5

_WORD_TEXT = (
    "the session journal snapshot index message assistant user tool result file path "
    "function return value error test list dict json orjson fsync rename folder lock "
    "writer reader replay compact record sequence timestamp model token prompt reply "
    "def class import async await self None True False for while if else try except "
    "src/opencode/sessions/manager.py tests/test_storage.py `storage.save(session)` "
    "naïve café → ✓ \"quoted\" 'single' {braces} [brackets] <tag> \\path\\to a=b x+y 42 "
    "3.14 0x1f TODO FIXME https://example.com/docs?q=1&r=2"
)
WORDS = [*_WORD_TEXT.split(), "\n", "\n\n", "\t"]
TOOL_NAMES = ("read_file", "write_file", "run_shell", "search_code", "list_dir")


# -- timing ------------------------------------------------------------------------------------


def timed_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def repeat_ms(
    fn: Callable[[], object],
    runs: int,
    *,
    setup: Callable[[], object] | None = None,
    warmup: bool = True,
) -> list[float]:
    """``runs`` timings of ``fn`` (after an untimed warm-up call), ``setup`` untimed before each."""
    if warmup:
        if setup is not None:
            setup()
        fn()
    times = []
    for _ in range(runs):
        if setup is not None:
            setup()
        gc.collect()
        times.append(timed_ms(fn))
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, math.ceil(pct / 100.0 * len(ordered)) - 1)
    return ordered[rank]


def progress(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


# -- realistic data ----------------------------------------------------------------------------


MessageSpec = dict[str, Any]


class Corpus:
    """Deterministic message contents: a pool of texts of 200-800 characters."""

    def __init__(self, seed: int = 20240601) -> None:
        self.rng = random.Random(seed)
        self.texts = [self._text(200, 800) for _ in range(512)]
        self.short = [self._text(0, 200) for _ in range(128)]
        self._call = 0

    def _text(self, low: int, high: int) -> str:
        target = self.rng.randint(low, high)
        pieces: list[str] = []
        length = 0
        while length < target:
            word = self.rng.choice(WORDS)
            pieces.append(word)
            length += len(word) + 1
        return " ".join(pieces)[:target]

    def text(self) -> str:
        return self.rng.choice(self.texts)

    def conversation(self, count: int) -> list[MessageSpec]:
        """``count`` messages: user turns, assistant replies, some tool calls and tool results."""
        specs: list[MessageSpec] = []
        while len(specs) < count:
            specs.append({"role": "user", "content": self.text()})
            if self.rng.random() < 0.4:
                calls = [self._tool_call() for _ in range(self.rng.randint(1, 2))]
                specs.append(
                    {
                        "role": "assistant",
                        "content": self.rng.choice(self.short),
                        "tool_calls": calls,
                    }
                )
                specs.extend(
                    {
                        "role": "tool",
                        "content": self.text(),
                        "tool_call_id": call["id"],
                        "name": call["function"]["name"],
                    }
                    for call in calls
                )
            specs.append({"role": "assistant", "content": self.text()})
        return specs[:count]

    def _tool_call(self) -> dict[str, Any]:
        self._call += 1
        name = self.rng.choice(TOOL_NAMES)
        arguments = {"path": f"src/opencode/module_{self._call % 97}.py", "limit": 200}
        return {
            "id": f"call_{self._call:08d}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }


def build_session(specs: list[MessageSpec], title: str, working_dir: str) -> Any:
    """An in-memory ``Session`` holding ``specs`` with timestamps 30 s apart."""
    from opencode.sessions import Session, SessionMessage

    start = datetime.now(timezone.utc) - timedelta(seconds=30 * (len(specs) + 1))
    messages = [
        SessionMessage(timestamp=start + timedelta(seconds=30 * i), **spec)
        for i, spec in enumerate(specs)
    ]
    return Session(
        title=title,
        working_dir=working_dir,
        model="gpt-4o-mini",
        created_at=start,
        updated_at=messages[-1].timestamp if messages else start,
        messages=messages,
        total_prompt_tokens=120 * len(specs),
        total_completion_tokens=40 * len(specs),
        tags=["bench"],
    )


# -- stdlib baseline ---------------------------------------------------------------------------


def stdlib_dumps(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def stdlib_atomic_write(path: Path, data: bytes, backup_path: Path | None = None) -> None:
    """The steps of ``fileio.atomic_write``: temp file, fsync, backup link, rename, fsync dir."""
    folder = path.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    if backup_path is not None:
        staging = backup_path.with_name(f".{backup_path.name}.link")
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        with contextlib.suppress(FileNotFoundError):
            os.link(path, staging)
            os.replace(staging, backup_path)
    os.replace(tmp_name, path)
    dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# -- results -----------------------------------------------------------------------------------


@dataclass
class AppendStats:
    median: float
    p95: float
    worst: float
    calls: int
    compactions: float
    compaction_call: float | None  # median duration of the calls that compacted


@dataclass
class Results:
    runs: int
    sizes: tuple[int, ...]
    counts: tuple[int, ...]
    appends: int
    snapshot_bytes: dict[int, int] = field(default_factory=dict)
    save_orjson: dict[int, float] = field(default_factory=dict)
    save_stdlib: dict[int, float] = field(default_factory=dict)
    encode_orjson: dict[int, float] = field(default_factory=dict)
    encode_stdlib: dict[int, float] = field(default_factory=dict)
    to_dict: dict[int, float] = field(default_factory=dict)
    load_compacted: dict[int, float] = field(default_factory=dict)
    load_journal: dict[int, float] = field(default_factory=dict)
    journal_records: dict[int, int] = field(default_factory=dict)
    journal_bytes: dict[int, int] = field(default_factory=dict)
    resume: dict[int, float] = field(default_factory=dict)
    append: dict[int, AppendStats] = field(default_factory=dict)
    list_limit: dict[int, float] = field(default_factory=dict)
    list_all: dict[int, float] = field(default_factory=dict)
    manager_list: dict[int, float] = field(default_factory=dict)
    index_parse: dict[int, float] = field(default_factory=dict)
    folder_scan: dict[int, float] = field(default_factory=dict)
    index_bytes: dict[int, int] = field(default_factory=dict)
    index_entries: int = 0
    index_write_stdlib: float = 0.0
    index_write_orjson: float = 0.0
    index_encode_stdlib: float = 0.0
    index_encode_orjson: float = 0.0
    index_document: float = 0.0
    index_rmw_save: float = 0.0
    index_rmw_whole: float = 0.0
    build_seconds: float = 0.0


# -- benchmarks --------------------------------------------------------------------------------


class Bench:
    def __init__(self, root: Path, results: Results, corpus: Corpus) -> None:
        from opencode.sessions import SessionStorage

        self.root = root
        self.results = results
        self.corpus = corpus
        self.runs = results.runs
        self.working_dir = str(root / "project")
        self.storage = SessionStorage()  # <OPENCODE_DATA_DIR>/sessions, as the manager uses
        self.storage.ensure_dir()
        self.baseline_dir = root / "baseline"
        self.baseline_dir.mkdir()

    def manager(self, **options: Any) -> Any:
        from opencode.sessions import SessionManager

        return SessionManager(self.storage, auto_save_interval=0, **options)

    # save: storage.save vs the stdlib baseline ----------------------------------------------

    def save(self, size: int) -> None:
        from opencode.sessions.fileio import dumps_json

        r = self.results
        session = build_session(self.corpus.conversation(size), f"save {size}", self.working_dir)
        storage = self.storage
        r.save_orjson[size] = median(repeat_ms(lambda: storage.save(session), self.runs))
        r.snapshot_bytes[size] = storage.get_path(session.id).stat().st_size
        r.encode_orjson[size] = median(repeat_ms(lambda: dumps_json(session.to_dict()), self.runs))
        r.to_dict[size] = median(repeat_ms(session.to_dict, self.runs))

        path = self.baseline_dir / f"{session.id}.json"
        backup = self.baseline_dir / f"{session.id}.backup"
        r.save_stdlib[size] = median(
            repeat_ms(
                lambda: stdlib_atomic_write(path, stdlib_dumps(session.to_dict()), backup),
                self.runs,
            )
        )
        r.encode_stdlib[size] = median(
            repeat_ms(lambda: stdlib_dumps(session.to_dict()), self.runs)
        )
        path.unlink()
        backup.unlink()

        # The snapshot just written is fully compacted (no journal): time loading it.
        r.load_compacted[size] = median(repeat_ms(lambda: storage.load(session.id), self.runs))

    # load / resume with a journal left behind by a killed writer -----------------------------

    def crashed_session(self, size: int) -> tuple[str, bytes, bytes]:
        """A session whose last 10% of messages are only in its journal, as after a crash.

        A child process resumes the compacted head, appends the tail through a manager that
        never compacts, and dies via ``os._exit`` without closing anything.
        """
        from opencode.sessions import SessionIndex

        specs = self.corpus.conversation(size)
        pending = max(1, round(size * PENDING_FRACTION))
        head = build_session(specs[:-pending], f"crashed {size}", self.working_dir)
        self.storage.save(head)
        index = SessionIndex(self.storage)  # indexed, as a session created by a manager is
        index.add(head)
        index.save_if_dirty()
        crash_writer(self.storage.storage_dir, head.id, specs[-pending:])
        snapshot = self.storage.get_path(head.id).read_bytes()
        journal = self.storage.get_journal_path(head.id).read_bytes()
        records = journal.count(b"\n")
        if records != pending:
            raise RuntimeError(f"expected {pending} journal records, found {records}")
        self.results.journal_records[size] = pending
        self.results.journal_bytes[size] = len(journal)
        return head.id, snapshot, journal

    def load_and_resume(self, size: int) -> None:
        r = self.results
        session_id, snapshot, journal = self.crashed_session(size)
        storage = self.storage
        r.load_journal[size] = median(repeat_ms(lambda: storage.load(session_id), self.runs))
        loaded = storage.load(session_id)
        if loaded.message_count != size:
            raise RuntimeError(f"replay gave {loaded.message_count} messages, not {size}")
        del loaded

        def restore_crash_state() -> None:
            # resume compacts the journal into the snapshot: put the crashed files back.
            storage.get_path(session_id).write_bytes(snapshot)
            storage.get_journal_path(session_id).write_bytes(journal)

        times = []
        for run in range(self.runs + 1):
            restore_crash_state()
            manager = self.manager()
            gc.collect()
            elapsed = timed_ms(lambda: manager.resume(session_id))  # noqa: B023
            if manager.current_session.message_count != size:
                raise RuntimeError("resume lost messages")
            manager.close()
            if run:  # the first run is a warm-up
                times.append(elapsed)
        r.resume[size] = median(times)
        self.manager().delete(session_id)

    # add_message: one journal line + fdatasync ---------------------------------------------

    def add_message(self, size: int) -> None:
        from opencode.sessions import SessionIndex
        from opencode.sessions.ids import new_session_id

        specs = self.corpus.conversation(size)
        filler = self.manager(durable_appends=False)
        base_id = filler.create(working_dir=self.working_dir, model="gpt-4o-mini").id
        for spec in specs:
            filler.add_message(**spec)
        filler.close()
        # Hold no other copy of a big session while timing: a real process has just the one,
        # and extra live objects would make the garbage collector's full passes slower.
        del filler, specs
        extra = self.corpus.conversation(self.results.appends)

        per_run_median: list[float] = []
        per_run_p95: list[float] = []
        worst = 0.0
        compactions: list[int] = []
        compaction_calls: list[float] = []
        for _ in range(self.runs):
            # Each run starts from a fresh copy of the pre-filled session, so "10 messages"
            # stays 10 messages at the start of every run.
            clone = self.storage.load(base_id)
            clone_id = clone.id = new_session_id()
            self.storage.save(clone)
            # Index the copy as create() would; otherwise the manager's first index update
            # (at the compaction) would find an unknown file and parse all of it to list it.
            index = SessionIndex(self.storage)
            index.add(clone)
            index.save_if_dirty()
            del clone, index
            manager = self.manager()
            manager.resume(clone_id)
            journal_path = self.storage.get_journal_path(clone_id)
            times: list[float] = []
            compacted = 0
            last_size = 0
            gc.collect()
            for spec in extra:
                start = time.perf_counter()
                manager.add_message(**spec)
                times.append((time.perf_counter() - start) * 1000.0)
                journal_size = journal_path.stat().st_size
                if journal_size < last_size:
                    compacted += 1
                    compaction_calls.append(times[-1])
                last_size = journal_size
            manager.close()
            manager.delete(clone_id)
            per_run_median.append(median(times))
            per_run_p95.append(percentile(times, 95))
            worst = max(worst, *times)
            compactions.append(compacted)
        self.manager().delete(base_id)
        self.results.append[size] = AppendStats(
            median=median(per_run_median),
            p95=median(per_run_p95),
            worst=worst,
            calls=len(extra),
            compactions=statistics.mean(compactions),
            compaction_call=median(compaction_calls) if compaction_calls else None,
        )

    # listing ---------------------------------------------------------------------------------

    def build_folder(self, count: int) -> Any:
        """``count`` sessions written straight to disk, indexed with one index write."""
        from opencode.sessions import SessionIndex, SessionStorage
        from opencode.sessions.fileio import dumps_json

        storage = SessionStorage(self.root / f"list-{count}")
        index = SessionIndex(storage)
        index.rebuild()  # writes an empty index.json, so save_if_dirty below merges into it
        rng = random.Random(count)
        now = datetime.now(timezone.utc)
        for number in range(count):
            specs = self.corpus.conversation(rng.randint(2, 20))
            session = build_session(specs, f"session {number}", self.working_dir)
            session.updated_at = now - timedelta(seconds=rng.randint(0, 365 * 86_400))
            session.created_at = session.updated_at - timedelta(hours=1)
            storage.get_path(session.id).write_bytes(dumps_json(session.to_dict()))
            index.add(session)
        index.save_if_dirty()
        return storage

    def listing(self, count: int) -> Any:
        from opencode.sessions import SessionIndex, SessionManager
        from opencode.sessions.fileio import read_bytes
        from opencode.sessions.index import parse_index

        r = self.results
        started = time.perf_counter()
        storage = self.build_folder(count)
        r.build_seconds += time.perf_counter() - started
        r.index_bytes[count] = storage.index_path.stat().st_size

        def fresh_list(limit: int | None) -> None:
            found = SessionIndex(storage).list(limit=limit)
            if len(found) != (limit or count):
                raise RuntimeError(f"listed {len(found)} sessions")

        r.list_limit[count] = median(repeat_ms(lambda: fresh_list(20), self.runs))
        r.list_all[count] = median(repeat_ms(lambda: fresh_list(None), self.runs))
        manager = SessionManager(storage, auto_save_interval=0)
        r.manager_list[count] = median(
            repeat_ms(lambda: manager.list_sessions(limit=20), self.runs)
        )
        r.index_parse[count] = median(
            repeat_ms(lambda: parse_index(read_bytes(storage.index_path)), self.runs)
        )
        r.folder_scan[count] = median(repeat_ms(storage.list_session_ids, self.runs))
        return storage

    # index writes ----------------------------------------------------------------------------

    def index_writes(self, storage: Any) -> None:
        from opencode.sessions import SessionIndex
        from opencode.sessions.fileio import atomic_write, dumps_json, read_bytes
        from opencode.sessions.index import INDEX_VERSION, parse_index

        r = self.results
        entries = parse_index(read_bytes(storage.index_path))
        r.index_entries = len(entries)

        def document() -> dict[str, Any]:
            # What SessionIndex writes: entries keyed by id, without the repeated id.
            sessions = {}
            for session_id, summary in entries.items():
                entry = summary.to_dict()
                del entry["id"]
                sessions[session_id] = entry
            return {"version": INDEX_VERSION, "sessions": sessions}

        target = self.baseline_dir / "index.json"
        r.index_write_stdlib = median(
            repeat_ms(lambda: stdlib_atomic_write(target, stdlib_dumps(document())), self.runs)
        )
        r.index_write_orjson = median(
            repeat_ms(lambda: atomic_write(target, dumps_json(document())), self.runs)
        )
        r.index_encode_stdlib = median(repeat_ms(lambda: stdlib_dumps(document()), self.runs))
        r.index_encode_orjson = median(repeat_ms(lambda: dumps_json(document()), self.runs))
        r.index_document = median(repeat_ms(document, self.runs))
        target.unlink()

        # Read-modify-write after one add, as the manager does on create and compaction.
        some_id = next(iter(entries))
        session = storage.load(some_id)
        holder: dict[str, Any] = {}

        def prepare() -> None:
            index = SessionIndex(storage)
            session.touch()
            index.add(session)  # loads the 10,000 entries (read + reconcile)
            holder["index"] = index

        def save() -> None:
            if not holder["index"].save_if_dirty():
                raise RuntimeError("index was not dirty")

        r.index_rmw_save = median(repeat_ms(save, self.runs, setup=prepare))

        def whole() -> None:
            index = SessionIndex(storage)
            session.touch()
            index.add(session)
            index.save_if_dirty()

        r.index_rmw_whole = median(repeat_ms(whole, self.runs))


def crash_writer(storage_dir: Path, session_id: str, specs: list[MessageSpec]) -> None:
    """In a child process: resume, append ``specs`` to the journal, die without closing."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            from opencode.sessions import SessionManager, SessionStorage

            manager = SessionManager(
                SessionStorage(storage_dir),
                auto_save_interval=0,
                durable_appends=False,
                compact_journal_bytes=1 << 62,
                fire_shell_hooks=False,
            )
            manager.resume(session_id)
            for spec in specs:
                manager.add_message(**spec)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("the crashing writer failed")


# -- report ------------------------------------------------------------------------------------


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value:.3f}"
    if value < 10:
        return f"{value:.2f}"
    return f"{value:.1f}"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def fmt_bytes(value: int | None) -> str:
    if value is None:
        return "-"
    if value >= 1024 * 1024:
        return f"{value / (1024 * 1024):.1f} MiB"
    return f"{value / 1024:.1f} KiB"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def size_label(size: int) -> str:
    return f"{size:,} msgs"


def verdict(value: float | None, limit: float) -> str:
    if value is None:
        return "not measured"
    return "PASS" if value <= limit else "FAIL"


def render(r: Results, *, quick: bool, data_root: Path, elapsed: float) -> str:
    sizes = MESSAGE_SIZES_FULL
    small, large = sizes[0], sizes[-1]
    out: list[str] = ["# Session library benchmarks", ""]
    out += [
        f"- {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs",
        f"- mode: {'--quick' if quick else 'full'}; every figure is the **median of {r.runs} "
        f"runs** in ms (after one untimed warm-up), warm page cache; data folder on "
        f"`{data_root.parent}`",
        f"- total time {elapsed:.0f} s (building the listing folders: {r.build_seconds:.0f} s)",
        "",
    ]

    def cells(values: dict[int, float]) -> list[str]:
        return [fmt_ms(values.get(size)) for size in sizes]

    def ratio(values: dict[int, float]) -> str:
        if small in values and large in values:
            return fmt_ratio(values[large] / values[small])
        return "-"

    appends = {size: stats.median for size, stats in r.append.items()}
    out += ["## Per-session operations (speed issue)", ""]
    rows = [
        [
            "rewrite whole session file, stdlib `json` (indent 2, atomic write + fsync)",
            *cells(r.save_stdlib),
            ratio(r.save_stdlib),
        ],
        ["same with orjson (`storage.save`)", *cells(r.save_orjson), ratio(r.save_orjson)],
        [
            "speed-up of orjson save (stdlib ÷ orjson)",
            *[
                fmt_ratio(r.save_stdlib[s] / r.save_orjson[s]) if s in r.save_orjson else "-"
                for s in sizes
            ],
            "",
        ],
        [
            "`manager.add_message` (append + fdatasync), median/call",
            *cells(appends),
            ratio(appends),
        ],
        [
            "`manager.add_message` p95 / max per call",
            *[
                f"{fmt_ms(r.append[s].p95)} / {fmt_ms(r.append[s].worst)}" if s in r.append else "-"
                for s in sizes
            ],
            "",
        ],
        [
            "`manager.add_message` call that compacts (snapshot + index write)",
            *[fmt_ms(r.append[s].compaction_call) if s in r.append else "-" for s in sizes],
            "",
        ],
        [
            "load (snapshot + journal replay, `storage.load`)",
            *cells(r.load_journal),
            ratio(r.load_journal),
        ],
        ["`manager.resume` (lock, load, compact, index)", *cells(r.resume), ratio(r.resume)],
    ]
    out += table(["operation", *[size_label(s) for s in sizes], f"{large:,} / {small}"], rows)
    out += [
        "",
        f"- add_message: {r.appends:,} calls per run, each run on a fresh copy of the session "
        "pre-filled to the column's length; median and p95 are medians of the per-run figures, "
        "max is the worst call of all runs. Compactions per run (journal past 1 MiB): "
        + ", ".join(f"{s:,} msgs: {r.append[s].compactions:g}" for s in sizes if s in r.append)
        + ".",
        "- load / resume: the last 10% of the messages are pending in the journal of a writer "
        "killed without closing ("
        + ", ".join(
            f"{s:,} msgs: {plural(r.journal_records[s], 'record')}, {fmt_bytes(r.journal_bytes[s])}"
            for s in sizes
            if s in r.journal_records
        )
        + "); `manager.resume` then folds them into a new snapshot.",
        "- compaction (in `add_message` and `resume`) also updates the index; the folder used "
        "here indexes only a few sessions, so in a store of 10,000 sessions add the index "
        "read-modify-write figure from the last table.",
        "",
    ]

    out += ["## Targets", ""]
    rows = []
    a_small = r.append.get(small)
    a_large = r.append.get(large)
    rows.append(
        [
            f"add_message on {large:,} msgs ≤ {APPEND_10K_MAX_MS:g} ms",
            fmt_ms(a_large.median) if a_large else "-",
            verdict(a_large.median if a_large else None, APPEND_10K_MAX_MS),
        ]
    )
    append_ratio = a_large.median / a_small.median if a_large and a_small else None
    rows.append(
        [
            f"add_message {large:,} msgs ÷ {small} msgs ≤ {APPEND_RATIO_MAX:g}",
            fmt_ratio(append_ratio),
            verdict(append_ratio, APPEND_RATIO_MAX),
        ]
    )
    for size, limit in RESUME_TARGETS_MS.items():
        load = r.load_journal.get(size)
        rows.append(
            [
                f"resume load (snapshot + journal replay), {size:,} msgs ≤ {limit:g} ms",
                fmt_ms(load),
                verdict(load, limit),
            ]
        )
        whole = r.resume.get(size)
        rows.append(
            [
                f"`manager.resume` as a whole, {size:,} msgs ≤ {limit:g} ms",
                fmt_ms(whole),
                verdict(whole, limit),
            ]
        )
    out += table(["target", "measured", "result"], rows)
    out += [""]

    out += ["## Save and load (sessions-core issue)", ""]
    rows = [
        ["snapshot file size", *[fmt_bytes(r.snapshot_bytes.get(s)) for s in sizes]],
        ["`storage.save` (atomic, fsync, backup link)", *cells(r.save_orjson)],
        ["… of which encoding (`to_dict` + `dumps_json`)", *cells(r.encode_orjson)],
        ["… of which `session.to_dict()` alone", *cells(r.to_dict)],
        ["stdlib baseline: encoding (`to_dict` + `json.dumps`)", *cells(r.encode_stdlib)],
        ["`storage.load`, compacted (no journal)", *cells(r.load_compacted)],
        ["`storage.load`, last 10% pending in the journal", *cells(r.load_journal)],
    ]
    out += table(["operation", *[size_label(s) for s in sizes]], rows)
    out += [""]

    counts = SESSION_COUNTS_FULL
    few, many = counts[0], counts[-1]

    def count_cells(values: dict[int, float]) -> list[str]:
        return [fmt_ms(values.get(c)) for c in counts]

    def count_ratio(values: dict[int, float]) -> str:
        if few in values and many in values:
            return fmt_ratio(values[many] / values[few])
        return "-"

    out += ["## Listing", ""]
    rows = [
        ["index.json size", *[fmt_bytes(r.index_bytes.get(c)) for c in counts], ""],
        [
            "fresh `SessionIndex(storage).list(limit=20)` (read, reconcile, top 20)",
            *count_cells(r.list_limit),
            count_ratio(r.list_limit),
        ],
        [
            "fresh `SessionIndex(storage).list()` (all, sorted)",
            *count_cells(r.list_all),
            count_ratio(r.list_all),
        ],
        [
            "`manager.list_sessions(limit=20)`",
            *count_cells(r.manager_list),
            count_ratio(r.manager_list),
        ],
        [
            "… of which reading + parsing index.json",
            *count_cells(r.index_parse),
            count_ratio(r.index_parse),
        ],
        [
            "… of which scanning the folder (reconcile)",
            *count_cells(r.folder_scan),
            count_ratio(r.folder_scan),
        ],
    ]
    out += table(["operation", *[f"{c:,} sessions" for c in counts], f"{many:,} / {few:,}"], rows)
    out += [
        "",
        f"The ≤ {LIST_RATIO_CLI_TARGET:g}x listing target applies to the whole-process CLI "
        "figure (`benchmarks/bench_cli.py`), where start-up dominates; at library level the "
        "cost is the index itself and grows with the number of sessions.",
        "",
    ]

    out += [f"## Index writes ({r.index_entries:,} entries)", ""]
    rows = [
        [
            "`json.dumps(indent=2)` + atomic write (fsync)",
            fmt_ms(r.index_write_stdlib),
            fmt_ms(r.index_encode_stdlib),
        ],
        [
            "orjson (`dumps_json` + `atomic_write`, as `SessionIndex` writes)",
            fmt_ms(r.index_write_orjson),
            fmt_ms(r.index_encode_orjson),
        ],
        [
            "speed-up (stdlib ÷ orjson)",
            fmt_ratio(r.index_write_stdlib / r.index_write_orjson),
            fmt_ratio(r.index_encode_stdlib / r.index_encode_orjson),
        ],
        [
            "… of which building the document (`SessionSummary.to_dict` per entry)",
            fmt_ms(r.index_document),
            fmt_ms(r.index_document),
        ],
        [
            "`save_if_dirty()` after one `add` (re-read under lock, merge, write)",
            fmt_ms(r.index_rmw_save),
            "",
        ],
        ["fresh `SessionIndex` + `add` + `save_if_dirty()`", fmt_ms(r.index_rmw_whole), ""],
    ]
    out += table(["operation", "write", "encode only"], rows)
    out += [""]
    return "\n".join(out)


# -- main --------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> str:
    quick: bool = args.quick
    runs = args.runs or (DEFAULT_RUNS_QUICK if quick else DEFAULT_RUNS_FULL)
    sizes = MESSAGE_SIZES_QUICK if quick else MESSAGE_SIZES_FULL
    counts = SESSION_COUNTS_QUICK if quick else SESSION_COUNTS_FULL
    results = Results(
        runs=runs, sizes=sizes, counts=counts, appends=APPENDS_QUICK if quick else APPENDS_FULL
    )

    DATA_PARENT.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="bench-sessions-", dir=DATA_PARENT))
    saved_env = {
        name: os.environ.get(name) for name in ("OPENCODE_DATA_DIR", "OPENCODE_CONFIG_DIR")
    }
    os.environ["OPENCODE_DATA_DIR"] = str(root / "data")
    os.environ["OPENCODE_CONFIG_DIR"] = str(root / "config")  # no user hooks in the timings
    started = time.perf_counter()
    try:
        bench = Bench(root, results, Corpus())
        for size in sizes:
            progress(f"save / load, {size:,} messages")
            bench.save(size)
            progress(f"load / resume with a pending journal, {size:,} messages")
            bench.load_and_resume(size)
            progress(f"add_message, {size:,} messages")
            bench.add_message(size)
        storage = None
        for count in counts:
            progress(f"listing, {count:,} sessions (building the folder)")
            storage = bench.listing(count)
        progress("index writes")
        bench.index_writes(storage)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        with contextlib.suppress(OSError):
            DATA_PARENT.rmdir()  # only when empty: another run may be using it
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return render(results, quick=quick, data_root=root, elapsed=time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer runs, no 10,000-message or 10,000-session cases (< 30 s)",
    )
    parser.add_argument("--runs", type=int, help="timed runs per figure (default 9, quick 3)")
    parser.add_argument("--out", type=Path, help="also write the markdown report to this file")
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    report = run(args)
    print(report)
    if args.out is not None:
        args.out.write_text(report + "\n", encoding="utf-8")
        progress(f"report written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
