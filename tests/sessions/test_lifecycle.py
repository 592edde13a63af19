"""Session lifecycle in the library: fork, archive, pin, the trash, sync conflict copies.

The last part kills a forked child (SIGKILL, through the os-level harness in ``faults.py``)
just before and just after every file-changing call of moving a session into the trash,
restoring it, archiving it and forking it, and checks that the session is never in neither
place and never corrupted.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import orjson
import pytest

from opencode.sessions import (
    InvalidSessionValueError,
    Session,
    SessionLockedError,
    SessionManager,
    SessionMessage,
    SessionNotFoundError,
    SessionStorage,
)
from opencode.sessions import cleanup as cleaning
from opencode.sessions.errors import SessionExistsError, SessionStorageError
from opencode.sessions.storage import parse_session_bytes
from opencode.sessions.trash import Trash
from opencode.sessions.validate import format_timestamp, utc_now

WORKERS: Final = Path(__file__).parent / "_workers"
TIMEOUT: Final = 60.0


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


@pytest.fixture
def storage(data_dir: Path) -> SessionStorage:
    return SessionStorage(data_dir / "sessions")


@pytest.fixture
def manager(storage: SessionStorage) -> Iterator[SessionManager]:
    made = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    yield made
    made.close()
    made.index.close()


def file_hashes(storage: SessionStorage, session_id: str) -> dict[str, str]:
    """The files holding a session (snapshot, journal, backup) by name, as digests."""
    found = {}
    for suffix in (".json", ".jsonl", ".backup"):
        path = storage.storage_dir / f"{session_id}{suffix}"
        if path.exists():
            found[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def contents(session: Session) -> list[str]:
    return [m.content for m in session.messages]


def usage(prompt: int, completion: int) -> dict[str, Any]:
    return {"usage": {"prompt_tokens": prompt, "completion_tokens": completion}}


def conversation(manager: SessionManager) -> Session:
    """A closed session of four messages, a tool run after each answer, per-message usage on
    the answers, and one model call whose usage no message carries (a failed turn)."""
    session = manager.create(title="Parent", working_dir="/proj", tags=["t"])
    manager.set_metadata("note", "kept in forks")
    manager.add_message("user", "q1")
    manager.add_message("assistant", "a1", metadata=usage(10, 1))
    manager.update_usage(10, 1)
    manager.record_tool_call("grep", {"q": "x"}, "found")
    manager.add_message("user", "q2")
    manager.add_message("assistant", "a2", metadata=usage(100, 20))
    manager.update_usage(100, 20)
    manager.record_tool_call("ls", {}, "ok")
    manager.update_usage(5, 5)
    manager.close()
    return session


# -- fork -------------------------------------------------------------------------------------


def test_fork_keeps_messages_tools_and_usage_up_to_the_cut(
    manager: SessionManager, storage: SessionStorage
) -> None:
    parent = storage.load(conversation(manager).id)
    before = file_hashes(storage, parent.id)

    fork = manager.fork(parent.id, at=3)

    stored = storage.load(fork.id)
    assert fork.id != parent.id
    assert contents(stored) == ["q1", "a1", "q2"]
    assert [m.id for m in stored.messages] == [m.id for m in parent.messages[:3]]
    assert [t.tool_name for t in stored.tool_history] == ["grep"]  # up to the last kept message
    assert (stored.total_prompt_tokens, stored.total_completion_tokens) == (10, 1)
    assert stored.metadata["forked_from"] == {
        "session_id": parent.id,
        "message_id": parent.messages[2].id,
    }
    assert stored.metadata["note"] == "kept in forks"
    assert (stored.title, stored.tags, stored.working_dir) == ("Parent (fork)", ["t"], "/proj")
    assert file_hashes(storage, parent.id) == before  # the original, byte for byte
    assert manager.index.get(fork.id) is not None
    assert manager.index.get(fork.id).forked_from == parent.id  # type: ignore[union-attr]
    assert not manager.has_current  # written, not made current


def test_fork_of_two_messages_has_no_tool_run_recorded_after_them(
    manager: SessionManager, storage: SessionStorage
) -> None:
    parent = conversation(manager)
    stored = storage.load(manager.fork(parent.id, at=2).id)
    assert contents(stored) == ["q1", "a1"]
    assert stored.tool_history == []
    assert (stored.total_prompt_tokens, stored.total_completion_tokens) == (10, 1)


def test_a_fork_of_every_message_carries_all_the_usage(
    manager: SessionManager, storage: SessionStorage
) -> None:
    parent = storage.load(conversation(manager).id)
    assert (parent.total_prompt_tokens, parent.total_completion_tokens) == (115, 26)

    for fork in (manager.fork(parent.id), manager.fork(parent.id, at=4)):
        stored = storage.load(fork.id)
        assert contents(stored) == ["q1", "a1", "q2", "a2"]
        assert [t.tool_name for t in stored.tool_history] == ["grep", "ls"]
        # The usage no message carries is the session's too: all of it comes along.
        assert (stored.total_prompt_tokens, stored.total_completion_tokens) == (115, 26)
        assert stored.metadata["forked_from"]["message_id"] == parent.messages[-1].id


def test_fork_before_a_message_and_at_zero(
    manager: SessionManager, storage: SessionStorage
) -> None:
    parent = storage.load(conversation(manager).id)

    before = storage.load(manager.fork(parent.id, before_message=parent.messages[3].id).id)
    assert contents(before) == ["q1", "a1", "q2"]
    assert before.metadata["forked_from"]["message_id"] == parent.messages[2].id

    empty = storage.load(manager.fork(parent.id, at=0, title="From scratch").id)
    assert (contents(empty), empty.title, empty.tool_history) == ([], "From scratch", [])
    assert (empty.total_prompt_tokens, empty.total_completion_tokens) == (0, 0)
    assert empty.metadata["forked_from"] == {"session_id": parent.id, "message_id": None}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"at": 5}, "--at must be between 0 and 4, got 5"),
        ({"at": -1}, "--at must be between 0 and 4, got -1"),
        ({"before_message": "msg_nope"}, "has no message 'msg_nope'"),
        ({"at": 1, "before_message": "msg_x"}, "not both"),
    ],
)
def test_a_cut_that_does_not_exist_is_refused_and_writes_nothing(
    manager: SessionManager, storage: SessionStorage, options: dict[str, Any], message: str
) -> None:
    parent = conversation(manager)
    with pytest.raises(InvalidSessionValueError, match=message):
        manager.fork(parent.id, **options)
    assert storage.session_ids() == {parent.id}


def test_a_fork_is_not_pinned_or_archived_and_changes_apart(
    manager: SessionManager, storage: SessionStorage
) -> None:
    parent = conversation(manager)
    manager.pin(parent.id)
    manager.archive(parent.id)

    fork = manager.fork(parent.id)
    manager.resume(fork.id)
    manager.add_message("user", "only in the fork")
    manager.close()

    stored = storage.load(fork.id)
    assert "pinned" not in stored.metadata and "archived_at" not in stored.metadata
    assert contents(stored)[-1] == "only in the fork"
    assert contents(storage.load(parent.id)) == ["q1", "a1", "q2", "a2"]
    summary = manager.index.get(fork.id)
    assert summary is not None and not summary.pinned and summary.archived_at is None


def test_fork_of_a_missing_session_is_not_found(manager: SessionManager) -> None:
    with pytest.raises(SessionNotFoundError):
        manager.fork("0b6c1b8e-5c6f-4f4e-9d53-1d2a5b7c9e01")


# -- archive and pin --------------------------------------------------------------------------


def test_archived_sessions_leave_listings_and_resume_picks_but_stay_searchable(
    manager: SessionManager, storage: SessionStorage
) -> None:
    older = manager.create(title="Older", working_dir="/proj")
    manager.add_message("user", "findable words")
    newer = manager.create(title="Newer", working_dir="/proj")
    manager.add_message("user", "findable words again")
    manager.close()

    archived = manager.archive(newer.id)

    assert isinstance(archived.metadata["archived_at"], str)
    assert [s.id for s in manager.list_sessions()] == [older.id]
    assert [s.id for s in manager.index.list(archived=True)] == [newer.id]
    assert {s.id for s in manager.index.list(archived=None)} == {older.id, newer.id}
    assert manager.resume_latest().id == older.id  # type: ignore[union-attr]
    manager.close()
    assert manager.resume_or_create(working_dir="/proj").id == older.id
    manager.close()
    assert [h.summary.id for h in manager.search("findable")] == [older.id]
    found = {h.summary.id for h in manager.search("findable", include_archived=True)}
    assert found == {older.id, newer.id}
    assert contents(storage.load(newer.id)) == ["findable words again"]  # nothing else changed

    manager.unarchive(newer.id)
    assert "archived_at" not in storage.load(newer.id).metadata
    assert [s.id for s in manager.list_sessions()] == [newer.id, older.id]


def test_pinned_sessions_come_first_and_cleanup_never_touches_them(
    manager: SessionManager, storage: SessionStorage
) -> None:
    now = utc_now()
    ids = []
    for days, metadata in ((90, {"pinned": True}), (60, {}), (50, {}), (1, {})):
        session = Session(
            title=f"{days} days",
            working_dir="/p",
            created_at=now - timedelta(days=days),
            updated_at=now - timedelta(days=days),
            metadata=metadata,
        )
        storage.save(session)
        ids.append(session.id)
    pinned, old, older_than_a_month, recent = ids
    manager.index.refresh()

    assert [s.id for s in manager.list_sessions()] == [pinned, recent, older_than_a_month, old]
    assert manager.index.get(pinned).pinned  # type: ignore[union-attr]
    plan = cleaning.plan_cleanup(storage, manager.index, 30, 0)
    assert [item.summary.id for item in plan.items] == [old, older_than_a_month]

    manager.pin(old)  # pinned after the plan was made (while the user read it)
    result = cleaning.carry_out(storage, manager.index, plan, to_trash=True)

    assert [item.summary.id for item in result.deleted] == [older_than_a_month]
    assert [item.summary.id for item in result.changed] == [old]
    assert storage.session_ids() == {pinned, old, recent}
    assert [e.id for e in manager.trash_bin.entries()] == [older_than_a_month]
    assert [s.id for s in manager.list_sessions()][:2] == [old, pinned]  # both first, by age

    manager.unpin(pinned)
    assert "pinned" not in storage.load(pinned).metadata
    assert [s.id for s in manager.list_sessions()] == [old, recent, pinned]


# -- the trash --------------------------------------------------------------------------------


def test_trash_moves_a_session_out_and_restore_brings_it_back_under_its_id(
    manager: SessionManager, storage: SessionStorage, data_dir: Path
) -> None:
    session = conversation(manager)
    bystander = manager.create(title="Bystander")
    manager.close()
    original = storage.load(session.id).to_dict()

    assert manager.trash(session.id) == "trashed"

    trash = data_dir / "trash"
    assert not storage.has_files(session.id)
    assert storage.session_ids() == {bystander.id}
    assert [s.id for s in manager.list_sessions()] == [bystander.id]
    assert stat.S_IMODE(trash.stat().st_mode) == 0o700
    names = sorted(p.name for p in trash.iterdir())
    assert names == [f"{session.id}.json", f"{session.id}.trashed"]
    for path in trash.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    (entry,) = manager.trash_bin.entries()
    assert (entry.id, entry.title, entry.message_count) == (session.id, "Parent", 4)
    assert entry.size_bytes == (trash / f"{session.id}.json").stat().st_size
    assert manager.trash(session.id) == "missing"  # nothing left to move

    restored = manager.restore(session.id)

    assert restored.id == session.id
    assert storage.load(session.id).to_dict() == original
    assert manager.trash_bin.entries() == []
    assert sorted(p.name for p in trash.iterdir()) == []
    assert {s.id for s in manager.list_sessions()} == {session.id, bystander.id}


def test_trash_folds_in_what_only_the_journal_holds(
    manager: SessionManager, storage: SessionStorage, data_dir: Path
) -> None:
    session = manager.create(title="Crashed writer")
    manager.add_message("user", "journaled only")
    assert storage.get_journal_path(session.id).stat().st_size > 0
    held = storage.load(session.id)
    manager._deactivate()  # as a crash leaves it: journal records, no final save

    assert manager.trash(session.id)

    trashed = parse_session_bytes(
        (data_dir / "trash" / f"{session.id}.json").read_bytes(), Path("trashed")
    )
    assert contents(trashed) == ["journaled only"] == contents(held)
    assert not storage.has_files(session.id)
    assert contents(manager.restore(session.id)) == ["journaled only"]
    assert contents(storage.load(session.id)) == ["journaled only"]


def test_trash_of_the_current_session_closes_it_first(
    manager: SessionManager, storage: SessionStorage
) -> None:
    session = manager.create(title="Current")
    manager.add_message("user", "hello")
    assert manager.trash(session.id)
    assert not manager.has_current
    assert [e.id for e in manager.trash_bin.entries()] == [session.id]
    assert contents(manager.restore(session.id)) == ["hello"]


def test_restore_over_a_taken_id_or_of_an_unknown_id_is_refused(
    manager: SessionManager, storage: SessionStorage
) -> None:
    session = manager.create(title="First life")
    manager.close()
    manager.trash(session.id)
    again = Session(id=session.id, title="Second life", working_dir="/p")
    storage.save(again)

    with pytest.raises(SessionExistsError, match=session.id):
        manager.restore(session.id)
    assert storage.load(session.id).title == "Second life"  # neither copy is lost
    assert [e.id for e in manager.trash_bin.entries()] == [session.id]

    with pytest.raises(SessionNotFoundError):
        manager.restore("0b6c1b8e-5c6f-4f4e-9d53-1d2a5b7c9e01")


def _age_in_trash(data_dir: Path, session_id: str, days: float) -> None:
    """Rewrite the trash record as if the session had been trashed ``days`` ago."""
    record_path = data_dir / "trash" / f"{session_id}.trashed"
    record = orjson.loads(record_path.read_bytes())
    record["trashed_at"] = format_timestamp(utc_now() - timedelta(days=days))
    record_path.write_bytes(orjson.dumps(record))


def test_empty_removes_only_what_is_old_enough_and_cleanup_never_empties(
    manager: SessionManager, storage: SessionStorage, data_dir: Path
) -> None:
    ids = []
    for title in ("long gone", "just gone"):
        ids.append(manager.create(title=title).id)
    manager.close()
    for session_id in ids:
        manager.trash(session_id)
    _age_in_trash(data_dir, ids[0], 40)

    assert [e.id for e in manager.trash_bin.entries()] == [ids[1], ids[0]]  # newest first
    plan = cleaning.plan_cleanup(storage, manager.index, 0, 0)
    cleaning.carry_out(storage, manager.index, plan, to_trash=True)
    assert len(manager.trash_bin.entries()) == 2

    removed = manager.trash_bin.empty(30)
    assert [e.id for e in removed] == [ids[0]]
    assert [e.id for e in manager.trash_bin.entries()] == [ids[1]]
    with pytest.raises(InvalidSessionValueError):
        manager.trash_bin.empty(float("nan"))
    assert [e.id for e in manager.trash_bin.empty()] == [ids[1]]
    assert list((data_dir / "trash").iterdir()) == []


# -- held by another process ------------------------------------------------------------------


class Holder:
    """``hold_session.py``: another process with the session open; says ``ready <pid>``."""

    def __init__(self, storage: SessionStorage, session_id: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(WORKERS / "hold_session.py"),
                str(storage.storage_dir),
                session_id,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ready(self) -> int:
        assert self.proc.stdout is not None
        line = _readline_within(self.proc, TIMEOUT)
        word, _, pid = line.partition(" ")
        assert word == "ready", line
        return int(pid)

    def finish(self) -> None:
        _, err = self.proc.communicate("\n", timeout=TIMEOUT)
        assert self.proc.returncode == 0, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=TIMEOUT)


def _readline_within(proc: subprocess.Popen[str], timeout: float) -> str:
    """One stdout line of ``proc``, failing the test after ``timeout`` seconds."""
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            proc.kill()
            pytest.fail(f"{proc.args!r} said nothing for {timeout}s")
    line = proc.stdout.readline()
    if not line:
        pytest.fail(f"{proc.args!r} ended early: {proc.communicate(timeout=TIMEOUT)[1]}")
    return line.rstrip("\n")


def test_a_session_open_in_another_process_is_neither_trashed_archived_nor_pinned(
    manager: SessionManager, storage: SessionStorage
) -> None:
    session = conversation(manager)
    Trash(storage).put(storage, session.id, session.title, session.message_count)  # both places
    holder = Holder(storage, session.id)
    try:
        pid = holder.ready()
        before = file_hashes(storage, session.id)
        for change in (manager.trash, manager.delete, manager.archive, manager.pin):
            with pytest.raises(SessionLockedError) as caught:
                change(session.id)
            assert caught.value.pid == pid, change
            assert f"(pid {pid})" in str(caught.value)
        with pytest.raises(SessionLockedError, match=f"pid {pid}"):
            manager.restore(session.id)
        assert file_hashes(storage, session.id) == before
        holder.finish()
    finally:
        holder.kill()
    manager.archive(session.id)  # let go of: allowed again
    assert "archived_at" in storage.load(session.id).metadata


# -- folder-sync conflict copies --------------------------------------------------------------

CONFLICT_NAMES: Final = {
    "syncthing": "{id}.sync-conflict-20240115-103000-ABCDEFG.json",
    "dropbox": "{id} (conflicted copy 2024-01-15).json",
    "icloud": "{id} 2.json",
}


def _diverged(manager: SessionManager, storage: SessionStorage, name: str) -> tuple[str, Path]:
    """A session changed on two machines: ours and the sync tool's copy of theirs."""
    session = manager.create(title="Shared", working_dir="/p")
    manager.add_message("user", "common 1")
    manager.add_message("assistant", "common 2")
    manager.close()
    theirs = storage.load(session.id)
    theirs.add_message(SessionMessage(role="user", content="theirs"))
    copy = storage.storage_dir / name.format(id=session.id)
    copy.write_bytes(orjson.dumps(theirs.to_dict()))
    manager.resume(session.id)
    manager.add_message("user", "mine")
    manager.close()
    return session.id, copy


