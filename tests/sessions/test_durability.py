"""Durability of session files: atomic saves, corrupt input, unsafe ids, full disks, the
journal, permissions, the index as a cache, and auto-save.

Everything runs on real files under ``tmp_path``; faults are injected only where the real
thing (a full disk) cannot be produced cheaply, and then at the lowest level the library
calls (``fsutil.write_all``, ``os.fsync``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from opencode import fsutil
from opencode.sessions import (
    InvalidSessionIdError,
    Session,
    SessionCorruptedError,
    SessionIndex,
    SessionManager,
    SessionMessage,
    SessionNotFoundError,
    SessionStorage,
    SessionStorageError,
    SessionVersionError,
)

WORKERS = Path(__file__).parent / "_workers"
SPEC_SESSION_KEYS = {
    "id",
    "title",
    "created_at",
    "updated_at",
    "working_dir",
    "model",
    "messages",
    "tool_history",
    "total_prompt_tokens",
    "total_completion_tokens",
    "tags",
    "metadata",
}


@pytest.fixture
def storage(data_dir: Path) -> SessionStorage:
    return SessionStorage(data_dir / "sessions")


def new_manager(storage: SessionStorage, **options: Any) -> SessionManager:
    options.setdefault("auto_save_interval", 0)
    return SessionManager(storage, fire_shell_hooks=False, **options)


def session_with(count: int, **fields: Any) -> Session:
    session = Session(title=fields.pop("title", "t"), working_dir="/w", **fields)
    for i in range(count):
        session.add_message(SessionMessage(role="user", content=f"m{i}"))
    return session


def raw_snapshot(storage: SessionStorage, session_id: str) -> dict[str, Any]:
    """The snapshot file as JSON, without replaying the journal."""
    return json.loads(storage.get_path(session_id).read_bytes())


def contents(session: Session) -> list[str]:
    return [m.content for m in session.messages]


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def tree_state(root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every path under ``root`` with its bytes (None for folders) and inode."""
    state: dict[str, tuple[bytes | None, int]] = {}
    for path in sorted(root.rglob("*")):
        data = path.read_bytes() if path.is_file() else None
        state[str(path.relative_to(root))] = (data, path.stat().st_ino)
    return state


# -- 1. atomic save ---------------------------------------------------------------------------


class RecordingOs:
    """The real ``os`` module as ``fsutil`` sees it, recording the calls of a save in order."""

    def __init__(self, events: list[tuple[Any, ...]]) -> None:
        self._events = events

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def fsync(self, fd: int) -> None:
        info = os.fstat(fd)
        kind = "folder" if stat.S_ISDIR(info.st_mode) else "file"
        self._events.append(("fsync", kind, info.st_ino))
        os.fsync(fd)

    def link(self, src: Any, dst: Any, **kwargs: Any) -> None:
        self._events.append(("link", Path(src).name, Path(dst).name))
        os.link(src, dst, **kwargs)

    def replace(self, src: Any, dst: Any) -> None:
        self._events.append(("replace", Path(src).name, Path(dst).name))
        os.replace(src, dst)


