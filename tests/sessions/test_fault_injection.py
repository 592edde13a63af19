"""Crash and I/O-error injection at every file-changing call of every store operation.

For each operation (append, compaction, snapshot save, create, resume with recovery, title
and tag changes, delete) the calls it makes to ``os`` are counted once, in a forked child.
Then, for every k, a fresh copy of the store goes to a forked child that runs the operation
and

* dies of SIGKILL just before, or just after, the k-th call (``test_crash``), or
* gets ``OSError(ENOSPC)`` or ``OSError(EIO)`` from the k-th call (``test_io_error``), and
  retries the operation once the fault is gone.

The parent then checks that the store opens, that nothing acknowledged before the operation
is lost, that the session holds its old or its new state, and that later operations work.
It also checks the store as a power cut at that moment would leave it (``PowerCutModel``:
only what was fsynced survives), and that an operation which reported success despite a
failed call still has its result in that image. The harness lives in ``faults.py``; a case
id names the operation, k, the call and the fault: ``save-k07-replace(json.tmp->json)-after``.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache, partial
from pathlib import Path
from typing import Any, Final

import pytest

from opencode.errors import OpencodeError
from opencode.sessions import (
    Session,
    SessionCorruptedError,
    SessionIndex,
    SessionManager,
    SessionMessage,
    SessionStorage,
    SessionStorageError,
)


def _load_faults() -> Any:
    """``faults.py`` beside this file (the suite runs with --import-mode=importlib)."""
    name = "opencode_tests_sessions_faults"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("faults.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


faults = _load_faults()
Send = Callable[[dict[str, Any]], None]  # how a child passes notes back (faults.Send)

# Every message of the target session carries this; after it is deleted no file may.
TOKEN: Final = "zq7-target"
ERRNOS: Final = {"ENOSPC": errno.ENOSPC, "EIO": errno.EIO}


# -- what a session holds ----------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """The part of a session a user would miss (no ids, no timestamps)."""

    title: str
    tags: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    tokens: tuple[int, int] = (0, 0)

    @classmethod
    def of(cls, session: Session | None) -> View | None:
        if session is None:
            return None
        return cls(
            title=session.title,
            tags=tuple(session.tags),
            messages=tuple(m.content for m in session.messages),
            tools=tuple(t.tool_name for t in session.tool_history),
            tokens=(session.total_prompt_tokens, session.total_completion_tokens),
        )

    def plus(self, *contents: str) -> View:
        return replace(self, messages=self.messages + contents)

    def __repr__(self) -> str:
        shown = tuple(m if len(m) <= 60 else f"{m[:40]}...({len(m)} chars)" for m in self.messages)
        return (
            f"View(title={self.title!r}, tags={self.tags}, messages={shown}, "
            f"tools={self.tools}, tokens={self.tokens})"
        )


def new_manager(storage: SessionStorage) -> SessionManager:
    return SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)


def copy_store(source: Path, dest: Path) -> None:
    """Copy a store folder (hard links become copies: the same bytes, which is all we read)."""
    shutil.copytree(source, dest, copy_function=shutil.copyfile)


# -- stores to start from ----------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A store folder to copy for each case, and what it holds."""

    folder: Path
    target: str
    bystander: str
    view: View  # the target as stored (snapshot plus journal)
    bystander_view: View