@pytest.mark.parametrize("tool", sorted(CONFLICT_NAMES))
def test_resolve_keeps_the_local_copy_and_imports_the_other_as_a_fork(
    manager: SessionManager, storage: SessionStorage, data_dir: Path, tool: str
) -> None:
    session_id, copy = _diverged(manager, storage, CONFLICT_NAMES[tool])
    copy_bytes = copy.read_bytes()
    ours = storage.load(session_id)
    manager.index.refresh()
    summary = manager.index.get(session_id)
    assert summary is not None and summary.conflicts == [copy.name]
    assert storage.session_ids() == {session_id}  # the copy is not a session of its own
    before = file_hashes(storage, session_id)

    (fork,) = manager.resolve_conflicts(session_id)

    assert file_hashes(storage, session_id) == before  # the local copy stays as it was
    stored = storage.load(fork.id)
    assert contents(stored) == ["common 1", "common 2", "theirs"]
    assert stored.metadata["forked_from"]["session_id"] == session_id
    assert stored.metadata["forked_from"]["message_id"] == ours.messages[1].id
    assert not copy.exists()
    kept = data_dir / "trash" / "conflicts" / copy.name
    assert kept.read_bytes() == copy_bytes  # moved, nothing deleted
    assert storage.session_ids() == {session_id, fork.id}
    summary = manager.index.get(session_id)
    assert summary is not None and summary.conflicts == []
    assert manager.resolve_conflicts(session_id) == []