def test_save_writes_a_synced_temp_file_in_the_folder_renames_it_and_syncs_the_folder(
    storage: SessionStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = session_with(1)
    storage.save(session)
    folder = storage.storage_dir
    path = storage.get_path(session.id)
    old_inode = path.stat().st_ino

    events: list[tuple[Any, ...]] = []
    real_create = fsutil.create_temp_file

    def recording_create(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = real_create(*args, **kwargs)
        events.append(("mkstemp", Path(name).parent, Path(name).name, os.fstat(fd).st_ino))
        return fd, name

    monkeypatch.setattr(fsutil, "create_temp_file", recording_create)
    monkeypatch.setattr(fsutil, "os", RecordingOs(events))
    session.add_message(SessionMessage(role="assistant", content="second version"))
    storage.save(session)
    monkeypatch.undo()

    kinds = [event[0] for event in events]
    assert kinds[0] == "mkstemp"
    _, temp_folder, temp_name, temp_inode = events[0]
    assert temp_folder == folder  # same folder, so the rename cannot cross file systems
    new_inode = path.stat().st_ino
    assert new_inode == temp_inode != old_inode  # the temp file itself became the session file

    synced_temp = events.index(("fsync", "file", temp_inode))
    renamed = events.index(("replace", temp_name, path.name))
    synced_folder = events.index(("fsync", "folder", folder.stat().st_ino))
    assert synced_temp < renamed < synced_folder
    # the old version was linked aside before the rename replaced it
    linked = next(i for i, e in enumerate(events) if e[0] == "link" and e[1] == path.name)
    assert linked < renamed
    assert contents(storage.load(session.id)) == ["m0", "second version"]
    assert temp_files(folder) == []


def test_previous_version_becomes_the_backup_as_a_hard_link(storage: SessionStorage) -> None:
    session = session_with(1)
    storage.save(session)
    path, backup = storage.get_path(session.id), storage.get_backup_path(session.id)
    assert not backup.exists()  # first save: nothing to back up

    for version in range(2, 5):
        before = path.stat()
        old_bytes = path.read_bytes()
        session.add_message(SessionMessage(role="user", content=f"m{version - 1}"))
        storage.save(session)
        kept = backup.stat()
        assert kept.st_ino == before.st_ino  # the very inode, not a copy
        assert kept.st_nlink == 1  # its old name now points at the new version
        assert path.stat().st_ino != before.st_ino
        assert backup.read_bytes() == old_bytes
        assert storage.load(session.id).message_count == version
    assert temp_files(storage.storage_dir) == []
    assert not list(storage.storage_dir.glob(".*.link"))


# -- 3. load errors ---------------------------------------------------------------------------


def valid_document() -> dict[str, Any]:
    session = session_with(2, title="fine")
    session.record_tool_call("bash", {"command": "ls"}, result={"ok": True})
    session.update_usage(3, 4)
    data = session.to_dict()
    data["id"] = "broken"
    return data


def changed(**changes: Any) -> bytes:
    data = valid_document()
    for dotted, value in changes.items():
        target: Any = data
        *parents, last = dotted.split("__")
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return json.dumps(data).encode()


DELETE = object()

CORRUPT_FILES = {
    "empty": (b"", "empty"),
    "whitespace only": (b" \n\t\n", "empty"),
    "garbage bytes": (b"\x00\xff\xfe garbage \x9c", "not valid JSON"),
    "truncated": (json.dumps(valid_document()).encode()[:150], "not valid JSON"),
    "invalid utf-8 in a string": (b'{"id": "broken", "title": "\xff\xfe"}', "not valid JSON"),
    "deeply nested": (b"[" * 5000 + b"]" * 5000, "JSON"),
    "a list": (b"[]", "object"),
    "a string": (b'"session"', "object"),
    "null": (b"null", "object"),
    "a number": (b"42", "object"),
    "messages not a list": (changed(messages={"0": "x"}), "messages"),
    "message not an object": (changed(messages=["hello"]), "messages[0]"),
    "message without role": (changed(messages__0__role=DELETE), "role"),
    "message role a number": (changed(messages__0__role=7), "role"),
    "message content an object": (changed(messages__1__content={"a": 1}), "content"),
    "message tool_calls not a list": (changed(messages__0__tool_calls="x"), "tool_calls"),
    "no id": (changed(id=DELETE), "'id'"),
    "id a number": (changed(id=12), "'id'"),
    "id unsafe": (changed(id="../x"), "'id'"),
    "id of another session": (changed(id="other"), "other"),
    "title a number": (changed(title=5), "title"),
    "tags a string": (changed(tags="a,b"), "tags"),
    "tag a number": (changed(tags=["a", 1]), "tags[1]"),
    "metadata a list": (changed(metadata=[1]), "metadata"),
    "tool_history an object": (changed(tool_history={"0": {"tool_name": "x"}}), "tool_history"),
    "tool without name": (changed(tool_history__0__tool_name=DELETE), "tool_name"),
    "tool duration a string": (changed(tool_history__0__duration="fast"), "duration"),
    "no created_at": (changed(created_at=DELETE), "created_at"),
    "created_at a number": (changed(created_at=1700000000), "created_at"),
    "created_at not a date": (changed(created_at="yesterday"), "created_at"),
    "updated_at month 13": (changed(updated_at="2024-13-01T00:00:00+00:00"), "updated_at"),
    "created_at past 9999 in UTC": (changed(created_at="9999-12-31T23:59:59-01:00"), "created_at"),
    "updated_at before 1 in UTC": (changed(updated_at="0001-01-01T00:00:00+01:00"), "updated_at"),
    "message timestamp not a date": (changed(messages__1__timestamp="noon"), "timestamp"),
    "token count a numeric string": (changed(total_prompt_tokens="12"), "total_prompt_tokens"),
    "token count a float": (changed(total_completion_tokens=1.5), "total_completion_tokens"),
    "token count negative": (changed(total_prompt_tokens=-3), "total_prompt_tokens"),
    "token count a boolean": (changed(total_prompt_tokens=True), "total_prompt_tokens"),
    "journal_seq a string": (changed(journal_seq="4"), "journal_seq"),
    "version a string": (changed(version="1"), "version"),
}


@pytest.mark.parametrize("content, problem", CORRUPT_FILES.values(), ids=list(CORRUPT_FILES))
def test_corrupt_session_file_raises_corrupted_naming_file_and_problem(
    storage: SessionStorage, content: bytes, problem: str
) -> None:
    storage.ensure_dir()
    path = storage.get_path("broken")
    path.write_bytes(content)
    with pytest.raises(SessionCorruptedError) as caught:
        storage.load("broken")
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)


def test_newer_format_version_is_refused_not_misread(storage: SessionStorage) -> None:
    storage.ensure_dir()
    storage.get_path("broken").write_bytes(changed(version=99))
    with pytest.raises(SessionVersionError, match="newer"):
        storage.load("broken")


def test_missing_session_is_not_found(storage: SessionStorage) -> None:
    with pytest.raises(SessionNotFoundError, match="nope"):
        storage.load("nope")
    storage.save(session_with(0))
    with pytest.raises(SessionNotFoundError):
        storage.load("nope")  # a folder that exists does not change the answer
    with pytest.raises(SessionNotFoundError):
        new_manager(storage).resume("nope")
    assert not list(storage.storage_dir.glob("nope*"))  # the attempt left no lock behind


def test_a_corrupt_file_does_not_leave_the_session_locked(storage: SessionStorage) -> None:
    session = session_with(1)
    storage.save(session)
    good = storage.get_path(session.id).read_bytes()
    storage.get_path(session.id).write_bytes(b"{")
    manager = new_manager(storage)
    with pytest.raises(SessionCorruptedError):
        manager.resume(session.id)
    assert not manager.has_current
    storage.get_path(session.id).write_bytes(good)
    assert manager.resume(session.id).message_count == 1
    manager.close()


# -- 4. unsafe ids ----------------------------------------------------------------------------

UNSAFE_IDS = [
    "../x",
    "../victim",
    "a/b",
    "sessions/../../victim",
    "..",
    "a\x00b",
    "victim\x00",
    "",
    ".hidden",
    "a" * 200,
    "index",
    "Index",
    "/etc/passwd",
    "a\nb",
]


def id_operations(
    storage: SessionStorage, manager: SessionManager
) -> dict[str, Callable[[str], object]]:
    return {
        "get_path": storage.get_path,
        "get_backup_path": storage.get_backup_path,
        "load": storage.load,
        "load_or_none": storage.load_or_none,
        "save": lambda sid: storage.save(Session(id=sid, title="evil")),
        "delete": storage.delete,
        "exists": storage.exists,
        "recover_from_backup": storage.recover_from_backup,
        "manager.resume": manager.resume,
        "manager.delete": manager.delete,
        "manager.get_session": manager.get_session,
        "manager.update_session": lambda sid: manager.update_session(sid, title="evil"),
    }


@pytest.mark.parametrize("bad_id", UNSAFE_IDS, ids=repr)
def test_unsafe_id_is_refused_before_the_file_system_is_touched(
    data_dir: Path, bad_id: str
) -> None:
    data_dir.mkdir()
    for name in ("victim.json", "victim.backup", "victim.jsonl", "x.json", "index.json"):
        (data_dir / name).write_text(json.dumps(Session(id="victim").to_dict()))
    before = tree_state(data_dir)
    storage = SessionStorage(data_dir / "sessions")  # does not exist yet
    manager = new_manager(storage)
    for name, operation in id_operations(storage, manager).items():
        with pytest.raises(InvalidSessionIdError, match="invalid session id"):
            operation(bad_id)
        assert not storage.storage_dir.exists(), name  # not even the folder was created
    assert tree_state(data_dir) == before


@pytest.mark.parametrize("bad_id", ["../victim", "sessions/../../victim", "index", "INDEX"])
def test_unsafe_ids_cannot_reach_files_next_to_or_inside_the_folder(
    storage: SessionStorage, data_dir: Path, bad_id: str
) -> None:
    manager = new_manager(storage)
    manager.create(title="real")
    manager.add_message("user", "keep me")
    manager.close()
    assert storage.index_path.exists()
    for suffix in (".json", ".backup", ".jsonl", ".lock", ".owner"):
        (data_dir / f"victim{suffix}").write_text(json.dumps(Session(id="victim").to_dict()))
    before = tree_state(data_dir)
    for name, operation in id_operations(storage, manager).items():
        with pytest.raises(InvalidSessionIdError):
            operation(bad_id)
        assert tree_state(data_dir) == before, name


# -- 6. the index is a cache ------------------------------------------------------------------


def write_sessions(storage: SessionStorage, *titles: str) -> list[Session]:
    sessions = [session_with(i + 1, title=title) for i, title in enumerate(titles)]
    for session in sessions:
        storage.save(session)
    return sessions


def listed(manager: SessionManager) -> dict[str, tuple[str, int]]:
    return {s.id: (s.title, s.message_count) for s in manager.list_sessions()}


def index_rows(storage: SessionStorage) -> dict[str, dict[str, Any]]:
    """The index database's rows as the writers left them, read with plain SQLite: no
    reconcile runs, so nothing can paper over an update that never happened."""
    uri = storage.index_path.absolute().as_uri() + "?mode=rw"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        db.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in db.execute("SELECT * FROM sessions")}