def build_template(where: Path, kind: str) -> Template:
    """A store with a bystander session and a target session in state ``kind``.

    ``closed``: the target was closed normally. ``crashed``: its writer died with two records
    in the journal (the folder is copied while the session is open). ``untitled``: a closed
    target with no title and no messages.
    """
    live = where / "live"
    template = where / "template"
    with faults.no_sync():
        manager = new_manager(SessionStorage(live))
        bystander = manager.create(title="bystander", working_dir="/w")
        manager.add_message("user", "bystander message")
        if kind == "untitled":
            target = manager.create(working_dir="/w")
        else:
            target = manager.create(title="target", working_dir="/w", tags=["t1"])
            manager.add_message("user", f"m1 {TOKEN}")
            manager.add_message("assistant", f"m2 {TOKEN}")
            manager.record_tool_call("grep", {"q": "x"}, "found")
            manager.update_usage(10, 5)
        if kind == "crashed":
            manager.save()
            manager.add_message("user", f"j1 {TOKEN}")
            manager.add_message("assistant", f"j2 {TOKEN}")
            copy_store(live, template)  # as the crash leaves it: journal records, lock files
        manager.close()
        manager.index.close()
        if kind != "crashed":
            copy_store(live, template)
        storage = SessionStorage(template)
        view = View.of(storage.load(target.id))
        bystander_view = View.of(storage.load(bystander.id))
    assert view is not None and bystander_view is not None
    if kind == "crashed":
        assert storage.get_journal_path(target.id).stat().st_size > 0
    return Template(template, target.id, bystander.id, view, bystander_view)


# -- the operations ----------------------------------------------------------------------------


@dataclass
class Child:
    """What an operation works with inside the child."""

    storage: SessionStorage
    manager: SessionManager
    template: Template
    session: Session | None = None


Step = Callable[[Child], object]
Expect = Callable[[View], "View | None"]


def _nothing(child: Child) -> None:
    pass


def _same(view: View) -> View:
    return view


def _resume(*contents: str) -> Step:
    """Setup: make the target current and journal ``contents`` (acknowledged) first."""

    def setup(child: Child) -> None:
        child.manager.resume(child.template.target)
        for content in contents:
            child.manager.add_message("user", content)

    return setup


def _resume_near_compaction(child: Child) -> None:
    """Setup: one journaled message, and a size threshold the next append will cross.

    The journal is also compared with the snapshot's size (compaction is geometric): the
    message ``auto_compaction`` appends is many times larger than the whole snapshot.
    """
    _resume(f"pre {TOKEN}")(child)
    journal = child.storage.get_journal_path(child.template.target)
    child.manager.compact_journal_bytes = journal.stat().st_size + 1


# Large enough to pass any sane journal/snapshot ratio (the template's snapshot is ~2 KB).
BIG_MESSAGE: Final = f"big {TOKEN} " + "x" * 16_384


def _load_and_change(child: Child) -> None:
    """Setup for ``storage.save``: the stored session plus one message, in memory."""
    session = child.storage.load(child.template.target)
    session.add_message(SessionMessage(role="user", content=f"new {TOKEN}"))
    child.session = session


def _title_from(content: str) -> str:
    """The title the library gives a session whose first user message is ``content``."""
    session = Session(working_dir="/w")
    session.add_message(SessionMessage(role="user", content=content))
    unused = SessionStorage(tempfile.gettempdir())  # generate_title reads no file
    return new_manager(unused).generate_title(session)


FIRST_WORDS: Final = f"first words {TOKEN}"


@dataclass(frozen=True)
class Operation:
    """One store operation: how to get there, what it does, what the store may then hold."""

    template: str
    run: Step
    after: Expect
    setup: Step = _nothing
    before: Expect = _same  # template view -> acknowledged view when the operation starts
    # Another state a half-done operation may leave (a best-effort second step not done).
    between: Expect | None = None
    creates: bool = False  # the target is the session the operation creates