# -- crashes: kill -9 at every step -----------------------------------------------------------


class TwoFolderShim(faults.OsShim):  # type: ignore[misc,name-defined]
    """``faults.OsShim`` counting the calls aimed at the sessions folder and the trash folder
    (trashing and restoring work in both); roles read ``sessions/json``, ``trash/json``.

    Only crashes are injected: the power-cut model knows a single folder, so it is left out.
    """

    def __init__(self, folders: list[Path], fault: Any) -> None:
        super().__init__(folders[0], fault)
        self.folders = tuple(os.path.realpath(f) for f in folders)

    def install(self) -> None:
        super().install()
        self.power_cut = None

    def _inside(self, path: Any, dir_fd: int | None = None) -> str | None:
        if isinstance(path, int):
            found: str | None = self._fds.get(path)
            return found
        text = os.fsdecode(os.fspath(path))
        if dir_fd is not None and not os.path.isabs(text):
            base = self._fds.get(dir_fd)
            if base is None:
                return None
            text = os.path.join(base, text)
        full = os.path.abspath(text)
        if full in self.folders:
            return full
        parent = os.path.realpath(os.path.dirname(full))
        return os.path.join(parent, os.path.basename(full)) if parent in self.folders else None

    def _role(self, path: str) -> str:
        folder = path if path in self.folders else os.path.dirname(path)
        return f"{os.path.basename(folder)}/{faults.file_role(path, folder)}"