def index_schema_version(storage: SessionStorage) -> int:
    uri = storage.index_path.absolute().as_uri() + "?mode=rw"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def tamper_with_index(storage: SessionStorage, *statements: str) -> None:
    """Change the index behind the library's back, as another program could."""
    with contextlib.closing(sqlite3.connect(storage.index_path, isolation_level=None)) as db:
        for statement in statements:
            db.execute(statement)


def sqlite_database(path: Path, user_version: int) -> bytes:
    """A small SQLite file made by someone else (say a newer opencode); returns its bytes."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("CREATE TABLE future (shape TEXT)")
        db.execute("INSERT INTO future VALUES ('unknown')")
        db.execute(f"PRAGMA user_version = {user_version}")
    return path.read_bytes()


GARBAGE = b"\x00\x9f\xff\xfe garbage \x00" * 64


def place_index_file(storage: SessionStorage, content: bytes) -> None:
    """Put ``content`` where the index file goes (``<sessions>/.index/index-v1.db``)."""
    storage.index_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    storage.index_path.write_bytes(content)


def newer_index_path(storage: SessionStorage) -> Path:
    """Where a newer opencode keeps its own index: next to ours, under its own name."""
    storage.index_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return storage.index_path.with_name("index-v2.db")


@pytest.mark.parametrize(
    "damage, complaint",
    [
        (None, None),
        ("garbage", "rebuilding"),
        ("version 0", "schema version 0"),
        ("index.json", None),
    ],
    ids=["missing", "garbage", "version 0", "old index.json"],
)
def test_lost_or_unusable_index_is_rebuilt_from_the_files(
    storage: SessionStorage,
    damage: str | None,
    complaint: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sessions = write_sessions(storage, "one", "two", "three")
    if damage == "garbage":
        place_index_file(storage, GARBAGE)
    elif damage == "version 0":
        # a complete index that claims another schema, with a row the files contradict
        # (kept as it is, it would be trusted: its files did not change)
        index = SessionIndex(storage)
        assert index.count() == 3
        index.close()
        tamper_with_index(
            storage,
            "UPDATE sessions SET title = 'stale', message_count = 99"
            f" WHERE id = '{sessions[0].id}'",
            "PRAGMA user_version = 0",
        )
    elif damage == "index.json":
        old = {"version": 0, "sessions": {"ghost": {"title": "from the old index"}}}
        (storage.storage_dir / "index.json").write_text(json.dumps(old))
    manager = new_manager(storage)
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        assert listed(manager) == {s.id: (s.title, s.message_count) for s in sessions}
    if complaint is not None:
        assert complaint in caplog.text
    assert index_schema_version(storage) == 1
    rows = index_rows(storage)
    assert {sid: (r["title"], r["message_count"]) for sid, r in rows.items()} == {
        s.id: (s.title, s.message_count) for s in sessions
    }
    assert not (storage.storage_dir / "index.json").exists()


def test_the_rebuild_warning_names_the_index_file(
    storage: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    write_sessions(storage, "one")
    place_index_file(storage, GARBAGE)
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        assert SessionIndex(storage).count() == 1
    (warning,) = [r.getMessage() for r in caplog.records if "rebuilding" in r.getMessage()]
    assert str(storage.index_path) in warning


def test_index_from_a_newer_version_is_listed_from_files_and_never_overwritten(
    storage: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    """A newer opencode keeps its index in a file of its own name (``.index/index-v2.db``):
    this version lists from the session files into its own index and never opens, rewrites
    or removes the newer one."""
    sessions = write_sessions(storage, "one", "two")
    newer = newer_index_path(storage)
    newer_bytes = sqlite_database(newer, user_version=2)
    newer_wal = newer.with_name("index-v2.db-wal")
    newer_wal.write_bytes(b"a newer version's write-ahead log")
    manager = new_manager(storage)
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        assert set(listed(manager)) == {s.id for s in sessions}
    assert "rebuilding" not in caplog.text  # ours was simply missing, nothing was unusable

    # every kind of write that updates an index leaves the newer one alone
    created = manager.create(title="three")
    manager.add_message("user", "hi")
    manager.set_title("three, renamed")
    manager.add_tag("x")
    manager.close()
    manager.update_session(sessions[0].id, title="one, renamed")
    manager.delete(sessions[1].id)
    storage.cleanup_old_sessions(max_age_days=0, keep_minimum=5)
    SessionIndex(storage).rebuild()
    assert newer.read_bytes() == newer_bytes
    assert newer_wal.read_bytes() == b"a newer version's write-ahead log"

    assert listed(manager) == {
        sessions[0].id: ("one, renamed", 1),
        created.id: ("three, renamed", 1),
    }
    assert {s.id for s in SessionIndex(storage).list()} == {sessions[0].id, created.id}
    assert set(index_rows(storage)) == {sessions[0].id, created.id}
    assert newer.read_bytes() == newer_bytes


def test_index_upgraded_by_a_newer_version_meanwhile_is_not_overwritten(
    storage: SessionStorage,
) -> None:
    """Two terminals: ours has its index open, then a newer opencode builds its own."""
    manager = new_manager(storage)
    session = manager.create(title="before the upgrade")
    assert index_schema_version(storage) == 1
    newer = newer_index_path(storage)
    newer_bytes = sqlite_database(newer, user_version=2)
    manager.set_title("after the upgrade")
    manager.add_message("user", "still recorded")
    manager.add_tag("late")
    manager.close()
    assert newer.read_bytes() == newer_bytes
    assert storage.load(session.id).title == "after the upgrade"
    row = index_rows(storage)[session.id]
    assert (row["title"], row["message_count"]) == ("after the upgrade", 1)
    assert json.loads(row["tags"]) == ["late"]


def test_session_files_added_or_removed_by_hand_show_up_in_listings(
    storage: SessionStorage, tmp_path: Path
) -> None:
    kept, removed = write_sessions(storage, "kept", "removed")
    manager = new_manager(storage)
    assert set(listed(manager)) == {kept.id, removed.id}  # the index now exists and is used
    assert set(index_rows(storage)) == {kept.id, removed.id}

    elsewhere = SessionStorage(tmp_path / "elsewhere")
    (arrived,) = write_sessions(elsewhere, "copied in")
    arrived.add_message(SessionMessage(role="user", content="extra"))
    elsewhere.save(arrived)
    shutil.copy2(elsewhere.get_path(arrived.id), storage.get_path(arrived.id))
    os.unlink(storage.get_path(removed.id))

    expected = {kept.id: ("kept", 1), arrived.id: ("copied in", 2)}
    assert listed(manager) == expected
    fresh = SessionIndex(storage)
    assert {s.id: (s.title, s.message_count) for s in fresh.list()} == expected
    rows = index_rows(storage)
    assert {sid: (r["title"], r["message_count"]) for sid, r in rows.items()} == expected
    resumed = new_manager(storage)
    assert resumed.resume(arrived.id).message_count == 2
    resumed.close()


# -- 7. full disk, permission denied ----------------------------------------------------------


def full_disk_write(fd: int, data: bytes) -> None:
    """Write half, then fail the way a full disk does."""
    os.write(fd, data[: len(data) // 2])
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def failing_fsync(code: int) -> Callable[[int], None]:
    def fsync(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    return fsync


@pytest.fixture
def two_versions(storage: SessionStorage) -> Session:
    """A session saved twice, so it has a file and a backup to protect."""
    session = session_with(1)
    storage.save(session)
    session.add_message(SessionMessage(role="user", content="m1"))
    storage.save(session)
    return session


def file_states(storage: SessionStorage, session_id: str) -> list[tuple[bytes, int]]:
    paths = (storage.get_path(session_id), storage.get_backup_path(session_id))
    return [(p.read_bytes(), p.stat().st_ino) for p in paths]


@pytest.mark.parametrize(
    "target, replacement, reason",
    [
        ("write_all", full_disk_write, "no space left on device"),
        ("fsync", failing_fsync(errno.ENOSPC), "no space left on device"),
        ("fsync", failing_fsync(errno.EIO), os.strerror(errno.EIO)),
    ],
    ids=["ENOSPC in write", "ENOSPC in fsync", "EIO in fsync"],
)
def test_failed_save_raises_storage_error_and_keeps_the_previous_file(
    storage: SessionStorage,
    two_versions: Session,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    replacement: Callable[..., None],
    reason: str,
) -> None:
    before = file_states(storage, two_versions.id)
    two_versions.add_message(SessionMessage(role="user", content="never stored"))
    if target == "write_all":
        monkeypatch.setattr(fsutil, "write_all", replacement)
    else:
        monkeypatch.setattr(os, "fsync", replacement)
    with pytest.raises(SessionStorageError) as caught:
        storage.save(two_versions)
    monkeypatch.undo()
    assert reason in str(caught.value)
    assert two_versions.id in str(caught.value)
    assert file_states(storage, two_versions.id) == before
    assert temp_files(storage.storage_dir) == []
    assert contents(storage.load(two_versions.id)) == ["m0", "m1"]


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run the body as an ordinary user: as root, drop the effective uid to nobody."""
    if os.geteuid() != 0:
        yield
        return
    try:
        os.seteuid(65534)
    except OSError as exc:  # pragma: no cover - a root without CAP_SETUID
        pytest.skip(f"running as root and cannot drop privileges to test permissions: {exc}")
    try:
        yield
    finally:
        os.seteuid(0)