OPERATIONS: Final[dict[str, Operation]] = {
    "add_message": Operation(
        "closed",
        setup=_resume(f"pre {TOKEN}"),
        run=lambda c: c.manager.add_message("assistant", f"new {TOKEN}"),
        before=lambda v: v.plus(f"pre {TOKEN}"),
        after=lambda v: v.plus(f"pre {TOKEN}", f"new {TOKEN}"),
    ),
    # The first user message of an untitled session also names it (a second journal record
    # and an index update). Stopped between the two, the message is there, the title not yet;
    # the title is best effort, so that state is also an acceptable end.
    "add_message_first": Operation(
        "untitled",
        setup=_resume(),
        run=lambda c: c.manager.add_message("user", FIRST_WORDS),
        after=lambda v: replace(v.plus(FIRST_WORDS), title=_title_from(FIRST_WORDS)),
        between=lambda v: v.plus(FIRST_WORDS),
    ),
    "record_tool_call": Operation(
        "closed",
        setup=_resume(f"pre {TOKEN}"),
        run=lambda c: c.manager.record_tool_call("ls", {"path": "."}, "ok"),
        before=lambda v: v.plus(f"pre {TOKEN}"),
        after=lambda v: replace(v.plus(f"pre {TOKEN}"), tools=(*v.tools, "ls")),
    ),
    "update_usage": Operation(
        "closed",
        setup=_resume(f"pre {TOKEN}"),
        run=lambda c: c.manager.update_usage(7, 3),
        before=lambda v: v.plus(f"pre {TOKEN}"),
        after=lambda v: replace(v.plus(f"pre {TOKEN}"), tokens=(v.tokens[0] + 7, v.tokens[1] + 3)),
    ),
    "save": Operation(
        "closed",
        setup=_resume(f"j1 {TOKEN}", f"j2 {TOKEN}"),
        run=lambda c: c.manager.save(),
        before=lambda v: v.plus(f"j1 {TOKEN}", f"j2 {TOKEN}"),
        after=lambda v: v.plus(f"j1 {TOKEN}", f"j2 {TOKEN}"),
    ),
    "auto_compaction": Operation(
        "closed",
        setup=_resume_near_compaction,
        run=lambda c: c.manager.add_message("assistant", BIG_MESSAGE),
        before=lambda v: v.plus(f"pre {TOKEN}"),
        after=lambda v: v.plus(f"pre {TOKEN}", BIG_MESSAGE),
    ),
    "storage_save": Operation(
        "crashed",
        setup=_load_and_change,
        run=lambda c: c.storage.save(c.session),  # type: ignore[arg-type]
        after=lambda v: v.plus(f"new {TOKEN}"),
    ),
    "create": Operation(
        "closed",
        run=lambda c: c.manager.create(title="created", working_dir="/w", tags=["c"]),
        before=lambda v: None,
        after=lambda v: View(title="created", tags=("c",)),
        creates=True,
    ),
    "resume_recovery": Operation(
        "crashed",
        run=lambda c: c.manager.resume(c.template.target),
        after=_same,
    ),
    "set_title": Operation(
        "closed",
        setup=_resume(),
        run=lambda c: c.manager.set_title("renamed"),
        after=lambda v: replace(v, title="renamed"),
    ),
    "add_tag": Operation(
        "closed",
        setup=_resume(),
        run=lambda c: c.manager.add_tag("t2"),
        after=lambda v: replace(v, tags=(*v.tags, "t2")),
    ),
    "update_session": Operation(
        "closed",
        run=lambda c: c.manager.update_session(c.template.target, title="renamed", add_tags=["t2"]),
        after=lambda v: replace(v, title="renamed", tags=(*v.tags, "t2")),
    ),
    "delete": Operation(
        "closed",
        run=lambda c: c.manager.delete(c.template.target),
        after=lambda v: None,
    ),
    # A session whose writer crashed (journal records, stale lock files) deleted unopened.
    "delete_after_crash": Operation(
        "crashed",
        run=lambda c: c.manager.delete(c.template.target),
        after=lambda v: None,
    ),
}


# -- the child ---------------------------------------------------------------------------------


def _attempt(step: Step, child: Child) -> dict[str, Any]:
    try:
        step(child)
    except BaseException as exc:  # the verdict is the parent's
        note: dict[str, Any] = faults.exception_note(exc, OpencodeError)
        return note
    return {"outcome": "returned"}