@dataclass(frozen=True)
class Store:
    """A data folder to copy for each case: a bystander and the target session."""

    root: Path
    target: str
    bystander: str
    view: tuple[Any, ...]


def view(session: Session) -> tuple[Any, ...]:
    """What a user would miss of a session (archiving aside)."""
    return (
        session.title,
        tuple(session.tags),
        tuple((m.id, m.content) for m in session.messages),
        tuple(t.tool_name for t in session.tool_history),
        (session.total_prompt_tokens, session.total_completion_tokens),
    )


def build_store(root: Path, kind: str) -> Store:
    """``closed``: the target closed normally; ``crashed``: its writer died with records in
    the journal; ``trashed``: the target is in the trash."""
    with faults.no_sync():
        storage = SessionStorage(root / "sessions")
        manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
        bystander = manager.create(title="bystander", working_dir="/w")
        manager.add_message("user", "bystander message")
        target = manager.create(title="target", working_dir="/w", tags=["t1"])
        manager.add_message("user", "m1")
        manager.add_message("assistant", "m2", metadata=usage(3, 4))
        manager.record_tool_call("grep", {"q": "x"}, "found")
        manager.update_usage(3, 4)
        if kind == "crashed":
            manager.save()
            manager.add_message("user", "j1")
            manager.add_message("assistant", "j2")
            manager._deactivate()  # the journal keeps two records no snapshot has
            assert storage.get_journal_path(target.id).stat().st_size > 0
        manager.close()
        whole = view(storage.load(target.id))
        if kind == "trashed":
            manager.trash(target.id)
            assert trashed_view(root, target.id) == whole
        manager.index.close()
    return Store(root, target.id, bystander.id, whole)