def test_permission_denied_save_raises_storage_error_and_keeps_the_previous_file() -> None:
    # As root the folder must be reachable by the unprivileged uid, so it lives in a
    # world-traversable folder of its own instead of pytest's private tmp_path.
    base = Path(tempfile.mkdtemp(prefix="opencode-perm-"))
    try:
        base.chmod(0o711)
        storage = SessionStorage(base / "sessions")
        session = session_with(1)
        storage.save(session)
        session.add_message(SessionMessage(role="user", content="m1"))
        storage.save(session)
        before = file_states(storage, session.id)
        # read and enter, but not write: 0500 for us, and for "others" when we are root
        storage.storage_dir.chmod(0o505 if os.geteuid() == 0 else 0o500)
        session.add_message(SessionMessage(role="user", content="never stored"))
        with unprivileged(), pytest.raises(SessionStorageError) as caught:
            storage.save(session)
        storage.storage_dir.chmod(0o700)
        assert os.strerror(errno.EACCES) in str(caught.value)
        assert file_states(storage, session.id) == before
        assert temp_files(storage.storage_dir) == []
        assert contents(storage.load(session.id)) == ["m0", "m1"]
    finally:
        with contextlib.suppress(OSError):
            (base / "sessions").chmod(0o700)
        shutil.rmtree(base, ignore_errors=True)


