"""The session index at 100,000 sessions: listing, completion, search, writes and rebuild.

Run by hand (never part of the test suite), from the repository root::

    python benchmarks/bench_index.py                 # full run (builds the stores the first time)
    python benchmarks/bench_index.py --quick         # smoke run on small stores (a minute or two)
    python benchmarks/bench_index.py --rebuild       # build the stores afresh
    python benchmarks/bench_index.py --profile list  # where the time of one figure goes

It builds two stores under ``benchmarks/.data/`` (git-ignored) the first time: 100,000 and
1,000 realistic sessions (titles, tags, 50 projects, models, token usage, a year of
timestamps, a few to a few dozen user/assistant/tool messages each, about 500 MB of text at
100,000 drawn from a Zipf-like vocabulary), written directly as session files in the spec's
format. Later runs reuse them. Every run indexes them from scratch with
``SessionIndex(storage).rebuild()`` (timed, counting the files it opens), times whole
``opencode`` processes against ``python -c pass`` in the same run, and times the index's
share of library calls. Progress goes to stderr, a Markdown report to stdout (and ``--out``).

Whole processes are started from a small launcher process (``posix_spawn`` and ``os.wait4``:
wall clock, CPU time and peak resident memory of each run); the cases take turns so that
background load affects them alike. Byte-code
caching is switched on for them (into ``benchmarks/.data/pycache``), as an installed opencode
has its ``.pyc`` files. Nothing here touches your own sessions or hooks: every process gets
``OPENCODE_DATA_DIR`` and an empty ``OPENCODE_CONFIG_DIR`` under ``benchmarks/.data/``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import itertools
import json
import math
import multiprocessing
import os
import platform
import pstats
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

import orjson

HERE: Final = Path(__file__).resolve().parent
DATA: Final = HERE / ".data"
GENERATOR_VERSION: Final = 2  # bump when the generated data changes: stores are rebuilt
SEED: Final = 20250101

# Store sizes: the big one carries the targets; the small one is the listing's yardstick.
FULL_COUNTS: Final = (100_000, 1_000)
QUICK_COUNTS: Final = (2_000, 200)
TEXT_CHARS_PER_SESSION: Final = 5_000  # ~500 MB of message text at 100,000 sessions
BUILD_CHUNK: Final = 1_000

RARE_WORD: Final = "quokkafjord"  # planted in RARE_SESSIONS sessions, in no other text
RARE_SESSIONS: Final = 5
COMMON_WORD: Final = "error"
COMMONEST_WORD: Final = "the"
TITLE_WORD: Final = "parser"  # in about 1 title in 40


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does: the full run or the smoke run."""

    counts: tuple[int, int]
    runs: int
    library_runs: int
    appends: int
    long_session: int  # messages of the session add_message is timed at (the "10,000")
    resume_messages: int
    resume_runs: int
    writers: int
    upserts_per_writer: int
    tool_results: int
    tool_result_bytes: int
    bank_words: int


FULL: Final = Sizes(
    counts=FULL_COUNTS,
    runs=15,
    library_runs=21,
    appends=200,
    long_session=10_000,
    resume_messages=100_000,
    resume_runs=5,
    writers=8,
    upserts_per_writer=250,
    tool_results=200,
    tool_result_bytes=100 * 1024,
    bank_words=3_000_000,
)
QUICK: Final = Sizes(
    counts=QUICK_COUNTS,
    runs=3,
    library_runs=5,
    appends=30,
    long_session=1_000,
    resume_messages=5_000,
    resume_runs=3,
    writers=8,
    upserts_per_writer=25,
    tool_results=40,
    tool_result_bytes=100 * 1024,
    bank_words=600_000,
)

# Targets (ms unless said otherwise); they apply to the full run.
TARGET_LIST_MS: Final = 120.0
TARGET_LIST_RATIO: Final = 1.3
TARGET_LIST_RSS_MB: Final = 60.0
TARGET_NEW_MS: Final = 150.0
TARGET_INDEX_SHARE_MS: Final = 5.0
TARGET_COMPLETE_MS: Final = 50.0
TARGET_LIST_SEARCH_MS: Final = 150.0
TARGET_SEARCH_RARE_MS: Final = 50.0
TARGET_SEARCH_COMMON_MS: Final = 300.0
TARGET_REBUILD_S: Final = 15.0
TARGET_WRITE_AMPLIFICATION: Final = 3.0
TARGET_RESUME_MS: Final = 600.0
TARGET_BUILD_S: Final = 120.0