Step = Callable[[SessionManager, str], object]

OPERATIONS: Final[dict[str, tuple[str, Step]]] = {
    "trash": ("closed", lambda m, sid: m.trash(sid)),
    "trash_after_crash": ("crashed", lambda m, sid: m.trash(sid)),
    "restore": ("trashed", lambda m, sid: m.restore(sid)),
    "archive": ("closed", lambda m, sid: m.archive(sid)),
    "archive_after_crash": ("crashed", lambda m, sid: m.archive(sid)),
    "fork": ("closed", lambda m, sid: m.fork(sid, at=2)),
}


def run_child(store_root: Path, op: str, target: str, fault: Any) -> Any:
    """Run ``op`` on the store in a forked child, under the shim (``fault``: where to die)."""
    _, step = OPERATIONS[op]

    def body(send: Any) -> None:
        storage = SessionStorage(store_root / "sessions")
        manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
        shim = TwoFolderShim([store_root / "sessions", store_root / "trash"], fault)
        shim.on_crash = lambda k, call: send({"event": "crash", "k": k, "call": str(call)})
        with faults.no_sync(), shim:
            step(manager, target)
        send({"event": "done", "calls": [str(c) for c in shim.calls]})

    return faults.run_forked(body)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = faults.fast_temp_root() or str(tmp_path_factory.mktemp("lifecycle-faults"))
    with tempfile.TemporaryDirectory(prefix="opencode-lifecycle-", dir=root) as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def stores(scratch: Path) -> dict[str, Store]:
    return {kind: build_store(scratch / kind, kind) for kind in ("closed", "crashed", "trashed")}