def child_main(op: Operation, template: Template, case_dir: Path, fault: Any, send: Send) -> None:
    """Runs in the forked child: set up, run the operation under the shim, maybe retry.

    Leaves ``power-cut`` (the store as a power cut at the fault would leave it) and, for an
    I/O error, ``at-fault`` (the store right after the failed operation) beside ``store``.
    """
    folder = case_dir / "store"
    storage = SessionStorage(folder)
    child = Child(storage, new_manager(storage), template)
    shim = faults.OsShim(folder, fault)

    def power_cut_image() -> None:
        assert shim.power_cut is not None
        shim.power_cut.write_image(case_dir / "power-cut")

    def on_crash(k: int, call: Any) -> None:
        power_cut_image()
        send({"event": "crash", "k": k, "call": str(call)})

    shim.on_crash = on_crash

    with faults.no_sync():
        op.setup(child)
        with shim:
            result = _attempt(op.run, child)
        fired = str(shim.fired) if shim.fired is not None else None
        send({"event": "op", **result, "calls": [str(c) for c in shim.calls], "fired": fired})
        if fault is not None and fault.action == "error":
            power_cut_image()
            copy_store(folder, case_dir / "at-fault")
            if result["outcome"] == "raised":
                send({"event": "retry", **_attempt(op.run, child)})


# -- cases -------------------------------------------------------------------------------------


@cache
def counted_calls() -> dict[str, tuple[str, ...]]:
    """The calls each operation makes, counted once per operation in a child (at collection)."""
    counts: dict[str, tuple[str, ...]] = {}
    with tempfile.TemporaryDirectory(prefix="opencode-faults-", dir=faults.fast_temp_root()) as tmp:
        where = Path(tmp)
        kinds = {op.template for op in OPERATIONS.values()}
        templates = {kind: build_template(where / kind, kind) for kind in sorted(kinds)}
        for op_name, op in OPERATIONS.items():
            case_dir = where / "cases" / op_name
            template = templates[op.template]
            copy_store(template.folder, case_dir / "store")
            result = faults.run_forked(partial(child_main, op, template, case_dir, None))
            note = result.note("op")
            assert result.finished and note is not None, result.describe()
            assert note["outcome"] == "returned", f"{op_name} fails unfaulted:\n{result.describe()}"
            counts[op_name] = tuple(note["calls"])
    return counts


@dataclass(frozen=True)
class Case:
    op: str
    k: int
    call: str
    mode: str  # "before" / "after" (crash) or "ENOSPC" / "EIO" (I/O error)

    @property
    def id(self) -> str:
        return f"{self.op}-k{self.k:02d}-{self.call}-{self.mode}"


# Cases that fail because of a library bug: case id -> the bug in one line (none known).
KNOWN_BUGS: Final[dict[str, str]] = {}


def _cases(modes: tuple[str, ...]) -> list[Any]:
    params = []
    for op_name in OPERATIONS:
        for k, call in enumerate(counted_calls()[op_name], start=1):
            for mode in modes:
                case = Case(op_name, k, call, mode)
                reason = KNOWN_BUGS.get(case.id)
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                params.append(pytest.param(case, id=case.id, marks=marks))
    return params


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "crash_case" in metafunc.fixturenames:
        metafunc.parametrize("crash_case", _cases(("before", "after")))
    if "error_case" in metafunc.fixturenames:
        metafunc.parametrize("error_case", _cases(tuple(ERRNOS)))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the stores of this module's cases live (RAM-backed when possible)."""
    fallback = tmp_path_factory.mktemp("faults")
    root = faults.fast_temp_root() or fallback
    with tempfile.TemporaryDirectory(prefix="opencode-faults-", dir=root) as tmp:
        yield Path(tmp)