def progress(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


@dataclass
class Samples:
    """Wall-clock and CPU milliseconds of repeated runs of one thing."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall_ms: float, cpu_ms: float) -> None:
        self.wall.append(wall_ms)
        self.cpu.append(cpu_ms)

    def extend(self, other: Samples) -> None:
        self.wall += other.wall
        self.cpu += other.cpu

    @property
    def wall_ms(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpu)


class Stopwatch:
    """Wall-clock and CPU time (this process, every thread) of a ``with`` block."""

    wall_ms = cpu_ms = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_ms = (time.perf_counter() - self._wall) * 1000.0
        self.cpu_ms = (time.process_time() - self._cpu) * 1000.0


# -- vocabulary and text -----------------------------------------------------------------------

# The head of the vocabulary, most frequent first: English function words and the words
# coding conversations repeat. The tail is generated (pseudo-words, identifiers, paths).
_HEAD_WORDS: Final = """
the to a of and in is it that for this you with on be not i function error file we can if
return as are or an from at by value so use will should test code line have but which do
when type it's there then all one error this need name data new here now more let also add
call list string method class module path run first case like just check make object get
set some only fix what way because two result time into instead any them other where
import output input each same these used than so default config change issue problem
update version see was make sure example following would could does test tests works
user server client request response api key null none true false self args kwargs int str
dict json http url query index table column row database session token model message
async await promise callback handler event loop thread process lock queue cache memory
log debug warning exception traceback stack frame build install package dependency
command option flag argument parameter variable constant field property attribute
interface struct enum trait generic template pattern regex parse parser format encode
decode read write open close delete create remove insert select join group order sort
filter map reduce iterate range length size count number float bool array vector slice
pointer reference copy clone move borrow lifetime scope closure lambda decorator wrapper
context manager iterator generator yield raise catch try except finally assert expect
mock fixture setup teardown coverage lint format style rule warning deprecated legacy
refactor rename extract inline split merge branch commit push pull rebase diff patch
review approve deploy release tag docker container image volume network port host
service endpoint route middleware auth login password hash secret permission role
schema migration transaction commit rollback constraint foreign primary unique
frontend backend component render state props hook effect store reducer action
performance slow fast latency throughput benchmark profile optimize memory leak
""".split()  # noqa: SIM905 (prose reads better than a list literal)

_SYLLABLES: Final = (  # noqa: SIM905
    "ka ri to mo na se lu vi de po ra ze fi no ta be mi ko su ne ga lo pi re du sa ti "
    "an el or un ex in con pro per com dis ter ver ment tion ing al er ic ous ive ly"
).split()
_EXTENSIONS: Final = ("py", "ts", "rs", "go", "js", "md", "toml", "json", "yaml", "sql")

VOCABULARY_SIZE: Final = 60_000
ZIPF_EXPONENT: Final = 1.07
ZIPF_OFFSET: Final = 2.7  # Zipf-Mandelbrot: flattens the very top like real text
LOOKUP_SLOTS: Final = 1 << 22
# Punctuation drawn like words, then glued to the word before it.
_PUNCTUATION: Final = (
    (".", 0.05),
    (",", 0.045),
    ("\n", 0.015),
    ("\n\n", 0.006),
    (":", 0.006),
)


def _pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def _tail_word(rng: random.Random, words: Sequence[str]) -> str:
    roll = rng.random()
    if roll < 0.55:
        return _pseudo_word(rng)
    if roll < 0.75:
        return f"{rng.choice(words)}_{_pseudo_word(rng)}"
    if roll < 0.85:
        return _pseudo_word(rng).capitalize() + _pseudo_word(rng).capitalize()
    if roll < 0.95:
        parts = [_pseudo_word(rng) for _ in range(rng.randint(1, 3))]
        return f"src/{'/'.join(parts)}.{rng.choice(_EXTENSIONS)}"
    return str(rng.randrange(0, 100_000))


def build_vocabulary(rng: random.Random) -> list[str]:
    """60,000 distinct words, most frequent first."""
    words = list(dict.fromkeys(_HEAD_WORDS))
    seen = set(words)
    while len(words) < VOCABULARY_SIZE:
        word = _tail_word(rng, words[:400])
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def zipf_lookup(words: Sequence[str]) -> list[str]:
    """A list in which each word appears in proportion to its Zipf weight (at least once),
    so that a uniform pick from it is a Zipf-distributed word (far faster than weights)."""
    weights = [1.0 / (rank + ZIPF_OFFSET) ** ZIPF_EXPONENT for rank in range(1, len(words) + 1)]
    punctuation_share = sum(share for _, share in _PUNCTUATION)
    scale = LOOKUP_SLOTS * (1.0 - punctuation_share) / sum(weights)
    lookup: list[str] = []
    for word, weight in zip(words, weights, strict=True):
        lookup.extend([word] * max(1, round(weight * scale)))
    for mark, share in _PUNCTUATION:
        lookup.extend([mark] * round(share * LOOKUP_SLOTS))
    return lookup


def build_bank(rng: random.Random, lookup: Sequence[str], words: int) -> str:
    """One long text of Zipf-distributed words; messages are slices of it."""
    text = " ".join(rng.choices(lookup, k=words))
    for mark in (".", ",", ":"):
        text = text.replace(f" {mark}", mark)
    return text.replace(" \n\n ", "\n\n").replace(" \n ", "\n")


def fts_tokens(text: str) -> set[str]:
    """Roughly what FTS5's unicode61 tokenizer makes of ``text`` (lower case, alphanumeric)."""
    out = []
    for ch in text.lower():
        out.append(ch if ch.isalnum() else " ")
    return set("".join(out).split())


# -- sessions ----------------------------------------------------------------------------------

_VERBS: Final = (
    "Fix", "Refactor", "Add", "Debug", "Implement", "Investigate", "Update", "Remove",
    "Optimize", "Write tests for", "Migrate", "Document", "Review", "Speed up", "Clean up",
    "Explain", "Port", "Design",
)  # fmt: skip
_SUBJECTS: Final = (
    "parser", "auth middleware", "API client", "session store", "cache layer", "CLI flags",
    "database schema", "login flow", "CI pipeline", "logging", "config loader", "search index",
    "rate limiter", "payment webhook", "file watcher", "build script", "docker image",
    "error handling", "retry logic", "unit tests", "type hints", "memory leak", "race condition",
    "date parsing", "CSV export", "GraphQL resolver", "websocket server", "React component",
    "SQL query", "migration script", "background jobs", "feature flags", "metrics dashboard",
    "TLS setup", "dependency upgrade", "monorepo layout", "plugin system", "markdown renderer",
    "completion script", "test fixtures",
)  # fmt: skip
_QUALIFIERS: Final = (
    "", "", "", "", " for v2", " (again)", " on Windows", " after the upgrade",
    " in production", " before release", " in {project}",
)  # fmt: skip
_PROJECTS: Final = (
    "api-gateway", "billing", "webapp", "infra", "dotfiles", "opencode", "ml-pipeline",
    "docs-site", "mobile-app", "auth-service", "data-warehouse", "cli-tools", "blog",
    "payments", "search", "notifications", "admin-panel", "etl-jobs", "game-engine",
    "compiler", "website", "analytics", "scheduler", "chat-server", "image-resizer",
    "k8s-config", "terraform", "homelab", "scraper", "recommender", "crm", "inventory",
    "ledger", "video-transcoder", "pdf-tools", "design-system", "storybook", "sdk-python",
    "sdk-js", "rust-playground", "go-microservice", "legacy-monolith", "research-notes",
    "thesis", "advent-of-code", "leetcode", "interview-prep", "side-project", "shop",
    "weather-bot",
)  # fmt: skip
_TAGS: Final = (
    "bug", "feature", "refactor", "tests", "docs", "perf", "security", "ci", "api",
    "frontend", "backend", "db", "infra", "research", "urgent", "python", "rust", "go",
    "typescript", "review",
)  # fmt: skip
_MODELS: Final = (
    ("anthropic/claude-sonnet-4", 30), ("anthropic/claude-3-opus", 5), ("openai/gpt-4o", 20),
    ("openai/gpt-4o-mini", 15), ("openai/o3-mini", 5), ("qwen2.5-coder:7b", 10),
    ("deepseek-coder-v2", 5), (None, 3),
)  # fmt: skip
_MODEL_NAMES: Final = [m for m, _ in _MODELS]
_MODEL_CUM: Final = list(itertools.accumulate(w for _, w in _MODELS))
_TOOLS: Final = (
    "read_file", "write_file", "run_shell", "search_code", "list_dir", "apply_patch", "web_fetch",
)  # fmt: skip
# Message lengths (characters): log-normal per role, before calibration to the text target.
_LENGTHS: Final = {
    "user": (math.log(160), 0.9, 8, 6_000),
    "assistant": (math.log(700), 0.8, 20, 12_000),
    "call": (math.log(60), 1.0, 0, 400),  # an assistant message that calls tools
    "tool": (math.log(1_500), 1.1, 20, 60_000),
}
YEAR_SECONDS: Final = 365 * 24 * 3600

# One planned message: role, length, tool calls (for a "call").
Planned = tuple[str, int, int]


def plan_conversation(rng: random.Random, messages: int | None = None) -> list[Planned]:
    """Roles and lengths of a conversation: user turns, answers, tool rounds.

    ``messages`` fixes the length (a long session); otherwise it is a few to a few dozen.
    """
    turns = max(1, min(20, round(rng.lognormvariate(math.log(3.0), 0.7))))
    plan: list[Planned] = []
    turn = 0
    while (turn < turns) if messages is None else (len(plan) < messages):
        turn += 1
        plan.append(("user", _length(rng, "user"), 0))
        rounds = 0
        while rng.random() < (0.45 if rounds == 0 else 0.3) and rounds < 4:
            rounds += 1
            calls = rng.choice((1, 1, 1, 2, 2, 3))
            plan.append(("call", _length(rng, "call"), calls))
            plan.extend(("tool", _length(rng, "tool"), 0) for _ in range(calls))
        plan.append(("assistant", _length(rng, "assistant"), 0))
    return plan if messages is None else plan[:messages]


def _length(rng: random.Random, kind: str) -> int:
    mu, sigma, low, high = _LENGTHS[kind]
    return max(low, min(high, int(rng.lognormvariate(mu, sigma))))


@dataclass
class Corpus:
    """The text every generated message is cut from, and the scale that makes sessions
    average ``TEXT_CHARS_PER_SESSION`` characters of message text."""

    bank: str
    scale: float
    vocabulary_size: int

    @classmethod
    def create(cls, words: int, seed: int = SEED) -> Corpus:
        rng = random.Random(seed)
        vocabulary = build_vocabulary(rng)
        bank = build_bank(rng, zipf_lookup(vocabulary), words)
        if RARE_WORD in fts_tokens(" ".join(vocabulary)):
            raise RuntimeError(f"{RARE_WORD!r} is in the vocabulary; pick another rare word")
        sample = random.Random(seed + 1)
        planned = [sum(n for _, n, _ in plan_conversation(sample)) for _ in range(2_000)]
        corpus = cls(bank, TEXT_CHARS_PER_SESSION / statistics.fmean(planned), len(vocabulary))
        # Cutting at word ends and clipping shortens texts: measure and correct once.
        factory = SessionFactory(corpus, 1, seed=seed + 2)
        made = [factory.make(n).text_chars for n in range(500)]
        corpus.scale *= TEXT_CHARS_PER_SESSION / statistics.fmean(made)
        return corpus

    def text(self, rng: random.Random, length: int) -> str:
        """``length`` characters (about) of the bank, from a word boundary to a word end."""
        if length <= 0:
            return ""
        bank = self.bank
        length = min(length, len(bank) // 2)
        start = bank.find(" ", rng.randrange(0, len(bank) - length - 1)) + 1
        end = bank.rfind(" ", start, start + length)
        return bank[start : end if end > start else start + length]


@dataclass
class Generated:
    """One session file's bytes and what it holds."""

    session_id: str
    data: bytes
    messages: int
    text_chars: int


class SessionFactory:
    """Realistic sessions in the spec's file format, deterministic per (seed, number)."""

    def __init__(self, corpus: Corpus, count: int, seed: int = SEED) -> None:
        self.corpus = corpus
        self.seed = seed
        self.now = time.time()
        step = max(1, count // RARE_SESSIONS)
        self.rare = {step * k + step // 2 for k in range(RARE_SESSIONS)}

    def make(self, number: int, messages: int | None = None) -> Generated:
        rng = random.Random(self.seed * 10_000_019 + number)
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        project = _PROJECTS[min(len(_PROJECTS) - 1, int(rng.paretovariate(1.2)) - 1)]
        folder = f"/home/dev/src/{project}"
        if rng.random() < 0.2:
            folder += rng.choice(("/backend", "/frontend", "/docs", "/scripts", "/tests"))
        created = self.now - rng.random() * YEAR_SECONDS
        body, at, prompt, completion, chars = self._messages(rng, created, messages, number)
        metadata: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.02:
            metadata["archived_at"] = _iso(at + 60)
        elif roll < 0.022:
            metadata["pinned"] = True
        document = {
            "version": 1,
            "id": sid,
            "title": self._title(rng, project),
            "created_at": _iso(created),
            "updated_at": _iso(at),
            "working_dir": folder,
            "model": rng.choices(_MODEL_NAMES, cum_weights=_MODEL_CUM)[0],
            "messages": body,
            "tool_history": [],
            "total_prompt_tokens": prompt,
            "total_completion_tokens": completion,
            "tags": rng.sample(_TAGS, rng.choice((0, 0, 1, 1, 1, 2, 2, 3))),
            "metadata": metadata,
            "journal_seq": 0,
        }
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
        return Generated(sid, data, len(body), chars)

    def _title(self, rng: random.Random, project: str) -> str:
        if rng.random() < 0.03:
            return ""
        qualifier = rng.choice(_QUALIFIERS).replace("{project}", project)
        return f"{rng.choice(_VERBS)} {rng.choice(_SUBJECTS)}{qualifier}"

    def _messages(
        self, rng: random.Random, created: float, count: int | None, number: int
    ) -> tuple[list[dict[str, Any]], float, int, int, int]:
        corpus = self.corpus
        scale = corpus.scale
        at = created
        body: list[dict[str, Any]] = []
        context = prompt = completion = chars = 0
        pending: list[tuple[str, str]] = []
        for role, length, calls in plan_conversation(rng, count):
            at += rng.uniform(20, 1_800) if role == "user" else rng.uniform(1, 60)
            text = corpus.text(rng, int(length * scale))
            if role == "user" and number in self.rare and not body:
                text = f"{text} {RARE_WORD}"
            message: dict[str, Any] = {"id": f"msg_{rng.getrandbits(96):024x}"}
            if role == "call":
                pending = [(f"call_{rng.getrandbits(64):016x}", rng.choice(_TOOLS))]
                pending += [
                    (f"call_{rng.getrandbits(64):016x}", rng.choice(_TOOLS))
                    for _ in range(calls - 1)
                ]
                message.update(role="assistant", content=text)
                message["tool_calls"] = [_tool_call(rng, cid, name) for cid, name in pending]
            elif role == "tool":
                cid, name = pending.pop(0) if pending else ("call_orphan", "run_shell")
                message.update(role="tool", content=text, tool_call_id=cid, name=name)
            else:
                message.update(role=role, content=text)
            message["timestamp"] = _iso(at)
            body.append(message)
            chars += len(text)
            context += len(text)
            if role in ("assistant", "call"):
                prompt += context // 4
                completion += len(text) // 4
        return body, at, prompt, completion, chars


def _tool_call(rng: random.Random, call_id: str, name: str) -> dict[str, Any]:
    path = f"src/{rng.choice(_PROJECTS)}/{rng.choice(_SUBJECTS).split()[0].lower()}.py"
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": orjson.dumps({"path": path}).decode()},
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


def write_file(path: Path, data: bytes) -> None:
    """Test data: written once, no fsync, private like opencode's own files."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


# -- building a store --------------------------------------------------------------------------


@dataclass
class BuildStats:
    count: int
    seconds: float
    cpu_seconds: float  # of every process that wrote it, the text bank's generation included
    messages: int
    text_chars: int
    file_bytes: int
    jobs: int
    rare_sessions: list[str] = field(default_factory=list)
    generator: int = GENERATOR_VERSION
    seed: int = SEED
    built_at: str = ""


_worker_factory: SessionFactory | None = None
_worker_dir: Path | None = None


def _build_chunk(bounds: tuple[int, int]) -> tuple[int, int, int, list[str], float]:
    """Write sessions ``bounds[0]`` to ``bounds[1] - 1`` (in a worker process)."""
    assert _worker_factory is not None and _worker_dir is not None
    cpu = time.process_time()
    messages = chars = size = 0
    rare = []
    for number in range(*bounds):
        made = _worker_factory.make(number)
        write_file(_worker_dir / f"{made.session_id}.json", made.data)
        messages += made.messages
        chars += made.text_chars
        size += len(made.data)
        if number in _worker_factory.rare:
            rare.append(made.session_id)
    return messages, chars, size, rare, time.process_time() - cpu


def build_store(root: Path, count: int, corpus: Corpus, jobs: int) -> BuildStats:
    """A data folder with ``count`` session files (no index) and its manifest."""
    global _worker_factory, _worker_dir
    if root.exists():
        shutil.rmtree(root)
    sessions = root / "sessions"
    sessions.mkdir(parents=True, mode=0o700)
    os.chmod(root, 0o700)
    _worker_factory = SessionFactory(corpus, count)
    _worker_dir = sessions
    chunks = [(s, min(s + BUILD_CHUNK, count)) for s in range(0, count, BUILD_CHUNK)]
    started, cpu = time.perf_counter(), time.process_time()
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.map(_build_chunk, chunks, chunksize=1)
    else:
        results = [_build_chunk(chunk) for chunk in chunks]
    seconds = time.perf_counter() - started
    workers = sum(r[4] for r in results) if jobs > 1 else 0.0
    stats = BuildStats(
        count=count,
        seconds=seconds,
        cpu_seconds=time.process_time() - cpu + workers,
        messages=sum(r[0] for r in results),
        text_chars=sum(r[1] for r in results),
        file_bytes=sum(r[2] for r in results),
        jobs=jobs,
        rare_sessions=sorted(sid for r in results for sid in r[3]),
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    (root / "manifest.json").write_text(json.dumps(asdict(stats), indent=2) + "\n")
    return stats


def store_root(count: int) -> Path:
    return DATA / f"index-{count}"


def load_manifest(root: Path, count: int) -> BuildStats | None:
    try:
        raw = json.loads((root / "manifest.json").read_text())
        stats = BuildStats(**raw)
    except (OSError, ValueError, TypeError):
        return None
    if stats.count != count or stats.generator != GENERATOR_VERSION or stats.seed != SEED:
        return None
    return stats


# -- rebuilding the index, counting the files it opens ----------------------------------------


class OpenCounter:
    """Counts every ``open`` of a session file (an audit hook sees each ``os.open``).

    The rebuild reads files in forked worker processes, which inherit the hook: each
    process appends the names it opens to one shared log (``O_APPEND``, a line per write),
    which is counted when the block ends.
    """

    def __init__(self) -> None:
        self.log_fd: int | None = None
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.log_fd is not None and event == "open" and args and args[0] is not None:
            with contextlib.suppress(TypeError):
                name = os.fspath(args[0])
                if isinstance(name, str) and name.endswith((".json", ".jsonl")):
                    os.write(self.log_fd, name.encode() + b"\n")

    @contextlib.contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        opens: Counter[str] = Counter()
        with tempfile.TemporaryDirectory() as folder:
            log = Path(folder) / "opens.log"
            self.log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                yield opens
            finally:
                os.close(self.log_fd)
                self.log_fd = None
                opens.update(log.read_text().splitlines())


@dataclass
class RebuildStats:
    times: Samples
    indexed: int
    session_files: int  # in the store when it was rebuilt (`session new` runs add some)
    snapshot_files_opened: int
    most_opens_of_one_file: int
    journal_open_attempts: int
    db_bytes: int


def rebuild_index(root: Path, counter: OpenCounter) -> RebuildStats:
    """Delete the index and rebuild it from the session files, counting file opens."""
    from opencode.sessions import SessionIndex, SessionStorage, indexdb

    storage = SessionStorage(root / "sessions")
    indexdb.remove_index_files(indexdb.index_path(storage.storage_dir))
    index = SessionIndex(storage)
    with counter.counting() as opens, Stopwatch() as watch:
        indexed = index.rebuild()
    index.close()
    snapshots = {p: n for p, n in opens.items() if p.endswith(".json")}
    db = indexdb.index_path(storage.storage_dir)
    with os.scandir(storage.storage_dir) as entries:
        files = sum(1 for e in entries if e.name.endswith(".json") and e.is_file())
    return RebuildStats(
        times=Samples([watch.wall_ms], [watch.cpu_ms]),
        indexed=indexed,
        session_files=files,
        snapshot_files_opened=len(snapshots),
        most_opens_of_one_file=max(snapshots.values(), default=0),
        journal_open_attempts=sum(n for p, n in opens.items() if p.endswith(".jsonl")),
        db_bytes=sum(
            Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists()
        ),
    )


# -- whole processes ---------------------------------------------------------------------------

# Runs each command for the benchmark and reports wall time, CPU time and peak memory. It is
# a small process of its own: a child's peak resident memory counts the memory of the
# process that spawned it, which for this script (the text bank) would hide the child's own.
_LAUNCHER: Final = r"""
import json, os, sys, time
for line in sys.stdin:
    argv, env, cwd, out, err = json.loads(line)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    os.chdir(cwd)
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps([elapsed, code, usage.ru_maxrss, cpu]), flush=True)
"""


@dataclass
class ProcessCase:
    key: str
    label: str
    command: list[str]
    env: dict[str, str]
    cwd: Path


@dataclass
class ProcessFigure:
    times: Samples = field(default_factory=Samples)
    max_rss_kb: list[int] = field(default_factory=list)

    @property
    def rss_mb(self) -> float:
        return statistics.median(self.max_rss_kb) / 1024.0


class Launcher:
    """Starts commands from the small launcher process and collects what it measured."""

    def __init__(self, scratch: Path) -> None:
        scratch.mkdir(parents=True, exist_ok=True)
        self.out = scratch / "launcher.out"
        self.err = scratch / "launcher.err"
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _LAUNCHER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, case: ProcessCase) -> tuple[float, float, int, bytes]:
        """Wall ms, CPU ms, peak resident memory (KiB) and stdout of one run of ``case``."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = [case.command, case.env, str(case.cwd), str(self.out), str(self.err)]
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        elapsed, code, rss, cpu = json.loads(self.proc.stdout.readline())
        if code != 0:
            raise SystemExit(f"{case.label} failed ({code}): {self.err.read_text()}")
        return elapsed * 1000.0, cpu * 1000.0, rss, self.out.read_bytes()

    def peak_kb(self) -> int:
        """The launcher's own peak memory: no child can be measured below it."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def time_processes(
    launcher: Launcher, cases: Sequence[ProcessCase], runs: int
) -> dict[str, ProcessFigure]:
    """Medians per case; the cases take turns, after two untimed runs each (page cache,
    byte-code cache, the index's first look at the folder)."""
    for case in cases:
        for _ in range(2):
            launcher.run(case)
    figures = {case.key: ProcessFigure() for case in cases}
    for run in range(runs):
        progress(f"  round {run + 1}/{runs}")
        for case in cases:
            wall, cpu, rss, _ = launcher.run(case)
            figures[case.key].times.add(wall, cpu)
            figures[case.key].max_rss_kb.append(rss)
    return figures


def opencode_executable() -> str:
    found = shutil.which("opencode", path=str(Path(sys.executable).parent)) or shutil.which(
        "opencode"
    )
    if found is None:
        raise SystemExit("the opencode command is not installed in this environment")
    return str(Path(found).absolute())


def base_environment(config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_OPENCODE", "COMP_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(DATA / "pycache")
    env["OPENCODE_CONFIG_DIR"] = str(config_dir)  # no user hooks in the timings
    return env


# -- library figures ---------------------------------------------------------------------------


def instrument(target: Any, names: Sequence[str], sink: dict[str, Samples]) -> None:
    """Time calls of ``target.<name>`` (an instance attribute shadows the method)."""
    for name in names:
        original = getattr(target, name)

        def timed(*args: Any, original_: Any = original, name_: str = name, **kw: Any) -> Any:
            with Stopwatch() as watch:
                result = original_(*args, **kw)
            sink.setdefault(name_, Samples()).add(watch.wall_ms, watch.cpu_ms)
            return result

        setattr(target, name, timed)


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass
class IndexShare:
    """The index's part of create / first message / close, with the whole call for scale."""

    calls: dict[str, Samples]  # add, record_message, update
    whole: dict[str, Samples]  # create, first message, close
    first_call: Samples  # the first index call of a fresh manager: opens the database


def measure_index_share(storage_dir: Path, corpus: Corpus, runs: int) -> IndexShare:
    from opencode.sessions import SessionManager, SessionStorage

    manager = SessionManager(SessionStorage(storage_dir), auto_save_interval=0)
    calls: dict[str, Samples] = {}
    instrument(manager.index, ("add", "record_message", "update"), calls)
    rng = random.Random(SEED + 7)
    share = IndexShare({}, {}, Samples())
    created = []
    for run in range(runs + 1):
        calls.clear()
        with Stopwatch() as create:
            session = manager.create(title=f"bench {run}", working_dir="/home/dev/src/billing")
        with Stopwatch() as first:
            manager.add_message("user", corpus.text(rng, 300))
        with Stopwatch() as close:
            manager.close()
        created.append(session.id)
        if run == 0:
            share.first_call = calls["add"]
            continue
        for name, samples in calls.items():
            share.calls.setdefault(name, Samples()).extend(samples)
        for name, watch in (
            ("create", create),
            ("first message", first),
            ("close", close),
        ):
            share.whole.setdefault(name, Samples()).add(watch.wall_ms, watch.cpu_ms)
    for sid in created:
        manager.delete(sid)
    manager.index.close()
    return share


@dataclass
class AppendFigure:
    messages: int
    total: Samples
    index: Samples


def measure_add_message(
    storage_dir: Path,
    corpus: Corpus,
    factory: SessionFactory,
    messages: int,
    appends: int,
) -> AppendFigure:
    """``manager.add_message`` (durable append + the index row update) in a session of
    ``messages`` messages that lives in ``storage_dir``'s store."""
    from opencode.sessions import SessionManager, SessionStorage

    storage = SessionStorage(storage_dir)
    made = factory.make(10_000_000 + messages, messages=messages)
    write_file(storage.get_path(made.session_id), made.data)
    manager = SessionManager(storage, auto_save_interval=0)
    manager.index.add(storage.load(made.session_id))
    manager.resume(made.session_id)
    calls: dict[str, Samples] = {}
    instrument(manager.index, ("record_message",), calls)
    rng = random.Random(SEED + messages)
    warmup = 5
    texts = [
        (
            ("user", "assistant")[i % 2],
            corpus.text(rng, int(_length(rng, "assistant") * 0.6)),
        )
        for i in range(appends + warmup)
    ]
    total = Samples()
    for i, (role, text) in enumerate(texts):
        with Stopwatch() as watch:
            manager.add_message(role, text)
        if i >= warmup:
            total.add(watch.wall_ms, watch.cpu_ms)
    index = calls["record_message"]
    figure = AppendFigure(messages, total, Samples(index.wall[warmup:], index.cpu[warmup:]))
    manager.delete(made.session_id)
    manager.index.close()
    return figure


@dataclass
class ResumeFigure:
    messages: int
    snapshot_bytes: int
    resume: Samples
    load: Samples
    index_update: Samples
    index_add: Samples


def measure_resume(
    storage_dir: Path, factory: SessionFactory, messages: int, runs: int
) -> ResumeFigure:
    """``SessionManager.resume`` of a long session in the big store, each run in a fresh
    manager (so each opens the index, as a new ``opencode --resume`` process does)."""
    from opencode.sessions import SessionIndex, SessionManager, SessionStorage

    storage = SessionStorage(storage_dir)
    made = factory.make(20_000_000 + messages, messages=messages)
    write_file(storage.get_path(made.session_id), made.data)
    progress(f"  indexing the {messages:,}-message session (SessionIndex.add)")
    index = SessionIndex(storage)
    session = storage.load(made.session_id)
    index.folder_state()
    with Stopwatch() as add:
        index.add(session)
    index.close()
    del session
    figure = ResumeFigure(messages, len(made.data), Samples(), Samples(), Samples(), Samples())
    figure.index_add.add(add.wall_ms, add.cpu_ms)
    try:
        for run in range(runs + 1):
            manager = SessionManager(storage, auto_save_interval=0)
            calls: dict[str, Samples] = {}
            instrument(manager.index, ("update",), calls)
            with Stopwatch() as watch:
                resumed = manager.resume(made.session_id)
            if resumed.message_count != messages:
                raise RuntimeError(f"resume gave {resumed.message_count} messages, not {messages}")
            manager.close()
            manager.index.close()
            del resumed
            if run:  # the first run warms the page cache
                figure.resume.add(watch.wall_ms, watch.cpu_ms)
                figure.index_update.extend(
                    Samples(calls["update"].wall[:1], calls["update"].cpu[:1])
                )
                with Stopwatch() as load:
                    storage.load(made.session_id)
                figure.load.add(load.wall_ms, load.cpu_ms)
    finally:
        manager = SessionManager(storage, auto_save_interval=0)
        manager.delete(made.session_id)
        manager.index.close()
    return figure


@dataclass
class AmplificationFigure:
    appends: int
    append_bytes: int
    journal_bytes: int
    snapshot_bytes: int
    snapshots: int
    final_bytes: int
    process_write_bytes: int  # every write(2) of this process meanwhile (SQLite included)

    @property
    def ratio(self) -> float:
        return (self.journal_bytes + self.snapshot_bytes) / self.final_bytes


def _io_written() -> int:
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure_write_amplification(
    scratch: Path, corpus: Corpus, appends: int, size: int
) -> AmplificationFigure:
    """Bytes written for ``appends`` tool results of ``size`` bytes through a manager:
    every ``fsutil.write_all`` call (journal appends and snapshot temp files), by file."""
    from opencode import fsutil
    from opencode.sessions import SessionManager, SessionStorage

    storage = SessionStorage(scratch / "sessions")
    manager = SessionManager(storage, auto_save_interval=0)
    written: Counter[str] = Counter()
    snapshots = 0
    original = fsutil.write_all

    def counting_write_all(fd: int, data: bytes) -> None:
        nonlocal snapshots
        name = os.readlink(f"/proc/self/fd/{fd}")
        kind = "journal" if name.endswith(".jsonl") else "snapshot" if ".tmp" in name else "other"
        written[kind] += len(data)
        snapshots += kind == "snapshot"
        original(fd, data)

    rng = random.Random(SEED + 99)
    results = [corpus.text(rng, size) for _ in range(appends)]
    before = _io_written()
    fsutil.write_all = counting_write_all
    try:
        session = manager.create(title="tool results", working_dir="/home/dev/src/webapp")
        for n, text in enumerate(results):
            manager.add_message("tool", text, tool_call_id=f"call_{n:04d}", name="read_file")
        manager.close()
    finally:
        fsutil.write_all = original
    process_bytes = _io_written() - before
    manager.index.close()
    return AmplificationFigure(
        appends=appends,
        append_bytes=sum(len(t.encode()) for t in results),
        journal_bytes=written["journal"],
        snapshot_bytes=written["snapshot"],
        snapshots=snapshots,
        final_bytes=storage.get_path(session.id).stat().st_size,
        process_write_bytes=process_bytes,
    )


@dataclass
class WritersFigure:
    writers: int
    per_writer: int
    seconds: float
    expected_sessions: int
    sessions_found: int
    expected_texts: int
    texts_found: int
    errors: list[str]

    @property
    def lost(self) -> int:
        return self.expected_sessions - self.sessions_found


def _writer(folder: str, number: int, count: int, start: Any, results: Any) -> None:
    """One of the concurrent writers: ``count`` sessions, each added, appended to and
    retitled through ``SessionIndex``, as a manager does."""
    from opencode.sessions import Session, SessionIndex, SessionMessage, SessionStorage

    storage = SessionStorage(folder)
    index = SessionIndex(storage)
    errors = []
    start.wait()
    for n in range(count):
        try:
            session = Session(title=f"writer {number} session {n}", working_dir="/w")
            for role in ("user", "assistant", "user"):
                session.add_message(SessionMessage(role=role, content=f"{role} says hello {n}"))
            before = index.folder_state()
            write_file(storage.get_path(session.id), orjson.dumps(session.to_dict()))
            index.add(session, folder_before=before)
            message = session.add_message(SessionMessage(role="assistant", content="answer"))
            index.record_message(session, message)
            session.title += " (renamed)"
            index.update(session)
        except Exception as exc:  # counted: the figure is how many upserts survive
            errors.append(f"writer {number}: {type(exc).__name__}: {exc}")
    index.close()
    results.put(errors)


def measure_concurrent_writers(scratch: Path, writers: int, per_writer: int) -> WritersFigure:
    from opencode.sessions import SessionIndex, SessionStorage, indexdb

    storage = SessionStorage(scratch / "sessions")
    storage.ensure_dir()
    SessionIndex(storage).rebuild()  # an empty index, as a fresh store has
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    procs = [
        context.Process(
            target=_writer,
            args=(str(storage.storage_dir), n, per_writer, start, results),
        )
        for n in range(writers)
    ]
    for proc in procs:
        proc.start()
    time.sleep(2.0)  # let every writer import opencode before they all start at once
    started = time.perf_counter()
    start.set()
    errors = [e for _ in procs for e in results.get()]
    for proc in procs:
        proc.join()
    seconds = time.perf_counter() - started
    db = sqlite3.connect(indexdb.index_path(storage.storage_dir))
    sessions = db.execute("SELECT count(*) FROM sessions WHERE title LIKE '%(renamed)'")
    found = sessions.fetchone()[0]
    texts = db.execute("SELECT count(*) FROM message_text").fetchone()[0]
    db.close()
    expected = writers * per_writer
    return WritersFigure(writers, per_writer, seconds, expected, found, expected * 4, texts, errors)


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    target: str
    wall: str
    cpu: str
    ratio: str
    verdict: str


@dataclass
class Report:
    quick: bool
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    baseline: Samples = field(default_factory=Samples)

    def time_row(
        self,
        figure: str,
        times: Samples,
        target_ms: float | None,
        *,
        baseline: Samples | None = None,
    ) -> None:
        base = baseline or self.baseline
        wall, cpu = times.wall_ms, times.cpu_ms
        ratio = f"{wall / base.wall_ms:.1f}x / {cpu / base.cpu_ms:.1f}x"
        target = f"≤ {target_ms:g} ms" if target_ms is not None else ""
        verdict = self.verdict(wall, target_ms)
        if verdict == MISS and target_ms is not None and cpu <= target_ms:
            verdict += " (CPU within)"
        self.rows.append(Row(figure, target, fmt_ms(wall), fmt_ms(cpu), ratio, verdict))

    def value_row(self, figure: str, value: str, target: str, passed: bool | None) -> None:
        verdict = "" if passed is None else self.verdict(0.0 if passed else 1.0, 0.0)
        self.rows.append(Row(figure, target, value, "", "", verdict))

    def verdict(self, value: float, limit: float | None) -> str:
        if limit is None:
            return ""
        if self.quick:
            return "(quick)"
        return "PASS" if value <= limit else MISS


MISS: Final = "**MISS**"


def fmt_ms(ms: float) -> str:
    if ms >= 10_000:
        return f"{ms / 1000:.1f} s"
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"


@dataclass
class Results:
    reads: dict[str, ProcessFigure]
    news: dict[str, ProcessFigure]
    share: IndexShare
    appends: list[AppendFigure]
    writers: WritersFigure
    amplification: AmplificationFigure
    resume: ResumeFigure
    launcher_peak_kb: int
    load: tuple[tuple[float, float, float], tuple[float, float, float]]
    elapsed: float


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick: bool = args.quick
        sizes = QUICK if self.quick else FULL
        if args.runs:
            sizes = Sizes(**{**asdict(sizes), "runs": args.runs})
        self.sizes = sizes
        self.big, self.small = sizes.counts
        self.report = Report(self.quick)
        self.counter = OpenCounter()
        self.scratch = DATA / f"scratch-{os.getpid()}"
        self.config_dir = self.scratch / "config"
        self.project_dir = self.scratch / "project"
        self._corpus: Corpus | None = None
        self.builds: dict[int, BuildStats] = {}
        self.fresh_build: set[int] = set()
        self.rebuilds: dict[int, RebuildStats] = {}

    @property
    def corpus(self) -> Corpus:
        if self._corpus is None:
            progress("generating the vocabulary and text bank")
            started = time.perf_counter()
            self._corpus = Corpus.create(self.sizes.bank_words)
            progress(
                f"  {len(self._corpus.bank) / 1e6:.0f} MB bank in "
                f"{time.perf_counter() - started:.1f} s"
            )
        return self._corpus

    def sessions_dir(self, count: int) -> Path:
        return store_root(count) / "sessions"

    # stores ------------------------------------------------------------------------------

    def ensure_stores(self) -> None:
        for count in self.sizes.counts:
            root = store_root(count)
            stats = None if self.args.rebuild else load_manifest(root, count)
            if stats is None:
                progress(f"building the {count:,}-session store in {root}")
                started, cpu = time.perf_counter(), time.process_time()
                corpus = self.corpus
                bank_cpu = time.process_time() - cpu
                stats = build_store(root, count, corpus, self.args.jobs)
                stats.seconds = time.perf_counter() - started  # the bank's generation included
                stats.cpu_seconds += bank_cpu
                (root / "manifest.json").write_text(json.dumps(asdict(stats), indent=2) + "\n")
                self.fresh_build.add(count)
                progress(f"  built in {stats.seconds:.1f} s: {stats.text_chars / 1e6:.0f} MB text")
            self.builds[count] = stats

    def rebuild_indexes(self) -> None:
        for count in self.sizes.counts:
            progress(f"rebuilding the index of {count:,} sessions from scratch")
            stats = rebuild_index(store_root(count), self.counter)
            if stats.indexed != self.count_files(count):
                raise RuntimeError(f"rebuild indexed {stats.indexed}, not {count}")
            self.rebuilds[count] = stats
            progress(f"  {stats.times.wall_ms / 1000:.1f} s")
        # A rebuild right after the files were written leaves the folder "racy" (changed
        # within the last two seconds) and untrusted: wait that out, so the timed commands
        # see the index as a user's later commands do.
        time.sleep(2.1)

    def count_files(self, count: int) -> int:
        return sum(1 for p in os.scandir(self.sessions_dir(count)) if p.name.endswith(".json"))

    # whole processes ---------------------------------------------------------------------

    def env_for(self, count: int, **extra: str) -> dict[str, str]:
        env = base_environment(self.config_dir)
        env["OPENCODE_DATA_DIR"] = str(store_root(count))
        env.update(extra)
        return env

    def case(self, key: str, command: list[str], count: int, **env: str) -> ProcessCase:
        return ProcessCase(key, key, command, self.env_for(count, **env), self.project_dir)

    def completion_prefix(self) -> str:
        from opencode.sessions import SessionIndex, SessionStorage

        index = SessionIndex(SessionStorage(self.sessions_dir(self.big)))
        ids = index.ids()
        index.close()
        return random.Random(SEED).choice(ids)[:4]

    def read_cases(self) -> list[ProcessCase]:
        oc = opencode_executable()
        big, small = self.big, self.small
        prefix = self.completion_prefix()
        self.report.notes.append(
            f"TAB completion prefix `{prefix}` (4 characters of an existing id)."
        )
        return [
            self.case("pass", [sys.executable, "-c", "pass"], big),
            self.case("list-small", [oc, "--list-sessions"], small),
            self.case("list", [oc, "--list-sessions"], big),
            self.case(
                "complete",
                [oc],
                big,
                _OPENCODE_COMPLETE="complete_bash",
                COMP_WORDS=f"opencode session show {prefix}",
                COMP_CWORD="3",
            ),
            self.case(
                "list-search",
                [oc, "session", "list", "--search", TITLE_WORD, "--limit", "20"],
                big,
            ),
            self.case("search-rare", [oc, "session", "search", RARE_WORD], big),
            self.case(
                "search-common",
                [oc, "session", "search", COMMON_WORD, "--limit", "20"],
                big,
            ),
            self.case(
                "search-the",
                [oc, "session", "search", COMMONEST_WORD, "--limit", "20"],
                big,
            ),
        ]

    def check_outputs(self, launcher: Launcher, cases: Sequence[ProcessCase]) -> None:
        """One run of each command with its output read: a fast figure of a command that
        found nothing would mean nothing."""
        for case in cases:
            out = launcher.run(case)[3].decode(errors="replace")
            if case.key != "pass" and not out.strip():
                raise SystemExit(f"{case.label} printed nothing")
            if case.key == "complete":
                self.report.notes.append(f"It offers {len(out.splitlines())} candidates.")
        from opencode.sessions import SessionManager, SessionStorage

        manager = SessionManager(SessionStorage(self.sessions_dir(self.big)), auto_save_interval=0)
        found = {hit.summary.id for hit in manager.search(RARE_WORD, limit=100)}
        planted = set(self.builds[self.big].rare_sessions)
        self.report.notes.append(
            f"`session search {RARE_WORD}` finds {len(found)} sessions (the word is planted in "
            f"{len(planted)}; search leaves archived ones out)."
        )
        titles = manager.index.count_matching(search=TITLE_WORD)
        self.report.notes.append(
            f"`session list --search {TITLE_WORD}` matches {titles:,} titles (20 shown)."
        )
        manager.index.close()

    def time_read_commands(self, launcher: Launcher) -> dict[str, ProcessFigure]:
        cases = self.read_cases()
        self.check_outputs(launcher, cases)
        progress(f"timing whole processes ({self.sizes.runs} rounds of {len(cases)} commands)")
        return time_processes(launcher, cases, self.sizes.runs)

    def time_session_new(self, launcher: Launcher) -> dict[str, ProcessFigure]:
        """``opencode session new`` in the big store, beside its own ``python -c pass``;
        the sessions it makes are deleted afterwards."""
        from opencode.sessions import SessionManager, SessionStorage

        storage = SessionStorage(self.sessions_dir(self.big))
        before = storage.session_ids()
        cases = [
            self.case("pass-new", [sys.executable, "-c", "pass"], self.big),
            self.case("new", [opencode_executable(), "session", "new"], self.big),
        ]
        progress(f"timing `opencode session new` ({self.sizes.runs} rounds)")
        try:
            return time_processes(launcher, cases, self.sizes.runs)
        finally:
            manager = SessionManager(storage, auto_save_interval=0)
            for sid in storage.session_ids() - before:
                manager.delete(sid)
            manager.index.close()

    # the run -----------------------------------------------------------------------------

    def run(self) -> str:
        started = time.perf_counter()
        load_before = os.getloadavg()
        for folder in (self.config_dir, self.project_dir):
            folder.mkdir(parents=True, exist_ok=True)
        launcher = Launcher(self.scratch)
        try:
            self.ensure_stores()
            self.rebuild_indexes()
            reads = self.time_read_commands(launcher)
            news = self.time_session_new(launcher)
            big_dir = self.sessions_dir(self.big)
            progress("the index's share of create, first message and close")
            share = measure_index_share(big_dir, self.corpus, self.sizes.library_runs)
            factory = SessionFactory(self.corpus, self.big)
            appends = []
            for messages in (10, self.sizes.long_session):
                progress(f"add_message in a {messages:,}-message session")
                appends.append(
                    measure_add_message(big_dir, self.corpus, factory, messages, self.sizes.appends)
                )
            progress(f"{self.sizes.writers} concurrent index writers")
            writers = measure_concurrent_writers(
                self.scratch / "writers",
                self.sizes.writers,
                self.sizes.upserts_per_writer,
            )
            progress("write amplification")
            amplification = measure_write_amplification(
                self.scratch / "amplification",
                self.corpus,
                self.sizes.tool_results,
                self.sizes.tool_result_bytes,
            )
            progress(f"resume of a {self.sizes.resume_messages:,}-message session")
            resume = measure_resume(
                big_dir, factory, self.sizes.resume_messages, self.sizes.resume_runs
            )
            peak = launcher.peak_kb()
        finally:
            launcher.close()
            shutil.rmtree(self.scratch, ignore_errors=True)
        results = Results(
            reads,
            news,
            share,
            appends,
            writers,
            amplification,
            resume,
            launcher_peak_kb=peak,
            load=(load_before, os.getloadavg()),
            elapsed=time.perf_counter() - started,
        )
        self.rows(results)
        return self.markdown(results)

    def rows(self, res: Results) -> None:
        r = self.report
        big, small = f"{self.big:,}", f"{self.small:,}"
        reads = res.reads
        r.baseline = reads["pass"].times
        r.time_row("`python -c pass`", r.baseline, None)
        listing, listing_small = reads["list"].times, reads["list-small"].times
        r.time_row(f"`opencode --list-sessions`, {big} sessions", listing, TARGET_LIST_MS)
        r.time_row(f"`opencode --list-sessions`, {small} sessions", listing_small, None)
        ratio = listing.wall_ms / listing_small.wall_ms
        cpu_ratio = listing.cpu_ms / listing_small.cpu_ms
        r.value_row(
            f"… {big} / {small} sessions (wall; CPU {cpu_ratio:.2f}x)",
            f"{ratio:.2f}x",
            f"≤ {TARGET_LIST_RATIO}x",
            ratio <= TARGET_LIST_RATIO,
        )
        rss = reads["list"].rss_mb
        r.value_row(
            f"peak memory (max RSS) of `--list-sessions`, {big}",
            f"{rss:.1f} MB",
            f"≤ {TARGET_LIST_RSS_MB:g} MB",
            rss <= TARGET_LIST_RSS_MB,
        )
        r.value_row(
            f"… at {small}; of `python -c pass`",
            f"{reads['list-small'].rss_mb:.1f} MB; {reads['pass'].rss_mb:.1f} MB",
            "",
            None,
        )
        r.time_row(
            f"`opencode session new`, {big} sessions",
            res.news["new"].times,
            TARGET_NEW_MS,
            baseline=res.news["pass-new"].times,
        )
        share = res.share
        for call, label, whole in (
            ("add", "`SessionIndex.add` in `create`", "create"),
            (
                "record_message",
                "`SessionIndex.record_message` in the first message",
                "first message",
            ),
            ("update", "`SessionIndex.update` in `close`", "close"),
        ):
            r.time_row(
                f"{label}, {big} (whole call {fmt_ms(share.whole[whole].wall_ms)})",
                share.calls[call],
                TARGET_INDEX_SHARE_MS,
            )
        r.time_row(
            f"TAB completion of a 4-character prefix, {big}",
            reads["complete"].times,
            TARGET_COMPLETE_MS,
        )
        r.time_row(
            f"`opencode session list --search {TITLE_WORD} --limit 20`, {big}",
            reads["list-search"].times,
            TARGET_LIST_SEARCH_MS,
        )
        r.time_row(
            f"`opencode session search {RARE_WORD}` (rare), {big}",
            reads["search-rare"].times,
            TARGET_SEARCH_RARE_MS,
        )
        r.time_row(
            f"`opencode session search {COMMON_WORD} --limit 20` (common), {big}",
            reads["search-common"].times,
            TARGET_SEARCH_COMMON_MS,
        )
        r.time_row(
            f"`opencode session search {COMMONEST_WORD} --limit 20` (the commonest word), {big}",
            reads["search-the"].times,
            None,
        )
        rebuild = self.rebuilds[self.big]
        r.time_row(
            f"rebuild from scratch, {big} sessions",
            rebuild.times,
            TARGET_REBUILD_S * 1000,
        )
        files = rebuild.session_files
        once = rebuild.snapshot_files_opened == files and rebuild.most_opens_of_one_file == 1
        r.value_row(
            "… session files it opened",
            f"{rebuild.snapshot_files_opened:,} of {files:,},"
            f" at most {rebuild.most_opens_of_one_file}x each",
            "each once",
            once,
        )
        r.time_row(
            f"rebuild from scratch, {small} sessions",
            self.rebuilds[self.small].times,
            None,
        )
        build = self.builds[self.big]
        r.value_row(
            f"building the {big}-session store (files)",
            f"{build.seconds:.1f} s (CPU {build.cpu_seconds:.1f} s)"
            + ("" if self.big in self.fresh_build else ", in an earlier run"),
            f"≤ {TARGET_BUILD_S:g} s",
            None if self.quick else build.seconds <= TARGET_BUILD_S,
        )
        writers = res.writers
        r.value_row(
            f"index upserts from {writers.writers} writer processes: rows lost",
            f"{writers.lost} of {writers.expected_sessions:,}"
            f" ({writers.texts_found:,} of {writers.expected_texts:,} texts, "
            f"{len(writers.errors)} errors, {writers.seconds:.1f} s)",
            "0",
            None if self.quick else writers.lost == 0 and not writers.errors,
        )
        amp = res.amplification
        r.value_row(
            f"write amplification, {amp.appends} tool results of "
            f"{self.sizes.tool_result_bytes // 1024} KB",
            f"{amp.ratio:.2f}x",
            f"≤ {TARGET_WRITE_AMPLIFICATION:g}x",
            None if self.quick else amp.ratio <= TARGET_WRITE_AMPLIFICATION,
        )
        resume = res.resume
        r.time_row(
            f"`SessionManager.resume`, {resume.messages:,} messages "
            f"({resume.snapshot_bytes / 1e6:.0f} MB snapshot), {big} store",
            resume.resume,
            TARGET_RESUME_MS if resume.messages >= 100_000 else None,
        )
        for figure in res.appends:
            r.time_row(
                f"`manager.add_message`, {figure.messages:,} messages, {big} store "
                f"(p95 {fmt_ms(p95(figure.total.wall))})",
                figure.total,
                None,
            )
            r.time_row(
                f"… of which `SessionIndex.record_message` (p95 {fmt_ms(p95(figure.index.wall))})",
                figure.index,
                TARGET_INDEX_SHARE_MS,
            )

    def markdown(self, res: Results) -> str:
        build = self.builds[self.big]
        rebuild = self.rebuilds[self.big]
        share, resume, amp = res.share, res.resume, res.amplification
        mode = "quick smoke run; targets do not apply" if self.quick else "full run"
        out = [
            f"# Index benchmark ({mode})",
            "",
            f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.system()} "
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}; load average {_load(res.load[0])} at the start, "
            f"{_load(res.load[1])} at the end; {res.elapsed / 60:.1f} min in all. Whole "
            f"processes: medians of {self.sizes.runs} interleaved runs, wall clock and CPU "
            "(user + system); library calls: medians, wall clock and this process's CPU. "
            "Targets are judged on the wall clock.",
            "",
            "| figure | target | median | CPU | vs `python -c pass` (wall / CPU) | |",
            "|---|---|---:|---:|---:|---|",
        ]
        out += [
            f"| {x.figure} | {x.target} | {x.wall} | {x.cpu} | {x.ratio} | {x.verdict} |"
            for x in self.report.rows
        ]
        out += [
            "",
            "## Details",
            "",
            f"* Data: {build.count:,} sessions, {build.messages:,} messages "
            f"({build.messages / build.count:.1f} a session), {build.text_chars / 1e6:.0f} MB "
            f"of message text, {build.file_bytes / 1e6:.0f} MB of session files; written in "
            f"{build.seconds:.1f} s by {build.jobs} processes ({build.cpu_seconds:.1f} s of CPU "
            f"in all), text bank included ({build.built_at}).",
            f"* Rebuild: index {rebuild.db_bytes / 1e6:.0f} MB; it opened "
            f"{rebuild.snapshot_files_opened:,} session files (none more than "
            f"{rebuild.most_opens_of_one_file}x) and tried {rebuild.journal_open_attempts:,} "
            "journals (there are none). Page cache warm.",
            f"* First index call of a fresh manager (`add`, opening the database): "
            f"{fmt_ms(share.first_call.wall_ms)} (CPU {fmt_ms(share.first_call.cpu_ms)}).",
            f"* Resume: `storage.load` alone {fmt_ms(resume.load.wall_ms)}; `SessionIndex.update` "
            f"in it (opening the index included) {fmt_ms(resume.index_update.wall_ms)}; indexing "
            f"the session once with `SessionIndex.add` took {fmt_ms(resume.index_add.wall_ms)}.",
            f"* Write amplification: {amp.append_bytes / 1e6:.1f} MB appended; journal "
            f"{amp.journal_bytes / 1e6:.1f} MB + {amp.snapshots} snapshots "
            f"{amp.snapshot_bytes / 1e6:.1f} MB, final file {amp.final_bytes / 1e6:.1f} MB. "
            f"Everything the process wrote meanwhile, the index's SQLite writes included: "
            f"{amp.process_write_bytes / 1e6:.1f} MB.",
            f"* Peak memory is read through a small launcher process whose own peak "
            f"({res.launcher_peak_kb / 1024:.1f} MB) is the floor of what can be measured.",
        ]
        for figure in res.appends:
            out.append(
                f"* `add_message` at {figure.messages:,} messages: median "
                f"{fmt_ms(figure.total.wall_ms)}, p95 {fmt_ms(p95(figure.total.wall))}, "
                f"max {fmt_ms(max(figure.total.wall))}; `record_message` median "
                f"{fmt_ms(figure.index.wall_ms)}, max {fmt_ms(max(figure.index.wall))}."
            )
        if res.writers.errors:
            out.append(f"* Writer errors (first 3): {res.writers.errors[:3]}")
        out += [f"* {note}" for note in self.report.notes]
        return "\n".join(out) + "\n"


def _load(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


# -- profiles ----------------------------------------------------------------------------------

PROFILE_COMMANDS: Final = {
    "list": ["--list-sessions"],
    "new": ["session", "new"],
    "list-search": ["session", "list", "--search", TITLE_WORD, "--limit", "20"],
    "search-rare": ["session", "search", RARE_WORD],
    "search-common": ["session", "search", COMMON_WORD, "--limit", "20"],
    "complete": [],  # TAB completion of a 4-character id prefix (set in the environment)
}
PROFILE_LIBRARY: Final = ("rebuild", "resume")
PROFILE_LINES: Final = 35


def profile(args: argparse.Namespace) -> str:
    """Where the time of one figure goes: cProfile (and ``-X importtime`` for processes)."""
    sizes = QUICK if args.quick else FULL
    count = sizes.counts[0]
    root = store_root(count)
    if not (root / "manifest.json").exists():
        raise SystemExit(f"no {count:,}-session store yet: run the benchmark once first")
    scratch = DATA / f"scratch-{os.getpid()}"
    (scratch / "config").mkdir(parents=True, exist_ok=True)
    try:
        if args.profile in PROFILE_COMMANDS:
            return profile_process(args.profile, root, scratch)
        return profile_library(args.profile, root, scratch, sizes)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def profile_process(name: str, root: Path, scratch: Path) -> str:
    env = base_environment(scratch / "config")
    env["OPENCODE_DATA_DIR"] = str(root)
    before = set(os.listdir(root / "sessions"))
    out_file = scratch / "profile.out"
    argv = PROFILE_COMMANDS[name]
    if name == "complete":
        from opencode.sessions import SessionIndex, SessionStorage

        index = SessionIndex(SessionStorage(root / "sessions"))
        prefix = random.Random(SEED).choice(index.ids())[:4]
        index.close()
        env.update(
            _OPENCODE_COMPLETE="complete_bash",
            COMP_WORDS=f"opencode session show {prefix}",
            COMP_CWORD="3",
        )
    try:
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        run = [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(out_file),
            "-m",
            "opencode",
            *argv,
        ]
        subprocess.run(run, env=env, check=True, stdout=subprocess.DEVNULL, cwd=scratch)
        imports = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "opencode", *argv],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=scratch,
        ).stderr.decode()
    finally:
        _delete_new_sessions(root, before)
    text = io.StringIO()
    stats = pstats.Stats(str(out_file), stream=text)
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    stats.sort_stats("tottime").print_stats(20)
    heavy = sorted(_import_lines(imports), reverse=True)[:20]
    lines = [f"{us / 1000:8.1f} ms  {module}" for us, module in heavy]
    return (
        f"# profile of `opencode {' '.join(argv) or '(TAB completion)'}` at {root}\n\n"
        + text.getvalue()
        + "\n## slowest imports (cumulative, -X importtime)\n\n"
        + "\n".join(lines)
        + "\n"
    )


def _import_lines(stderr: str) -> Iterator[tuple[int, str]]:
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, _, rest = line.partition(":")
        parts = [p.strip() for p in rest.split("|")]
        with contextlib.suppress(ValueError, IndexError):
            yield int(parts[1]), parts[2]


def _delete_new_sessions(root: Path, before: set[str]) -> None:
    from opencode.sessions import SessionManager, SessionStorage

    storage = SessionStorage(root / "sessions")
    new = {n[: -len(".json")] for n in set(os.listdir(storage.storage_dir)) - before}
    new = {sid for sid in new if storage.exists(sid)}
    if new:
        manager = SessionManager(storage, auto_save_interval=0)
        for sid in new:
            manager.delete(sid)
        manager.index.close()


def profile_library(name: str, root: Path, scratch: Path, sizes: Sizes) -> str:
    profiler = cProfile.Profile()
    if name == "rebuild":
        from opencode.sessions import SessionIndex, SessionStorage, indexdb

        storage = SessionStorage(root / "sessions")
        indexdb.remove_index_files(indexdb.index_path(storage.storage_dir))
        index = SessionIndex(storage)
        profiler.runcall(index.rebuild)
        index.close()
        what = f"SessionIndex.rebuild() at {root}"
    else:
        from opencode.sessions import SessionManager, SessionStorage

        corpus = Corpus.create(sizes.bank_words)
        factory = SessionFactory(corpus, sizes.counts[0])
        storage = SessionStorage(scratch / "sessions")
        storage.ensure_dir()
        made = factory.make(20_000_000 + sizes.resume_messages, messages=sizes.resume_messages)
        write_file(storage.get_path(made.session_id), made.data)
        manager = SessionManager(storage, auto_save_interval=0)
        profiler.runcall(manager.resume, made.session_id)
        manager.close()
        manager.index.close()
        what = f"SessionManager.resume of {sizes.resume_messages:,} messages"
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    stats.sort_stats("tottime").print_stats(25)
    return f"# profile of {what}\n\n{text.getvalue()}"


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small stores (2,000 and 200 sessions), 3 runs: a smoke run; targets do not apply",
    )
    parser.add_argument("--runs", type=int, help="whole-process runs per command (15; quick 3)")
    parser.add_argument("--rebuild", action="store_true", help="build the stores afresh")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="processes writing the store (default: one per CPU)",
    )
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    parser.add_argument(
        "--profile",
        choices=[*PROFILE_COMMANDS, *PROFILE_LIBRARY],
        help="instead of the benchmark, profile one figure on the existing store",
    )
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    DATA.mkdir(exist_ok=True)
    report = profile(args) if args.profile else Bench(args).run()
    print(report)
    if args.out is not None:
        args.out.write_text(report, encoding="utf-8")
        progress(f"report written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