def fresh_copy(store: Store, where: Path) -> Path:
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(store.root, where, copy_function=shutil.copyfile)
    return where


def trashed_view(root: Path, session_id: str) -> tuple[Any, ...] | None:
    """The trash's copy of the session (failing the test if it does not parse)."""
    path = root / "trash" / f"{session_id}.json"
    if not path.exists():
        return None
    try:
        return view(parse_session_bytes(path.read_bytes(), path))
    except SessionStorageError as exc:
        pytest.fail(f"the trash holds a corrupted copy: {exc}")


def stored_view(storage: SessionStorage, session_id: str) -> tuple[Any, ...] | None:
    try:
        found = storage.load_or_none(session_id)
    except SessionStorageError as exc:
        pytest.fail(f"the session is corrupted: {exc}")
    return None if found is None else view(found)


def check_after_crash(op: str, store: Store, root: Path, where: str) -> None:
    """The session is in one place or both, whole, and the store works on."""
    storage = SessionStorage(root / "sessions")
    manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    try:
        here = stored_view(storage, store.target)
        there = trashed_view(root, store.target)
        assert here is not None or there is not None, f"in neither place\n{where}"
        for found in (here, there):
            assert found in (None, store.view), f"{found} is not {store.view}\n{where}"
        assert stored_view(storage, store.bystander) is not None, where
        manager.index.refresh()
        listed = {s.id for s in manager.index.list(archived=None)}
        assert listed == storage.session_ids(), f"index lists {listed}\n{where}"
        entries = {e.id for e in manager.trash_bin.entries()}
        assert entries == ({store.target} if there is not None else set()), where
        if op.startswith("trash") or op == "restore":
            _finish_the_move(manager, storage, store, here, where)
        elif op.startswith("archive"):
            assert here == store.view, where
            archived = storage.load(store.target).metadata.get("archived_at")
            assert archived is None or isinstance(archived, str), where
            manager.archive(store.target)  # and the store works on
            assert view(storage.load(store.target)) == store.view, where
            assert manager.index.list(archived=True)[0].id == store.target, where
        else:
            _check_fork(manager, storage, store, where)
    finally:
        manager.close()
        manager.index.close()