class Templates(dict[str, Template]):
    """Template stores, built on first use."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def __missing__(self, kind: str) -> Template:
        self[kind] = build_template(self.root / kind, kind)
        return self[kind]


@pytest.fixture(scope="module")
def templates(scratch: Path) -> Templates:
    return Templates(scratch / "templates")


@pytest.fixture
def case_dir(scratch: Path) -> Iterator[Path]:
    """A folder for one case, removed afterwards (the assertion messages say what happened)."""
    path = Path(tempfile.mkdtemp(prefix="case-", dir=scratch))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class Run:
    """One case: what ran, on which copy of which template, and how the child ended."""

    case: Case
    op: Operation
    template: Template
    case_dir: Path
    result: Any

    def where(self) -> str:
        return f"{self.case.id}\n{self.result.describe()}"

    def states_after_fault(self) -> list[View | None]:
        """The old state, the new one, and a permitted state in between."""
        start = self.template.view
        allowed = [self.op.before(start), *self.states_when_done()]
        return [view for i, view in enumerate(allowed) if view not in allowed[:i]]

    def states_when_done(self) -> list[View | None]:
        """What a successful operation may leave: the new state (or the permitted between)."""
        start = self.template.view
        return [self.op.after(start)] + ([self.op.between(start)] if self.op.between else [])


def start(case: Case, templates: Templates, case_dir: Path, fault: Any) -> Run:
    """Copy the template and run ``case`` with ``fault`` in a forked child."""
    op = OPERATIONS[case.op]
    template = templates[op.template]
    copy_store(template.folder, case_dir / "store")
    result = faults.run_forked(partial(child_main, op, template, case_dir, fault))
    run = Run(case, op, template, case_dir, result)
    fired = result.note("op") or result.note("crash")
    assert fired is not None, run.where()
    fired_call = fired.get("fired", fired.get("call"))
    assert fired_call == case.call, (
        f"call {case.k} is {fired_call}, not {case.call}: the operation's calls changed "
        f"between counting and running\n{run.where()}"
    )
    return run


# -- checks ------------------------------------------------------------------------------------


def target_of(run: Run, storage: SessionStorage) -> str | None:
    """The session the operation is about (for ``create``: the one it made, if any)."""
    if not run.op.creates:
        return run.template.target
    made = storage.session_ids() - {run.template.target, run.template.bystander}
    assert len(made) <= 1, f"create left {len(made)} new sessions: {sorted(made)}\n{run.where()}"
    return next(iter(made), None)


def open_store(
    run: Run,
    folder: Path,
    allowed: list[View | None],
    what: str,
    index: SessionIndex | None = None,
) -> tuple[Session | None, Any]:
    """The store in ``folder`` opens, its index lists exactly its sessions, and the target is
    in an allowed state. Returns the target and its index entry.

    ``index`` is a fresh index of that folder to use (and leave open), else one is made.
    """
    where = f"{what}: {run.where()}"
    storage = SessionStorage(folder)
    own_index = index is None
    index = SessionIndex(storage) if index is None else index
    try:
        bystander = View.of(storage.load(run.template.bystander))
        session_id = target_of(run, storage)
        session = storage.load_or_none(session_id) if session_id is not None else None
        listed = {s.id for s in index.list()}
        entry = index.get(session_id) if session_id is not None else None
    except SessionStorageError as exc:
        pytest.fail(f"the store does not open: {type(exc).__name__}: {exc}\n{where}")
    finally:
        if own_index:
            index.close()
    assert bystander == run.template.bystander_view, f"the bystander changed\n{where}"
    view = View.of(session)
    assert view in allowed, f"state {view}\nis none of {allowed}\n{where}"
    if session is not None:
        ids = [m.id for m in session.messages]
        assert len(set(ids)) == len(ids), f"duplicate message ids {ids}\n{where}"
    assert listed == storage.session_ids(), f"index lists {listed}, not the files\n{where}"
    return session, entry


def check_usable(run: Run, folder: Path) -> None:
    """After a fault the store holds an allowed state and later operations work on it."""
    storage = SessionStorage(folder)
    manager = new_manager(storage)
    try:
        what = "the store left behind"
        session, _ = open_store(run, folder, run.states_after_fault(), what, manager.index)
        session_id = target_of(run, storage)
        view = View.of(session)
        where = run.where()
        if session_id is not None and view is not None:
            assert View.of(manager.resume(session_id)) == view, where
            manager.add_message("assistant", "follow-up")
            assert manager.save(), where
            assert View.of(storage.load(session_id)) == view.plus("follow-up"), where
            assert manager.delete(session_id), where
        else:  # the session is gone (or was never made): the folder still works
            fresh = manager.create(title="fresh", working_dir="/w")
            manager.add_message("user", "fresh message")
            assert manager.delete(fresh.id), where
            if session_id is not None:
                manager.delete(session_id)  # whatever a crash left of it
        listed = {s.id for s in manager.list_sessions()}
    finally:
        manager.close()
        manager.index.close()
    remaining = storage.session_ids()
    untouched = {run.template.bystander, run.template.target} - {session_id}
    assert remaining == untouched == listed, f"left {remaining}, listed {listed}\n{where}"
    if run.op.creates:
        return  # the template's target (with TOKEN) stays; the created session has no text
    holding = sorted(
        p.name
        for p in storage.storage_dir.iterdir()
        if "index" not in p.name and p.is_file() and TOKEN.encode() in p.read_bytes()
    )
    assert holding == [], f"the deleted session's text is left in {holding}\n{where}"


def check_power_cut(run: Run, allowed: list[View | None], what: str) -> None:
    """The store as a power cut would leave it opens and holds an allowed state."""
    open_store(run, run.case_dir / "power-cut", allowed, what)


def check_done(run: Run) -> None:
    """A finished operation: its result is stored once and its index entry is current."""
    done = run.states_when_done()
    session, entry = open_store(run, run.case_dir / "store", done, "after the operation")
    if session is None:
        return
    assert entry is not None and (entry.title, entry.tags) == (session.title, session.tags), (
        f"the index entry is stale: {entry}\n{run.where()}"
    )


# -- the tests ---------------------------------------------------------------------------------


def test_crash(crash_case: Case, templates: Templates, case_dir: Path) -> None:
    """Killed just before / just after the k-th call: the old or the new state, and usable."""
    fault = faults.Fault(crash_case.k, f"crash-{crash_case.mode}")
    run = start(crash_case, templates, case_dir, fault)
    assert run.result.killed, f"the child was not killed at call {crash_case.k}\n{run.where()}"
    with faults.no_sync():
        check_usable(run, case_dir / "store")
        check_power_cut(run, run.states_after_fault(), "after a power cut at the crash")


def test_io_error(error_case: Case, templates: Templates, case_dir: Path) -> None:
    """The k-th call fails: a library error (or a success that holds), and a clean retry."""
    fault = faults.Fault(error_case.k, "error", ERRNOS[error_case.mode])
    run = start(error_case, templates, case_dir, fault)
    where = run.where()
    assert run.result.finished, where
    outcome = run.result.note("op")
    with faults.no_sync():
        if outcome["outcome"] == "raised":
            assert outcome["library"], f"{outcome['type']} escaped, not a library error\n{where}"
            check_power_cut(run, run.states_after_fault(), "after a power cut following the error")
            retry = run.result.note("retry")
            assert retry["outcome"] == "returned", f"the retry failed\n{where}"
        else:
            # Success despite the failed call: what it reported done must survive a power cut.
            done = run.states_when_done()
            check_power_cut(run, done, "the operation succeeded, then a power cut")
        check_done(run)  # after the retry, or the success: the new state, once
        check_usable(run, case_dir / "at-fault")


def test_the_harness_sees_every_kind_of_call() -> None:
    """A check on the harness itself: appends sync, saves rename, deletes unlink."""
    counts = counted_calls()
    assert all(counts.values()), counts
    assert "write(jsonl)" in counts["add_message"], counts
    assert {"fdatasync(jsonl)", "fsync(jsonl)"} & set(counts["add_message"]), counts
    assert any(c.startswith("replace(") for c in counts["save"]), counts
    assert "fsync(folder)" in counts["save"], counts
    assert "replace(json.tmp->json)" in counts["auto_compaction"], "the append did not compact"
    assert any(c.startswith("unlink(") for c in counts["delete"]), counts


# -- the harness itself ------------------------------------------------------------------------

SID: Final = "0b6c1b8e-5c6f-4f4e-9d53-1d2a5b7c9e01"


def test_the_shim_counts_names_and_fails_calls_in_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    temp = folder / f".{SID}.json.abcd1234.tmp"
    shim = faults.OsShim(folder, faults.Fault(3, "error", errno.EIO))
    with shim:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.write(fd, b"x")
            with pytest.raises(OSError) as caught:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, folder / f"{SID}.json")
        os.unlink(folder / f"{SID}.json")
        elsewhere = os.open(tmp_path / "elsewhere", os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(elsewhere, b"not counted")
        os.close(elsewhere)
    assert caught.value.errno == errno.EIO
    assert [str(c) for c in shim.calls] == [
        "open(json.tmp)",
        "write(json.tmp)",
        "fsync(json.tmp)",
        "replace(json.tmp->json)",
        "unlink(json)",
    ]
    assert os.write is not shim._write  # uninstalled


@pytest.mark.parametrize(("action", "left"), [("crash-before", b"a"), ("crash-after", b"ab")])
def test_a_crash_kills_the_child_before_or_after_the_call(
    tmp_path: Path, action: str, left: bytes
) -> None:
    journal = tmp_path / f"{SID}.jsonl"
    journal.write_bytes(b"")

    def body(send: Send) -> None:
        fd = os.open(journal, os.O_WRONLY | os.O_APPEND)  # opened before the shim: still seen
        with faults.OsShim(tmp_path, faults.Fault(2, action)):
            for byte in (b"a", b"b", b"c"):
                os.write(fd, byte)

    result = faults.run_forked(body)
    assert result.killed, result.describe()
    assert journal.read_bytes() == left


def test_the_power_cut_model_keeps_only_what_was_synced(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    (folder / "old").write_bytes(b"old")
    image = tmp_path / "image"

    def body(send: Send) -> None:
        with faults.OsShim(folder) as shim:
            synced = os.open(folder / "synced", os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(synced, b"kept")
            os.fsync(synced)
            os.close(synced)
            dir_fd = os.open(folder, os.O_RDONLY)
            os.fsync(dir_fd)
            os.close(dir_fd)
            unsynced = os.open(folder / "unsynced", os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(unsynced, b"lost")
            os.close(unsynced)
            appended = os.open(folder / "old", os.O_WRONLY | os.O_APPEND)
            os.write(appended, b" and new")
            os.close(appended)
            assert shim.power_cut is not None
            shim.power_cut.write_image(image)

    result = faults.run_forked(body)
    assert result.finished, result.describe()
    assert {p.name: p.read_bytes() for p in image.iterdir()} == {"old": b"old", "synced": b"kept"}


def test_the_checks_catch_a_write_that_is_not_atomic(templates: Templates, case_dir: Path) -> None:
    """A snapshot rewritten in place (truncate, then write) and killed in between is caught."""
    template = templates["closed"]
    store = case_dir / "store"
    copy_store(template.folder, store)
    path = SessionStorage(store).get_path(template.target)

    def body(send: Send) -> None:
        data = path.read_bytes()
        with faults.OsShim(store, faults.Fault(2, "crash-before")):
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            os.write(fd, data)

    result = faults.run_forked(body)
    assert result.killed, result.describe()
    with pytest.raises(SessionCorruptedError):
        SessionStorage(store).load(template.target)
