"""The SQLite index stays in step with the session files: across processes, after crashes,
with damaged files, leftovers, older index files, hostile index files and many writers.

Everything runs on real files under ``tmp_path`` and real child processes; nothing sleeps to
synchronise (children acknowledge each step on stdout), and "a while ago" is made by setting
a folder's modification time, never by waiting.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from worker_child import TIMEOUT, Child

from opencode.sessions import (
    Session,
    SessionIndex,
    SessionManager,
    SessionMessage,
    SessionNotFoundError,
    SessionStorage,
    SessionStorageError,
    indexfresh,
)
from opencode.sessions.fileio import dumps_json
from opencode.sessions.journal import OP_MESSAGE, make_record
from opencode.sessions.listing import ListingQuery, list_page
from opencode.sessions.lookup import resolve_session_id

OPENCODE = Path(sys.executable).with_name("opencode")
CRASHED = 3  # the exit code of append_on_command.py's crash-at


# -- helpers ----------------------------------------------------------------------------------


@contextlib.contextmanager
def holding(storage: SessionStorage, *session_id: str) -> Iterator[tuple[Child, str]]:
    """A child process holding a session open (a new one, or ``session_id``)."""
    child = Child("append_on_command.py", storage.storage_dir, *session_id)
    try:
        word, sid = child.readline().split()
        assert word == "ready"
        yield child, sid
    finally:
        child.kill()


@pytest.fixture
def storage(data_dir: Path) -> SessionStorage:
    return SessionStorage(data_dir / "sessions")


def new_manager(storage: SessionStorage) -> SessionManager:
    return SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)


def saved(storage: SessionStorage, title: str, messages: int = 0, **fields: Any) -> Session:
    session = Session(title=title, working_dir="/w", **fields)
    for i in range(messages):
        session.add_message(SessionMessage(role="user", content=f"m{i}"))
    storage.save(session)
    return session


def index_rows(storage: SessionStorage) -> dict[str, dict[str, Any]]:
    """The index database's rows as the writers left them, read with plain SQLite: no
    reconcile runs, so nothing can paper over an update that never happened."""
    uri = storage.index_path.absolute().as_uri() + "?mode=rw"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        db.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in db.execute("SELECT * FROM sessions")}


def index_objects(storage: SessionStorage) -> set[tuple[str, str]]:
    """``(type, name)`` of everything in the index database's schema."""
    uri = storage.index_path.absolute().as_uri() + "?mode=rw"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        return set(db.execute("SELECT type, name FROM sqlite_master"))


def tamper_with_index(storage: SessionStorage, *statements: str) -> None:
    """Change the index behind the library's back, as another program could."""
    with contextlib.closing(sqlite3.connect(storage.index_path, isolation_level=None)) as db:
        for statement in statements:
            db.execute(statement)


def build_index(storage: SessionStorage) -> set[tuple[str, str]]:
    """Build the index the normal way and close it; returns its healthy schema."""
    index = SessionIndex(storage)
    index.count()
    index.close()
    return index_objects(storage)


def long_ago(folder: Path) -> None:
    """Make the folder look unchanged for an hour (instead of waiting)."""
    then = time.time() - 3600
    os.utime(folder, (then, then))