def _finish_the_move(
    manager: SessionManager,
    storage: SessionStorage,
    store: Store,
    here: tuple[Any, ...] | None,
    where: str,
) -> None:
    """Whatever the crash left, trashing and restoring again end with the whole session."""
    if here is not None:
        manager.trash(store.target)
    assert not storage.exists(store.target), where
    assert trashed_view(storage.storage_dir.parent, store.target) == store.view, where
    restored = manager.restore(store.target)
    assert view(restored) == store.view, where
    assert view(storage.load(store.target)) == store.view, where
    manager.resume(store.target)
    manager.add_message("user", "after")
    manager.close()
    assert [m.content for m in storage.load(store.target).messages][-1] == "after", where


def _check_fork(manager: SessionManager, storage: SessionStorage, store: Store, where: str) -> None:
    forks = storage.session_ids() - {store.target, store.bystander}
    assert len(forks) <= 1, f"{forks}\n{where}"
    for fork_id in forks:
        fork = storage.load(fork_id)
        assert [m.content for m in fork.messages] == ["m1", "m2"], where
        assert fork.metadata["forked_from"]["session_id"] == store.target, where


@pytest.mark.parametrize("op", sorted(OPERATIONS))
@pytest.mark.parametrize("mode", ["before", "after"])
def test_a_kill_at_any_step_leaves_the_session_whole(
    op: str, mode: str, stores: dict[str, Store], scratch: Path
) -> None:
    kind, _ = OPERATIONS[op]
    store = stores[kind]
    counting = fresh_copy(store, scratch / f"count-{op}-{mode}")
    counted = run_child(counting, op, store.target, None)
    done = counted.note("done")
    assert counted.finished and done is not None, counted.describe()
    calls = done["calls"]
    assert calls, "the harness saw no file-changing call"
    originals = file_hashes(SessionStorage(counting / "sessions"), store.target)
    if op == "fork":  # the original is only read: byte for byte the same
        fresh = fresh_copy(store, scratch / f"pristine-{op}-{mode}")
        assert originals == file_hashes(SessionStorage(fresh / "sessions"), store.target)
    for k, call in enumerate(calls, start=1):
        case = fresh_copy(store, scratch / f"case-{op}-{mode}")
        before = file_hashes(SessionStorage(case / "sessions"), store.target)
        result = run_child(case, op, store.target, faults.Fault(k, f"crash-{mode}"))
        where = f"{op}: killed {mode} call {k} of {len(calls)}, {call}\n{result.describe()}"
        assert result.killed, where
        crash = result.note("crash")
        assert crash is not None and crash["call"] == call, where
        if op == "fork":
            assert file_hashes(SessionStorage(case / "sessions"), store.target) == before, where
        with faults.no_sync():
            check_after_crash(op, store, case, where)