def test_failed_journal_append_leaves_no_partial_line(
    storage: SessionStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = new_manager(storage)
    session = manager.create(title="full disk")
    manager.add_message("user", "m0")
    manager.add_message("assistant", "m1")
    journal_path = storage.get_journal_path(session.id)
    before = journal_path.read_bytes()

    monkeypatch.setattr(fsutil, "write_all", full_disk_write)
    with pytest.raises(SessionStorageError, match="no space left on device"):
        manager.add_message("user", "lost " + "x" * 500)
    monkeypatch.undo()

    assert journal_path.read_bytes() == before  # the half-written record was cut off
    assert contents(session) == ["m0", "m1"]  # and not applied in memory either
    manager.add_message("user", "m2")
    lines = journal_path.read_bytes().splitlines()
    assert [json.loads(line)["message"]["content"] for line in lines] == ["m0", "m1", "m2"]
    assert contents(storage.load(session.id)) == ["m0", "m1", "m2"]
    manager.close()
    assert contents(storage.load(session.id)) == ["m0", "m1", "m2"]


def test_failed_compaction_keeps_the_journal_so_nothing_is_lost(
    storage: SessionStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = new_manager(storage)
    session = manager.create(title="full disk")
    for i in range(3):
        manager.add_message("user", f"m{i}")
    monkeypatch.setattr(fsutil, "write_all", full_disk_write)
    with pytest.raises(SessionStorageError, match="no space left on device"):
        manager.save()
    assert raw_snapshot(storage, session.id)["messages"] == []
    assert contents(storage.load(session.id)) == ["m0", "m1", "m2"]  # via the journal

    # closing on a full disk fails too, but releases the session and keeps its journal
    with pytest.raises(SessionStorageError, match="no space left on device"):
        manager.close()
    monkeypatch.undo()
    assert not manager.has_current
    assert temp_files(storage.storage_dir) == []
    assert storage.get_journal_path(session.id).stat().st_size > 0

    # once there is space again, the next resume folds the journal in
    other = new_manager(storage)
    assert contents(other.resume(session.id)) == ["m0", "m1", "m2"]
    other.close()
    assert len(raw_snapshot(storage, session.id)["messages"]) == 3
    assert not storage.get_journal_path(session.id).exists()


# -- 10. the journal --------------------------------------------------------------------------


def test_replay_after_a_crash_between_snapshot_and_journal_truncation_applies_nothing_twice(
    storage: SessionStorage,
) -> None:
    manager = new_manager(storage)
    session = manager.create(title="replay")
    sid = session.id
    journal_path = storage.get_journal_path(sid)
    for i in range(3):
        manager.add_message("user", f"m{i}")
    head = journal_path.read_bytes()  # records 1..3
    manager.save()  # snapshot with journal_seq 3; journal emptied
    snapshot_at_3 = storage.get_path(sid).read_bytes()
    assert json.loads(snapshot_at_3)["journal_seq"] == 3
    for i in range(3, 5):
        manager.add_message("assistant", f"m{i}")
    tail = journal_path.read_bytes()  # records 4..5
    manager.close()
    snapshot_at_5 = storage.get_path(sid).read_bytes()

    # the snapshot at seq 3 is on disk while the journal still holds records 1..5
    storage.get_path(sid).write_bytes(snapshot_at_3)
    journal_path.write_bytes(head + tail)
    loaded, report = storage.load_with_report(sid)
    assert contents(loaded) == ["m0", "m1", "m2", "m3", "m4"]
    assert (report.skipped_already_in_snapshot, report.applied) == (3, 2)
    assert loaded.journal_seq == 5

    # the snapshot already holds everything and the journal was not emptied yet
    storage.get_path(sid).write_bytes(snapshot_at_5)
    journal_path.write_bytes(head + tail)
    loaded, report = storage.load_with_report(sid)
    assert contents(loaded) == ["m0", "m1", "m2", "m3", "m4"]
    assert report.applied == 0

    # resuming folds it in exactly once, and new records continue the sequence
    manager = new_manager(storage)
    manager.resume(sid)
    manager.add_message("user", "m5")
    manager.close()
    assert contents(storage.load(sid)) == [f"m{i}" for i in range(6)]
    assert raw_snapshot(storage, sid)["journal_seq"] == 6


def journal_with_torn_tail(storage: SessionStorage) -> tuple[str, bytes]:
    """A closed session whose journal holds m0..m2 and half of a fourth record."""
    manager = new_manager(storage)
    session = manager.create(title="torn")
    journal_path = storage.get_journal_path(session.id)
    snapshot = storage.get_path(session.id).read_bytes()
    for i in range(4):
        manager.add_message("user", f"m{i}")
    records = journal_path.read_bytes()
    manager.close()
    storage.get_path(session.id).write_bytes(snapshot)
    complete, last = records.rstrip(b"\n").rsplit(b"\n", 1)
    journal_path.write_bytes(complete + b"\n" + last[: len(last) // 2])
    return session.id, complete + b"\n"


def test_torn_last_journal_line_is_skipped_and_reported(
    storage: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    sid, _ = journal_with_torn_tail(storage)
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        loaded, report = storage.load_with_report(sid)
    assert contents(loaded) == ["m0", "m1", "m2"]
    assert report.torn_tail
    assert report.bad_lines == []
    assert "torn" in caplog.text
    assert str(storage.get_journal_path(sid)) in caplog.text


def test_unreadable_line_inside_the_journal_is_skipped_and_reported(
    storage: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    sid, complete = journal_with_torn_tail(storage)
    lines = complete.splitlines(keepends=True)
    storage.get_journal_path(sid).write_bytes(lines[0] + b"{not json\n" + b"".join(lines[1:]))
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        loaded, report = storage.load_with_report(sid)
    assert contents(loaded) == ["m0", "m1", "m2"]
    assert report.bad_lines == [2]
    assert "line 2" in caplog.text


def test_next_append_after_a_torn_tail_starts_on_a_clean_line(storage: SessionStorage) -> None:
    sid, complete = journal_with_torn_tail(storage)
    session = storage.load(sid)
    journal_file = storage.open_journal(sid)
    assert storage.get_journal_path(sid).read_bytes() == complete  # the torn tail is cut
    record = {
        "seq": session.journal_seq + 1,
        "op": "message",
        "at": "2024-01-15T10:30:00+00:00",
        "message": {"id": "msg_x", "role": "user", "content": "after the tear"},
    }
    journal_file.append([record])
    journal_file.close()
    lines = storage.get_journal_path(sid).read_bytes().splitlines()
    assert all(json.loads(line)["op"] == "message" for line in lines)
    assert contents(storage.load(sid)) == ["m0", "m1", "m2", "after the tear"]


def test_resume_after_a_torn_tail_keeps_every_complete_record(
    storage: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    sid, _ = journal_with_torn_tail(storage)
    manager = new_manager(storage)
    assert contents(manager.resume(sid)) == ["m0", "m1", "m2"]
    manager.add_message("user", "m3 again")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        loaded, report = storage.load_with_report(sid)
    assert contents(loaded) == ["m0", "m1", "m2", "m3 again"]
    assert not report.torn_tail
    assert report.bad_lines == []
    assert caplog.text == ""
    manager.close()


def test_close_compacts_into_one_spec_format_file(storage: SessionStorage) -> None:
    manager = new_manager(storage)
    session = manager.create(title="compact me", working_dir="/w", model="m", tags=["a"])
    manager.add_message("user", "question")
    manager.add_message(
        "assistant",
        "reading",
        tool_calls=[{"id": "call_1", "type": "function", "function": {"name": "read"}}],
    )
    manager.add_message("tool", "file body", tool_call_id="call_1", name="read")
    manager.record_tool_call("read", {"file_path": "a.py"}, result={"ok": True}, duration=0.5)
    manager.update_usage(prompt_tokens=100, completion_tokens=20)
    manager.add_tag("b")
    session.metadata["branch"] = "main"
    assert storage.get_journal_path(session.id).stat().st_size > 0
    manager.close()

    names = {p.name for p in storage.storage_dir.iterdir()}
    assert f"{session.id}.json" in names
    assert f"{session.id}.jsonl" not in names
    assert f"{session.id}.lock" not in names
    assert f"{session.id}.owner" not in names
    text = storage.get_path(session.id).read_text()
    assert text.startswith("{\n  ")  # human-readable, indented
    data = json.loads(text)
    assert set(data) >= SPEC_SESSION_KEYS
    assert data["title"] == "compact me"
    assert data["tags"] == ["a", "b"]
    assert data["metadata"] == {"branch": "main"}
    assert (data["total_prompt_tokens"], data["total_completion_tokens"]) == (100, 20)
    assert [m["role"] for m in data["messages"]] == ["user", "assistant", "tool"]
    assert data["messages"][1]["tool_calls"][0]["id"] == "call_1"
    assert data["messages"][2]["tool_call_id"] == "call_1"
    assert data["tool_history"][0]["tool_name"] == "read"
    assert data["tool_history"][0]["arguments"] == {"file_path": "a.py"}
    assert data["journal_seq"] == 6  # three messages, a tool run, usage, a tag


def test_journal_is_compacted_inline_once_it_passes_the_size_limit(
    storage: SessionStorage,
) -> None:
    limit = 4096
    manager = new_manager(storage, compact_journal_bytes=limit)  # no auto-save thread
    session = manager.create(title="big")
    journal_path = storage.get_journal_path(session.id)
    snapshot_path = storage.get_path(session.id)
    snapshot_counts = []
    for i in range(80):
        manager.add_message("user", f"m{i} " + "x" * 400)
        # folded in once it passes the limit and twice the snapshot (geometric growth)
        threshold = max(limit, 2 * snapshot_path.stat().st_size)
        assert journal_path.stat().st_size < threshold
        snapshot_counts.append(len(raw_snapshot(storage, session.id)["messages"]))
    # the snapshot caught up several times without any save() call, each time at least
    # doubling, so a long session is rewritten a bounded number of times
    assert len(set(snapshot_counts)) >= 3
    assert snapshot_counts == sorted(snapshot_counts)
    assert contents(storage.load(session.id)) == [m.content for m in session.messages]
    manager.close()


def test_journal_past_the_size_limit_is_compacted_in_the_background_with_auto_save(
    storage: SessionStorage,
) -> None:
    limit = 4096
    # the interval is far longer than the test: only the size limit can trigger a save
    manager = new_manager(storage, compact_journal_bytes=limit, auto_save_interval=3600)
    session = manager.create(title="big")
    journal_path = storage.get_journal_path(session.id)
    for i in range(12):
        manager.add_message("user", f"m{i} " + "x" * 400)

    def folded() -> bool:
        snapshot_seq = raw_snapshot(storage, session.id)["journal_seq"]
        return snapshot_seq > 0 and journal_path.stat().st_size < limit

    assert wait_for(folded), journal_path.stat().st_size
    assert contents(storage.load(session.id)) == [f"m{i} " + "x" * 400 for i in range(12)]
    manager.close()


# -- 10. permissions --------------------------------------------------------------------------


def test_folders_are_0700_and_every_file_0600_even_with_umask_0(
    storage: SessionStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.storage_dir.mkdir(parents=True)
    storage.storage_dir.chmod(0o755)  # a loose folder from an older version or by hand
    temp_modes: list[int] = []
    real_write_all = fsutil.write_all

    def recording_write_all(fd: int, data: bytes) -> None:
        temp_modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        real_write_all(fd, data)

    monkeypatch.setattr(fsutil, "write_all", recording_write_all)
    old_umask = os.umask(0)
    try:
        manager = new_manager(storage)
        session = manager.create(title="private")
        manager.add_message("user", "m0")
        manager.save()
        manager.add_message("user", "m1")  # journal open, lock and owner held
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in storage.storage_dir.iterdir()}
        folder = storage.index_path.parent
        index_modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
        manager.close()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(storage.storage_dir.stat().st_mode) == 0o700
    sid = session.id
    expected = {f"{sid}{s}" for s in (".json", ".backup", ".jsonl", ".lock", ".owner")}
    assert expected | {folder.name} <= set(modes)
    assert {name: mode for name, mode in modes.items() if mode != 0o600} == {folder.name: 0o700}
    index_files = {"index-v1.db", "index-v1.db-wal", "index-v1.db-shm"}  # open: WAL in use
    assert index_files <= set(index_modes)
    assert {name: mode for name, mode in index_modes.items() if mode != 0o600} == {}
    assert temp_modes
    assert set(temp_modes) == {0o600}


# -- 11. auto-save and exit -------------------------------------------------------------------


def autosave_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "opencode-autosave" and t.is_alive()]


@pytest.mark.parametrize("interval", [0, -1])
def test_auto_save_off_starts_no_thread(storage: SessionStorage, interval: float) -> None:
    before = set(autosave_threads())
    manager = new_manager(storage, auto_save_interval=interval)
    session = manager.create(title="manual")
    manager.add_message("user", "m0")
    # create() would have started the thread before returning; with none, nothing can save
    # behind our back, so there is nothing to wait for. (Threads of earlier tests may still
    # be ending, hence <=.)
    assert set(autosave_threads()) <= before
    assert raw_snapshot(storage, session.id)["messages"] == []
    manager.close()
    assert len(raw_snapshot(storage, session.id)["messages"]) == 1


@pytest.mark.parametrize("interval", ["0", "0.01"], ids=["auto-save off", "auto-save running"])
def test_normal_exit_without_close_saves_the_snapshot_and_does_not_hang(
    storage: SessionStorage, interval: str
) -> None:
    count = 25
    result = subprocess.run(
        [
            sys.executable,
            str(WORKERS / "exit_without_close.py"),
            str(storage.storage_dir),
            str(count),
            interval,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    sid = result.stdout.strip()
    data = raw_snapshot(storage, sid)
    assert [m["content"] for m in data["messages"]] == [f"m{i}" for i in range(count)]
    assert data["journal_seq"] == count
    journal_path = storage.get_journal_path(sid)
    assert not journal_path.exists() or journal_path.stat().st_size == 0


def test_temp_files_are_created_exclusively_and_never_through_a_planted_link(
    tmp_path: Path,
) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"kept")
    fd, name = fsutil.create_temp_file(tmp_path, "s.json")
    os.close(fd)
    assert Path(name).parent == tmp_path and Path(name).name.startswith(".s.json.")
    assert stat.S_IMODE(os.lstat(name).st_mode) & 0o077 == 0
    second_fd, second = fsutil.create_temp_file(tmp_path, "s.json")
    os.close(second_fd)
    assert second != name  # a fresh name each time
    os.unlink(second)
    os.symlink(target, second)  # someone plants a link where a temp file could go
    fsutil.atomic_write(tmp_path / "s.json", b"new")
    assert target.read_bytes() == b"kept"
    assert (tmp_path / "s.json").read_bytes() == b"new"