def run_cli(*args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """The installed ``opencode`` with the isolated environment; a hang is a failure."""
    return subprocess.run(
        [str(OPENCODE), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def cli_listing() -> tuple[dict[str, dict[str, Any]], str]:
    """``opencode session list --json`` in its own process: entries by id, and stderr."""
    result = run_cli("session", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {entry["id"]: entry for entry in json.loads(result.stdout)}, result.stderr


def listed_by_cli() -> dict[str, dict[str, Any]]:
    return cli_listing()[0]


def damage_warnings(caplog: pytest.LogCaptureFixture, session_id: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith(f"session {session_id} is damaged")
    ]


# -- other processes' appends -----------------------------------------------------------------


def test_fresh_readers_see_each_acknowledged_append_of_a_session_open_elsewhere(
    storage: SessionStorage,
) -> None:
    older = saved(storage, "older")
    reader = new_manager(storage)  # a long-lived process, e.g. another terminal's chat
    watcher = SessionIndex(storage)  # a long-lived index that is never refreshed
    with holding(storage) as (child, sid):
        prompt = completion = 0
        for n in range(1, 7):
            role = "user" if n % 2 else "assistant"
            assert child.ask(f"message {role} message number {n}") == f"ack {n}"
            if role == "assistant":
                assert child.ask(f"usage {10 * n} {n}") == f"ack {prompt + 10 * n} {completion + n}"
                prompt, completion = prompt + 10 * n, completion + n
            fresh = SessionIndex(storage).get(sid)
            assert fresh is not None
            assert (fresh.message_count, fresh.prompt_tokens, fresh.completion_tokens) == (
                n,
                prompt,
                completion,
            )
            assert fresh.total_tokens == prompt + completion
            listing = reader.list_sessions()
            assert [s.id for s in listing] == [sid, older.id]  # the open one is the newest
            assert (listing[0].message_count, listing[0].total_tokens) == (n, prompt + completion)
            watched = watcher.get(sid)
            assert watched is not None and watched.message_count == n
        assert listed_by_cli()[sid]["message_count"] == 6
        assert listed_by_cli()[sid]["total_tokens"] == prompt + completion
        assert child.ask("close") == "closed"
        assert child.wait() == 0
    final = SessionIndex(storage).get(sid)
    assert final is not None
    assert (final.message_count, final.total_tokens) == (6, prompt + completion)


def test_titles_set_elsewhere_resolve_at_once(storage: SessionStorage) -> None:
    with holding(storage) as (child, sid):
        assert child.ask("title Debugging the flaky parser") == "ack title"
        index = SessionIndex(storage)
        assert resolve_session_id(index, "debugging the FLAKY parser") == sid
        assert child.ask("title Something else") == "ack title"
        index.refresh()
        assert resolve_session_id(index, "Something else") == sid
        with pytest.raises(SessionNotFoundError):
            resolve_session_id(index, "Debugging the flaky parser")


# -- files changed behind the index's back ----------------------------------------------------


def rewrite_with_storage_save(storage: SessionStorage, session: Session) -> None:
    storage.save(session)


def rewrite_by_hand_then_rename(storage: SessionStorage, session: Session) -> None:
    """What editors and sync tools do: a new file renamed over the old one."""
    path = storage.get_path(session.id)
    temp = path.with_name(".edited.tmp")
    temp.write_bytes(dumps_json(session.to_dict()))
    os.replace(temp, path)


def rewrite_in_place_just_now(storage: SessionStorage, session: Session) -> None:
    """Same inode, folder untouched; but the folder changed "just now" (its time is in the
    future), so the index cannot trust that it saw the folder's latest state."""
    soon = time.time() + 3600
    os.utime(storage.storage_dir, (soon, soon))
    SessionIndex(storage).count()  # looks at the folder while it is "racy"
    with open(storage.get_path(session.id), "r+b") as file:
        file.truncate(0)
        file.write(dumps_json(session.to_dict()))


@pytest.mark.parametrize(
    "rewrite",
    [rewrite_with_storage_save, rewrite_by_hand_then_rename, rewrite_in_place_just_now],
    ids=["storage.save", "by hand, renamed", "in place, racy folder"],
)
def test_a_session_file_rewritten_behind_the_index_shows_on_the_next_read(
    storage: SessionStorage, rewrite: Any
) -> None:
    session = saved(storage, "Old title", messages=2)
    other = saved(storage, "bystander")
    long_lived = SessionIndex(storage)
    assert long_lived.get(session.id).title == "Old title"  # type: ignore[union-attr]
    assert resolve_session_id(SessionIndex(storage), "old title") == session.id

    session.title = "A much longer new title"
    session.add_message(SessionMessage(role="user", content="added behind its back"))
    rewrite(storage, session)

    fresh = SessionIndex(storage)
    summary = fresh.get(session.id)
    assert summary is not None
    assert (summary.title, summary.message_count) == ("A much longer new title", 3)
    assert resolve_session_id(fresh, "a much longer NEW title") == session.id
    with pytest.raises(SessionNotFoundError):
        resolve_session_id(fresh, "Old title")
    long_lived.refresh()  # a long-lived index looks again when asked to
    assert long_lived.get(session.id).title == "A much longer new title"  # type: ignore[union-attr]
    assert fresh.get(other.id) is not None


def test_an_in_place_edit_of_a_quiet_folder_is_caught_by_the_periodic_full_check(
    storage: SessionStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = saved(storage, "Old title")
    manager = new_manager(storage)  # holds the index open, as a running chat does
    assert manager.list_sessions()[0].title == "Old title"
    long_ago(storage.storage_dir)
    manager.list_sessions()  # the folder's state is now recorded and trusted
    session.title = "Edited in place"
    with open(storage.get_path(session.id), "r+b") as file:
        file.truncate(0)
        file.write(dumps_json(session.to_dict()))
    monkeypatch.setattr(indexfresh, "FULL_RECONCILE_SECONDS", -1.0)  # the check is due
    assert manager.list_sessions()[0].title == "Edited in place"


@pytest.mark.parametrize("change", ["title After the crash", "tag late"], ids=["title", "tag"])
def test_crash_between_the_journal_write_and_the_index_update_heals_on_the_next_read(
    storage: SessionStorage, change: str
) -> None:
    with holding(storage) as (child, sid):
        assert child.ask("title Before the crash") == "ack title"
        assert child.ask("tag early") == "ack tag"
        # the journal record is written and record_message runs, as they do first; the
        # structural update that follows never happens
        child.send("crash-at update,add")
        child.send(change)
        assert child.wait() == CRASHED
    on_disk = storage.load(sid)
    assert (on_disk.title, on_disk.tags) in [
        ("After the crash", ["early"]),
        ("Before the crash", ["early", "late"]),
    ]
    fresh = SessionIndex(storage)
    summary = fresh.get(sid)
    assert summary is not None
    assert (summary.title, summary.tags) == (on_disk.title, on_disk.tags)
    assert resolve_session_id(fresh, on_disk.title) == sid
    assert [s.id for s in fresh.list(tags=on_disk.tags)] == [sid]


def test_crash_before_the_index_update_of_a_closed_session_heals_on_the_next_read(
    storage: SessionStorage,
) -> None:
    """update_session on a session nobody holds: one journal record, then the index."""
    closed = saved(storage, "Before the crash", messages=1)
    assert SessionIndex(storage).get(closed.id).title == "Before the crash"  # type: ignore[union-attr]
    with holding(storage) as (child, _):
        child.send("crash-at update,add,record_message")
        child.send(f"rename {closed.id} After the crash")
        assert child.wait() == CRASHED
    assert storage.load(closed.id).title == "After the crash"
    fresh = SessionIndex(storage)
    assert fresh.get(closed.id).title == "After the crash"  # type: ignore[union-attr]
    assert resolve_session_id(fresh, "after the crash") == closed.id


def test_journal_records_written_before_a_crash_show_on_the_next_read(
    storage: SessionStorage,
) -> None:
    with holding(storage) as (child, sid):
        assert child.ask("message user one") == "ack 1"
        long_ago(storage.storage_dir)
        assert SessionIndex(storage).get(sid).message_count == 1  # type: ignore[union-attr]
        child.send("crash-at record_message,update,add")
        child.send("message user two, written to the journal only")
        assert child.wait() == CRASHED
    assert storage.load(sid).message_count == 2
    summary = SessionIndex(storage).get(sid)
    assert summary is not None and summary.message_count == 2
    assert [s.message_count for s in new_manager(storage).list_sessions()] == [2]


def test_journal_records_appended_by_another_program_show_on_the_next_read(
    storage: SessionStorage,
) -> None:
    manager = new_manager(storage)
    session = manager.create(title="journaled")
    manager.add_message("user", "one")
    manager.close()
    journal = storage.open_journal(session.id)  # this session has a journal file now
    long_ago(storage.storage_dir)
    assert SessionIndex(storage).get(session.id).message_count == 1  # type: ignore[union-attr]
    stored = storage.load(session.id)
    for n in (2, 3):
        message = SessionMessage(role="assistant", content=f"appended {n}")
        record = make_record(stored, OP_MESSAGE, {"message": message.to_dict()})
        journal.append([record])
        stored.journal_seq = record["seq"]
        summary = SessionIndex(storage).get(session.id)
        assert summary is not None and summary.message_count == n
    journal.close()


# -- damaged session files --------------------------------------------------------------------


def damage_with_garbage(path: Path, outside: Path) -> str:
    path.write_bytes(b"{this is not json")
    return "not valid JSON"


def damage_with_a_symlink(path: Path, outside: Path) -> str:
    path.unlink()
    path.symlink_to(outside)  # a valid session with the same id: must not be read through
    return "symbolic link"


def damage_with_a_fifo(path: Path, outside: Path) -> str:
    path.unlink()
    os.mkfifo(path)
    return "FIFO"


def damage_with_a_folder(path: Path, outside: Path) -> str:
    path.unlink()
    path.mkdir()
    return "folder"


def damage_by_size(path: Path, outside: Path) -> str:
    with open(path, "r+b") as file:
        file.truncate(513 * 1024 * 1024)  # sparse: costs no disk
    return "bytes"


def undo_damage(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    else:
        path.unlink()


DAMAGE = {
    "garbage": damage_with_garbage,
    "symlink": damage_with_a_symlink,
    "fifo": damage_with_a_fifo,
    "folder": damage_with_a_folder,
    "too large": damage_by_size,
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=list(DAMAGE))
def test_a_damaged_session_is_listed_as_damaged_warned_about_once_and_healed(
    storage: SessionStorage, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: Any
) -> None:
    session = saved(storage, "Precious talk", messages=3)
    healthy = saved(storage, "healthy")
    outside = tmp_path / "outside.json"
    impostor = Session(id=session.id, title="read through a link", working_dir="/w")
    outside.write_bytes(dumps_json(impostor.to_dict()))
    assert SessionIndex(storage).count() == 2
    problem = damage(storage.get_path(session.id), outside)

    by_cli, talk = cli_listing()  # its own process, with a deadline: a FIFO must not block
    assert problem in by_cli[session.id]["damaged"]
    assert (by_cli[session.id]["title"], by_cli[session.id]["message_count"]) == (
        "Precious talk",
        3,
    )
    assert by_cli[healthy.id]["damaged"] is None
    assert talk.count(f"session {session.id} is damaged") == 1
    by_cli, talk = cli_listing()  # the next command lists it the same, without the warning
    assert problem in by_cli[session.id]["damaged"]
    assert "damaged" not in talk
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        for _ in range(3):
            fresh = SessionIndex(storage)
            summary = fresh.get(session.id)
            assert summary is not None
            assert summary.damaged is not None and problem in summary.damaged
            # what the index knew is kept, marked
            assert (summary.title, summary.message_count) == ("Precious talk", 3)
            assert summary.to_dict()["damaged"] == summary.damaged
            listing = {s.id: s for s in fresh.list()}
            assert listing[session.id].damaged == summary.damaged
            assert listing[healthy.id].damaged is None
            assert [s.id for s in fresh.damaged()] == [session.id]
    assert damage_warnings(caplog, session.id) == []  # the CLI process was warned already
    assert outside.read_bytes() == dumps_json(impostor.to_dict())

    undo_damage(storage.get_path(session.id))
    storage.save(session)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        healed = SessionIndex(storage).get(session.id)
        assert healed is not None and healed.damaged is None
        assert (healed.title, healed.message_count) == ("Precious talk", 3)
    assert damage_warnings(caplog, session.id) == []

    damage_with_garbage(storage.get_path(session.id), outside)  # damaged again: warned again
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        for _ in range(2):
            again = SessionIndex(storage).get(session.id)
            assert again is not None and again.damaged is not None
    assert len(damage_warnings(caplog, session.id)) == 1


def test_damage_is_warned_about_once_across_fresh_indexes(
    storage: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    session = saved(storage, "soon damaged", messages=1)
    SessionIndex(storage).count()
    storage.get_path(session.id).write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        for _ in range(4):
            summary = SessionIndex(storage).get(session.id)
            assert summary is not None and summary.damaged is not None
        new_manager(storage).list_sessions()
    warnings = damage_warnings(caplog, session.id)
    assert len(warnings) == 1
    assert "empty" in warnings[0]


def test_a_damaged_file_never_indexed_before_is_listed_with_what_is_known(
    storage: SessionStorage,
) -> None:
    saved(storage, "healthy")
    storage.get_path("arrived-broken").write_bytes(b"\x00\xff not a session")
    summary = SessionIndex(storage).get("arrived-broken")
    assert summary is not None
    assert summary.damaged is not None and "not valid JSON" in summary.damaged
    assert (summary.title, summary.message_count) == ("", 0)
    mtime = storage.get_path("arrived-broken").stat().st_mtime
    assert abs(summary.created_at.timestamp() - mtime) < 1


# -- leftovers without a session file ---------------------------------------------------------


def test_leftover_files_without_a_session_file_are_reported_once_and_can_be_deleted(
    storage: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    kept = saved(storage, "kept")
    (storage.storage_dir / "crashed-mid-delete.jsonl").write_bytes(b"")
    (storage.storage_dir / "only-a-backup.backup").write_bytes(b"{}")
    (storage.storage_dir / "only-a-lock.lock").write_bytes(b"")
    (storage.storage_dir / "only-a-lock.owner").write_bytes(b"")
    orphans = ["crashed-mid-delete", "only-a-backup", "only-a-lock"]
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        for _ in range(3):
            index = SessionIndex(storage)
            assert index.orphans() == orphans
            assert [s.id for s in index.list()] == [kept.id]
    leftover_warnings = [r.getMessage() for r in caplog.records if "leftover" in r.getMessage()]
    assert sorted(w.split()[1] for w in leftover_warnings) == orphans

    index = SessionIndex(storage)
    assert resolve_session_id(index, "crashed-mid") == "crashed-mid-delete"
    assert new_manager(storage).delete("crashed-mid-delete") is True
    assert not (storage.storage_dir / "crashed-mid-delete.jsonl").exists()
    assert SessionIndex(storage).orphans() == ["only-a-backup", "only-a-lock"]

    storage.save(Session(id="only-a-backup", title="restored"))  # a session file again
    fresh = SessionIndex(storage)
    assert fresh.orphans() == ["only-a-lock"]
    assert fresh.get("only-a-backup") is not None


# -- older index files ------------------------------------------------------------------------


def old_index_folder(storage: SessionStorage) -> list[Session]:
    """A folder as the JSON-index version left it: sessions, index.json and index.lock; and
    an index of an older schema where this version keeps its own (``.index/``)."""
    sessions = [saved(storage, f"session {i}", messages=i) for i in range(3)]
    entries = {s.id: s.summary().to_dict() for s in sessions}
    for entry in entries.values():
        del entry["id"]
    entries[sessions[0].id]["title"] = "a title the files do not have"
    entries["ghost"] = {**entries[sessions[1].id], "title": "gone long ago"}
    document = {"version": 1, "sessions": entries}
    (storage.storage_dir / "index.json").write_text(json.dumps(document))
    (storage.storage_dir / "index.lock").write_bytes(b"")
    storage.index_path.parent.mkdir(mode=0o700)
    (storage.index_path.parent / "index-v0.db").write_bytes(b"an even older experiment")
    (storage.index_path.parent / "index-v0.db-wal").write_bytes(b"")
    return sessions


OLD_INDEX_FILES = ("index.json", "index.lock", ".index/index-v0.db", ".index/index-v0.db-wal")


def test_a_folder_with_the_old_json_index_opens_with_no_manual_step(
    storage: SessionStorage,
) -> None:
    sessions = old_index_folder(storage)
    listed = listed_by_cli()
    assert {sid: (e["title"], e["message_count"]) for sid, e in listed.items()} == {
        s.id: (s.title, s.message_count) for s in sessions
    }
    for name in OLD_INDEX_FILES:
        assert not (storage.storage_dir / name).exists(), name
    assert storage.index_path.read_bytes()[:16] == b"SQLite format 3\x00"


def test_a_library_user_migrates_on_first_listing_too(storage: SessionStorage) -> None:
    sessions = old_index_folder(storage)
    manager = new_manager(storage)
    assert {s.id: s.title for s in manager.list_sessions()} == {s.id: s.title for s in sessions}
    assert [name for name in OLD_INDEX_FILES if (storage.storage_dir / name).exists()] == []
    assert set(index_rows(storage)) == {s.id for s in sessions}


PREVIOUS_LAYOUT = ("index-v1.db", "index-v1.db-wal", "index-v1.db-shm")


def test_the_index_files_of_the_previous_layout_are_retired(storage: SessionStorage) -> None:
    sessions = [saved(storage, f"session {i}", messages=i) for i in range(2)]
    build_index(storage)  # then put it where the previous version kept it
    os.replace(storage.index_path, storage.storage_dir / "index-v1.db")
    storage.index_path.parent.rmdir()
    for name in PREVIOUS_LAYOUT[1:]:
        (storage.storage_dir / name).write_bytes(b"")

    manager = new_manager(storage)
    assert {s.id: s.title for s in manager.list_sessions()} == {s.id: s.title for s in sessions}
    assert storage.index_path.read_bytes()[:16] == b"SQLite format 3\x00"
    assert [name for name in PREVIOUS_LAYOUT if (storage.storage_dir / name).exists()] == []


def test_a_session_whose_id_looks_like_an_old_index_file_keeps_its_files(
    storage: SessionStorage,
) -> None:
    odd = Session(id="index-v0.db", title="an unlucky id", working_dir="/w")
    storage.save(odd)
    odd.title = "second version"
    storage.save(odd)  # now with a backup too
    files = sorted(p.name for p in storage.storage_dir.iterdir())
    assert [s.id for s in SessionIndex(storage).list()] == ["index-v0.db"]
    assert set(files) <= {p.name for p in storage.storage_dir.iterdir()}
    assert storage.load("index-v0.db").title == "second version"


# -- index files that are not ours ------------------------------------------------------------

FOREIGN = {
    "schema version 0": ("PRAGMA user_version = 0",),
    "schema version 2": ("PRAGMA user_version = 2",),
    "extra table": ("CREATE TABLE planted (x)",),
    "extra view": ("CREATE VIEW planted AS SELECT id FROM sessions",),
    "extra index": ("CREATE INDEX planted ON sessions(title)",),
    "planted triggers": (
        "CREATE TRIGGER planted_insert AFTER INSERT ON sessions"
        " BEGIN UPDATE sessions SET title = 'pwned'; END",
        "CREATE TRIGGER planted_update AFTER UPDATE ON sessions"
        " BEGIN UPDATE sessions SET title = 'pwned' WHERE title != 'pwned'; END",
    ),
}


@pytest.mark.parametrize("statements", FOREIGN.values(), ids=list(FOREIGN))
def test_an_index_of_another_schema_or_with_planted_objects_is_rebuilt(
    storage: SessionStorage, caplog: pytest.LogCaptureFixture, statements: tuple[str, ...]
) -> None:
    session = saved(storage, "real title", messages=1)
    healthy_schema = build_index(storage)
    # a row the files contradict: kept as it is, it would be trusted (its files are unchanged)
    tamper_with_index(storage, "UPDATE sessions SET title = 'stale'", *statements)

    manager = new_manager(storage)
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        assert [s.title for s in manager.list_sessions()] == ["real title"]
    assert "rebuilding" in caplog.text
    assert index_objects(storage) == healthy_schema
    # writes after the rebuild run through no one else's SQL
    manager.resume(session.id)
    manager.add_message("user", "after the rebuild")
    manager.set_title("renamed after the rebuild")
    manager.close()
    rows = index_rows(storage)
    assert [(r["title"], r["message_count"]) for r in rows.values()] == [
        ("renamed after the rebuild", 2)
    ]


def test_a_trigger_of_ours_with_another_body_is_rebuilt(
    storage: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    saved(storage, "real title")
    healthy_schema = build_index(storage)
    tamper_with_index(
        storage,
        "UPDATE sessions SET title = 'stale'",
        "DROP TRIGGER sessions_tally_insert",
        "CREATE TRIGGER sessions_tally_insert AFTER INSERT ON sessions"
        " BEGIN UPDATE sessions SET title = 'pwned'; END",
    )
    manager = new_manager(storage)
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        assert [s.title for s in manager.list_sessions()] == ["real title"]
    assert "rebuilding" in caplog.text
    assert index_objects(storage) == healthy_schema
    manager.create(title="second")
    manager.close()
    assert sorted(r["title"] for r in index_rows(storage).values()) == ["real title", "second"]


# -- counts kept by triggers ------------------------------------------------------------------


def tallies(storage: SessionStorage) -> dict[str, int]:
    uri = storage.index_path.absolute().as_uri() + "?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        return dict(db.execute("SELECT name, n FROM tallies"))


def counted(storage: SessionStorage) -> dict[str, int]:
    rows = index_rows(storage).values()
    return {
        "sessions": len(rows),
        "listed": sum(1 for r in rows if r["archived_at"] is None),
    }


def test_the_listing_counts_follow_every_change(storage: SessionStorage) -> None:
    manager = new_manager(storage)
    ids = [manager.create(title=f"s{i}").id for i in range(6)]
    manager.close()
    assert tallies(storage) == counted(storage) == {"sessions": 6, "listed": 6}

    manager.archive(ids[0])
    manager.archive(ids[1])
    manager.archive(ids[1])  # archiving twice counts once
    assert tallies(storage) == counted(storage) == {"sessions": 6, "listed": 4}
    manager.unarchive(ids[0])
    assert tallies(storage) == counted(storage) == {"sessions": 6, "listed": 5}

    manager.resume(ids[2])
    manager.add_message("user", "an append changes no count")
    manager.close()
    manager.delete(ids[1])  # archived
    manager.delete(ids[3])  # listed
    assert tallies(storage) == counted(storage) == {"sessions": 4, "listed": 4}

    storage.get_path(ids[4]).unlink()  # removed behind the index's back
    assert manager.index.count() == 3
    assert tallies(storage) == counted(storage) == {"sessions": 3, "listed": 3}
    page = list_page(manager.index, ListingQuery(limit=1))
    assert (len(page.rows), page.total) == (1, 3)
    manager.close()


BEFORE_TITLES = ("DROP INDEX sessions_titles",)
BEFORE_TALLIES = (
    *BEFORE_TITLES,
    "DROP TRIGGER sessions_tally_insert",
    "DROP TRIGGER sessions_tally_delete",
    "DROP TRIGGER sessions_tally_archive",
    "DROP TABLE tallies",
)


@pytest.mark.parametrize(
    "older", [BEFORE_TALLIES, BEFORE_TITLES], ids=["before-counts", "before-title-index"]
)
def test_an_index_from_an_older_release_is_upgraded_in_place(
    storage: SessionStorage, caplog: pytest.LogCaptureFixture, older: tuple[str, ...]
) -> None:
    for i in range(3):
        saved(storage, f"s{i}")
    setup = new_manager(storage)
    setup.archive(setup.create(title="archived").id)
    setup.close()
    healthy_schema = index_objects(storage)
    assert ("index", "sessions_titles") in healthy_schema
    tamper_with_index(
        storage,
        # a rebuild would start from an empty file, an upgrade keeps what is there
        "INSERT INTO state (key, value) VALUES ('marker', 'kept by the upgrade')",
        *older,
    )
    manager = new_manager(storage)
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        assert len(manager.index) == 4
    assert "rebuilding" not in caplog.text
    uri = storage.index_path.absolute().as_uri() + "?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        marker = db.execute("SELECT value FROM state WHERE key = 'marker'").fetchone()
    assert marker == ("kept by the upgrade",)
    assert tallies(storage) == counted(storage) == {"sessions": 4, "listed": 3}
    assert index_objects(storage) == healthy_schema
    manager.create(title="after the upgrade")
    manager.close()
    assert tallies(storage) == counted(storage) == {"sessions": 5, "listed": 4}
    assert manager.index.count_matching(search="AFTER THE") == 1


# -- links and special files in place of the index --------------------------------------------


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_a_symlink_in_place_of_an_index_file_is_removed_and_its_target_left_alone(
    storage: SessionStorage, tmp_path: Path, suffix: str
) -> None:
    sessions = [saved(storage, f"s{i}") for i in range(2)]
    if suffix:
        build_index(storage)
    target = tmp_path / "precious-file"
    target.write_bytes(b"someone's precious data, not an index")
    storage.index_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    link = Path(f"{storage.index_path}{suffix}")
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    link.symlink_to(target)

    listed = listed_by_cli()
    assert set(listed) == {s.id for s in sessions}
    assert target.read_bytes() == b"someone's precious data, not an index"
    assert not link.is_symlink()
    assert {s.id for s in SessionIndex(storage).list()} == {s.id for s in sessions}
    assert not storage.index_path.is_symlink()
    assert stat.S_ISREG(storage.index_path.lstat().st_mode)


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_a_fifo_in_place_of_an_index_file_is_removed_without_blocking(
    storage: SessionStorage, suffix: str
) -> None:
    sessions = [saved(storage, f"s{i}") for i in range(2)]
    if suffix:
        build_index(storage)
    storage.index_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fifo = Path(f"{storage.index_path}{suffix}")
    with contextlib.suppress(FileNotFoundError):
        fifo.unlink()
    os.mkfifo(fifo)

    listed = listed_by_cli()  # with a deadline: opening a FIFO for reading would block
    assert set(listed) == {s.id for s in sessions}
    assert not (fifo.exists() and stat.S_ISFIFO(fifo.lstat().st_mode))
    assert stat.S_ISREG(storage.index_path.lstat().st_mode)


def put_in_place_of_the_index_folder(storage: SessionStorage, kind: str, elsewhere: Path) -> None:
    """Something that is not a folder of ours where ``.index`` goes."""
    folder = storage.index_path.parent
    if kind == "file":
        folder.write_bytes(b"someone's file named .index")
    elif kind == "link to a folder":
        elsewhere.mkdir()
        (elsewhere / "theirs.txt").write_bytes(b"theirs")
        folder.symlink_to(elsewhere)
    else:
        folder.symlink_to(elsewhere)  # to nothing


@pytest.mark.parametrize("kind", ["file", "link to a folder", "dangling link"])
def test_something_else_in_place_of_the_index_folder_is_not_used(
    storage: SessionStorage, tmp_path: Path, kind: str
) -> None:
    sessions = [saved(storage, f"s{i}") for i in range(2)]
    elsewhere = tmp_path / "elsewhere"
    put_in_place_of_the_index_folder(storage, kind, elsewhere)

    manager = new_manager(storage)
    assert {s.id for s in manager.list_sessions()} == {s.id for s in sessions}
    manager.close()
    folder = storage.index_path.parent
    assert stat.S_ISDIR(folder.lstat().st_mode)
    assert stat.S_ISREG(storage.index_path.lstat().st_mode)
    if kind == "link to a folder":
        assert [p.name for p in elsewhere.iterdir()] == ["theirs.txt"]


# -- permissions ------------------------------------------------------------------------------


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def index_file_modes(storage: SessionStorage) -> dict[str, int]:
    """Modes of the index files, and of the folder holding them (as ``"."``)."""
    folder = storage.index_path.parent
    modes = {".": stat.S_IMODE(folder.lstat().st_mode)}
    for p in folder.iterdir():
        if p.name.startswith(storage.index_path.name):
            modes[p.name] = stat.S_IMODE(p.lstat().st_mode)
    return modes


def test_index_files_are_0600_under_umask_0_when_created_and_when_rebuilt(
    storage: SessionStorage,
) -> None:
    saved(storage, "private")
    with umask(0):
        manager = new_manager(storage)  # keeps the index open: its -wal and -shm exist
        manager.list_sessions()
        created = index_file_modes(storage)
        manager.index.close()
        storage.index_path.write_bytes(b"garbage that forces a rebuild")
        os.chmod(storage.index_path, 0o666)
        manager.list_sessions()
        rebuilt = index_file_modes(storage)
        manager.index.close()
    names = {".", "index-v1.db", "index-v1.db-wal", "index-v1.db-shm"}
    assert set(created) == set(rebuilt) == names
    assert created == rebuilt == {name: 0o700 if name == "." else 0o600 for name in names}


# -- many writers -----------------------------------------------------------------------------


def test_eight_writer_processes_lose_no_index_update(storage: SessionStorage) -> None:
    workers, sessions, messages = 8, 4, 6
    children = [
        Child("append_writer.py", storage.storage_dir, n, sessions, messages)
        for n in range(workers)
    ]
    try:
        for child in children:
            assert child.readline() == "ready"
        for child in children:
            child.send()  # all start at once
        made: dict[str, list[int]] = {}
        for child in children:
            made.update(json.loads(child.readline()))
        assert len(made) == workers * sessions

        def check() -> None:
            rows = index_rows(storage)  # raw: no reconcile can make up for a lost write
            assert set(rows) == set(made)
            for sid, (count, prompt, completion) in made.items():
                row = rows[sid]
                got = (row["message_count"], row["prompt_tokens"], row["completion_tokens"])
                assert got == (count, prompt, completion), sid
                assert row["damaged"] is None

        check()  # each writer's last session is still open: only appends updated its row
        for child in children:
            child.send()
        for child in children:
            assert child.wait() == 0, child.stderr
        check()
    finally:
        for child in children:
            child.kill()
    listing = SessionIndex(storage).list()
    assert {s.id: [s.message_count, s.prompt_tokens, s.completion_tokens] for s in listing} == made


def test_a_busy_index_on_open_is_waited_for_never_rebuilt(
    storage: SessionStorage, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process's lock that SQLite does not wait for (seen as "database is locked"
    when several processes open a new index at once) says nothing about the file: opening
    waits and tries again. Rebuilding would throw away rows other processes are writing."""
    from opencode.sessions import indexdb

    session = saved(storage, "kept", messages=2)
    made = SessionIndex(storage)
    assert made.count() == 1  # the index exists, with the session's row
    made.close()
    configure = indexdb._configure
    calls: list[int] = []

    def busy_twice(db: sqlite3.Connection) -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise sqlite3.OperationalError("database is locked")
        configure(db)

    monkeypatch.setattr(indexdb, "_configure", busy_twice)
    with caplog.at_level(logging.WARNING, logger="opencode.sessions"):
        index = SessionIndex(storage)
        assert index.count() == 1
    index.close()
    assert len(calls) == 3
    assert set(index_rows(storage)) == {session.id}
    assert not [r for r in caplog.records if "rebuilding" in r.getMessage()]


def test_an_index_that_stays_busy_is_one_error_not_a_rebuild(
    storage: SessionStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.sessions import indexdb

    session = saved(storage, "kept")
    made = SessionIndex(storage)
    assert made.count() == 1
    made.close()

    def always_busy(db: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(indexdb, "_configure", always_busy)
    monkeypatch.setattr(indexdb, "BUSY_TIMEOUT_MS", 50)
    with pytest.raises(SessionStorageError, match="database is locked"):
        SessionIndex(storage).count()
    monkeypatch.undo()
    assert set(index_rows(storage)) == {session.id}


# -- rebuild ----------------------------------------------------------------------------------


class CountingStorage(SessionStorage):
    """A real storage that counts how often each session is loaded."""

    def __init__(self, storage_dir: Path) -> None:
        super().__init__(storage_dir)
        self.loads: dict[str, int] = {}

    def load(self, session_id: str) -> Session:
        self.loads[session_id] = self.loads.get(session_id, 0) + 1
        return super().load(session_id)


def many_sessions(storage: SessionStorage, count: int) -> list[str]:
    """``count`` session files written directly (fast), a few with journal records."""
    storage.ensure_dir()
    ids = []
    for n in range(count):
        session = Session(id=f"s{n:04}", title=f"session {n}", working_dir="/w")
        storage.get_path(session.id).write_bytes(dumps_json(session.to_dict()))
        ids.append(session.id)
    for sid in ids[:5]:
        journal = storage.open_journal(sid)
        message = SessionMessage(role="user", content="in the journal only")
        journal.append([make_record(storage.load(sid), OP_MESSAGE, {"message": message.to_dict()})])
        journal.close()
    return ids


@pytest.mark.parametrize("index_before", ["none", "in use"])
def test_rebuild_reads_each_session_file_once_and_reports_progress(
    storage: SessionStorage, index_before: str
) -> None:
    ids = many_sessions(storage, 1001)
    counting = CountingStorage(storage.storage_dir)
    index = SessionIndex(counting)
    if index_before == "in use":
        assert index.count() == 1001
        tamper_with_index(storage, "UPDATE sessions SET title = 'stale'")
    counting.loads.clear()
    progress: list[tuple[int, int]] = []
    assert index.rebuild(progress=lambda done, total: progress.append((done, total))) == 1001
    assert counting.loads == dict.fromkeys(ids, 1)
    assert progress[-1] == (1001, 1001)
    assert len(progress) >= 2  # reported as it goes, not only at the end
    assert all(total == 1001 for _, total in progress)
    assert [done for done, _ in progress] == sorted({done for done, _ in progress})
    assert "stale" not in {s.title for s in index.list()}
    assert [index.get(sid).message_count for sid in ids[:6]] == [1] * 5 + [0]  # type: ignore[union-attr]
    counting.loads.clear()
    assert SessionIndex(counting).count() == 1001
    assert counting.loads == {}  # nothing changed since: nothing is read again


# -- looking at the folder only when it changed -----------------------------------------------


class ScanCountingIndex(SessionIndex):
    """A real index that counts its passes over the whole folder."""

    scans = 0

    def _scan_folder(self) -> Any:
        type(self).scans += 1
        return super()._scan_folder()


def test_a_running_process_does_not_rescan_an_unchanged_folder(storage: SessionStorage) -> None:
    for i in range(3):
        saved(storage, f"s{i}")
    index = ScanCountingIndex(storage)
    assert index.count() == 3
    long_ago(storage.storage_dir)
    index.refresh()
    assert index.count() == 3  # sees the folder as it now is, and trusts it
    before = ScanCountingIndex.scans
    for _ in range(3):
        index.refresh()
        assert index.count() == 3
    assert ScanCountingIndex.scans == before
    saved(storage, "one more")  # a change to the folder is noticed
    index.refresh()
    assert index.count() == 4
    assert ScanCountingIndex.scans == before + 1


def test_a_new_process_does_not_rescan_an_unchanged_folder(storage: SessionStorage) -> None:
    """Every command is a new process that opens and closes the index; neither changes the
    sessions folder (the index and its -wal/-shm live in ``.index/``), so after the first
    look at a quiet folder the next commands trust one ``stat`` of it."""
    for i in range(3):
        saved(storage, f"s{i}")
    build_index(storage)
    long_ago(storage.storage_dir)  # nothing has changed for an hour
    quiet = os.stat(storage.storage_dir).st_mtime_ns
    counts = []
    for _ in range(3):  # three commands
        before = ScanCountingIndex.scans
        index = ScanCountingIndex(storage)
        assert index.count() == 3
        index.close()
        counts.append(ScanCountingIndex.scans - before)
    assert counts == [1, 0, 0]  # the first one records the folder as it has been for an hour
    for _ in range(2):  # real processes, which open and close the index the same way
        assert len(listed_by_cli()) == 3
    assert os.stat(storage.storage_dir).st_mtime_ns == quiet