def test_the_two_folder_shim_sees_both_folders_of_a_move(
    stores: dict[str, Store], scratch: Path
) -> None:
    """A check on the harness: trashing touches both folders, restoring too."""
    for op, folders in (("trash", {"sessions", "trash"}), ("restore", {"sessions", "trash"})):
        store = stores[OPERATIONS[op][0]]
        result = run_child(fresh_copy(store, scratch / f"shim-{op}"), op, store.target, None)
        done = result.note("done")
        assert done is not None, result.describe()
        assert {call.split("(")[1].split("/")[0] for call in done["calls"]} >= folders, done
        assert any(c.startswith("link(") or c.startswith("replace(") for c in done["calls"])


@pytest.mark.parametrize(
    ("op", "step"),
    [
        ("trash", "replace(trash/json.link->trash/json)"),
        ("restore", "link(trash/json->sessions/json)"),
    ],
)
def test_an_emptied_trash_keeps_no_copy_after_a_crash_left_the_session_in_both_places(
    op: str, step: str, stores: dict[str, Store], scratch: Path
) -> None:
    store = stores[OPERATIONS[op][0]]
    counted = run_child(fresh_copy(store, scratch / f"count-both-{op}"), op, store.target, None)
    calls = counted.note("done")["calls"]
    case = fresh_copy(store, scratch / f"both-{op}")
    result = run_child(case, op, store.target, faults.Fault(calls.index(step) + 1, "crash-after"))
    assert result.killed, result.describe()
    storage = SessionStorage(case / "sessions")
    assert storage.exists(store.target) and trashed_view(case, store.target) == store.view
    manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    try:
        assert manager.trash(store.target)  # the user deletes it again
        assert [e.id for e in manager.trash_bin.empty()] == [store.target]
    finally:
        manager.close()
        manager.index.close()
    left = [p.name for p in (case / "trash").rglob("*") if store.target in p.name]
    assert left == [], f"the session's text survives emptying the trash in {left}"
