"""Several real processes on one data folder: merged index, one writer per session, cleanup."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from worker_child import TIMEOUT, Child

from opencode.sessions import (
    Session,
    SessionIndex,
    SessionLockedError,
    SessionManager,
    SessionStorage,
)
from opencode.sessions.locks import read_owner
from opencode.sessions.validate import format_timestamp, utc_now


@pytest.fixture
def storage(data_dir: Path) -> SessionStorage:
    return SessionStorage(data_dir / "sessions")


def new_manager(storage: SessionStorage) -> SessionManager:
    return SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)


def saved_session(storage: SessionStorage, title: str, days_ago: float = 0) -> Session:
    """A session written straight to disk, last updated ``days_ago`` days ago."""
    when = utc_now() - timedelta(days=days_ago)
    session = Session(title=title, working_dir="/p", created_at=when, updated_at=when)
    storage.save(session)
    return session


# -- many writers, one index ------------------------------------------------------------------


def test_concurrent_processes_keep_index_equal_to_session_files(storage: SessionStorage) -> None:
    workers, per_worker = 4, 15
    children = [
        Child("concurrent_writer.py", storage.storage_dir, n, per_worker) for n in range(workers)
    ]
    try:
        for child in children:
            assert child.readline() == "ready"
        for child in children:
            child.send()  # start all at once
        reports = [json.loads(child.readline()) for child in children]
        for child in children:
            _, err = child.proc.communicate(timeout=TIMEOUT)
            assert child.proc.returncode == 0, err.decode()
    finally:
        for child in children:
            child.kill()

    created = {sid for r in reports for sid in r["created"]}
    deleted = {sid for r in reports for sid in r["deleted"]}
    assert len(created) == workers * per_worker
    assert set(storage.list_session_ids()) == created - deleted

    # the index as the writers left it, read raw: no reconciliation may paper over a loss
    rows = index_rows(storage)
    assert set(rows) == created - deleted
    for sid, row in rows.items():
        expected = storage.load(sid).summary()
        assert row_summary(row) == {
            "title": expected.title,
            "created_at": format_timestamp(expected.created_at),
            "updated_at": format_timestamp(expected.updated_at),
            "active_at": format_timestamp(expected.last_active),
            "message_count": expected.message_count,
            "prompt_tokens": expected.prompt_tokens,
            "completion_tokens": expected.completion_tokens,
            "tags": expected.tags,
            "working_dir": expected.working_dir,
            "model": expected.model,
        }, sid
    # spot-check that the updates really happened in the files the index agrees with
    titles = sorted(row["title"] for row in rows.values())
    assert sum(t.endswith(" renamed") for t in titles) > 0
    assert sum(t.endswith(" later") for t in titles) == workers * 4 - workers  # 1 of 4 deleted
    # closed sessions are one file each, except those changed after closing (update_session
    # journals the change instead of rewriting the snapshot; the index agrees, see above)
    journaled = {sid for sid in rows if storage.get_journal_path(sid).exists()}
    assert journaled <= {sid for sid, row in rows.items() if row["title"].endswith(" later")}


def index_rows(storage: SessionStorage) -> dict[str, dict[str, Any]]:
    """The index database's rows, read with plain SQLite (no reconcile runs)."""
    uri = storage.index_path.absolute().as_uri() + "?mode=rw"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        db.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in db.execute("SELECT * FROM sessions")}


def row_summary(row: dict[str, Any]) -> dict[str, Any]:
    """What a listing shows of a session, as its index row holds it."""
    keys = ("title", "created_at", "updated_at", "active_at", "message_count", "prompt_tokens")
    keys += ("completion_tokens", "working_dir", "model")
    return {**{key: row[key] for key in keys}, "tags": json.loads(row["tags"])}


# -- one writer per session -------------------------------------------------------------------


def test_a_session_created_during_another_reconcile_keeps_its_row(
    storage: SessionStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reconciling lists the folder, then compares the rows with it: a session another
    writer creates in between (file, then row) must not lose its row to the comparison."""
    before = new_manager(storage)
    before.create(title="before")
    before.close()
    reader = SessionIndex(storage)
    reader.count()
    during: list[Session] = []
    scan = reader._scan_folder

    def scan_then_create() -> Any:
        listed = scan()
        writer = new_manager(storage)
        during.append(writer.create(title="created during the scan"))
        writer.close()
        return listed

    monkeypatch.setattr(reader, "_scan_folder", scan_then_create)
    reader.refresh()
    reader.count()

    assert [s.title for s in during] == ["created during the scan"]  # the race was run
    assert during[0].id in index_rows(storage)
    reader.close()


def test_second_process_is_refused_and_kill_releases_the_lock(storage: SessionStorage) -> None:
    session = saved_session(storage, "held")
    holder = Child("hold_session.py", storage.storage_dir, session.id)
    try:
        word, pid = holder.readline().split()
        assert word == "ready"
        assert int(pid) == holder.proc.pid

        manager = new_manager(storage)
        with pytest.raises(SessionLockedError) as refused:
            manager.resume(session.id)
        assert "open in another process" in str(refused.value)
        assert str(holder.proc.pid) in str(refused.value)
        assert refused.value.pid == holder.proc.pid
        assert not manager.has_current

        # reading, listing and showing never need the writer lock
        assert storage.load(session.id).title == "held"
        assert [s.id for s in SessionIndex(storage).list()] == [session.id]
        assert [s.id for s in manager.list_sessions()] == [session.id]
        shown = manager.get_session(session.id)
        assert shown is not None
        assert shown.title == "held"

        # nor may another process delete it
        with pytest.raises(SessionLockedError):
            manager.delete(session.id)
        assert storage.exists(session.id)

        os.kill(holder.proc.pid, signal.SIGKILL)
        assert holder.proc.wait(timeout=TIMEOUT) == -signal.SIGKILL

        resumed = manager.resume(session.id)
        assert resumed.id == session.id
        owner = storage.storage_dir / f"{session.id}.owner"
        assert read_owner(owner).pid == os.getpid()
        manager.add_message("user", "after the crash")
        manager.close()
        assert storage.load(session.id).messages[-1].content == "after the crash"
    finally:
        holder.kill()


def test_lock_is_free_again_after_the_holder_closes(storage: SessionStorage) -> None:
    session = saved_session(storage, "handed over")
    holder = Child("hold_session.py", storage.storage_dir, session.id)
    try:
        assert holder.readline().startswith("ready ")
        manager = new_manager(storage)
        with pytest.raises(SessionLockedError):
            manager.resume(session.id)
        holder.send()
        assert holder.readline() == "closed"
        holder.proc.communicate(timeout=TIMEOUT)
        assert manager.resume(session.id).id == session.id
        manager.close()
    finally:
        holder.kill()


def test_resuming_the_current_session_in_the_same_manager_is_fine(
    storage: SessionStorage,
) -> None:
    manager = new_manager(storage)
    session = manager.create(title="mine")
    manager.add_message("user", "hello")
    again = manager.resume(session.id)
    assert again is session
    assert manager.current_session is session
    manager.add_message("assistant", "still writable")
    manager.close()
    assert [m.content for m in storage.load(session.id).messages] == ["hello", "still writable"]


# -- cleanup ----------------------------------------------------------------------------------


def test_cleanup_spares_newest_current_and_sessions_open_elsewhere(
    storage: SessionStorage,
) -> None:
    old = [saved_session(storage, f"old {i}", days_ago=40 + 10 * i) for i in range(6)]
    recent = [saved_session(storage, f"recent {i}", days_ago=i) for i in range(2)]
    # newest first: recent 0, recent 1, old 0 (kept by keep_minimum=3); old 1..5 are all
    # candidates, but old 5 is this manager's current session and old 4 is open elsewhere
    manager = new_manager(storage)
    manager.resume(old[5].id)
    holder = Child("hold_session.py", storage.storage_dir, old[4].id)
    try:
        assert holder.readline().startswith("ready ")

        deleted = SessionStorage(storage.storage_dir).cleanup_old_sessions(
            max_age_days=30, keep_minimum=3
        )

        assert sorted(deleted) == sorted(s.id for s in old[1:4])
        survivors = {s.id for s in (*recent, old[0], old[4], old[5])}
        assert set(storage.list_session_ids()) == survivors
        for sid in survivors:
            assert storage.load(sid).id == sid
        for s in old[1:4]:
            assert not list(storage.storage_dir.glob(f"{s.id}.*"))
        assert {s.id for s in SessionIndex(storage).list()} == survivors

        # both writers still work on their sessions after the cleanup
        manager.add_message("user", "still here")
        manager.close()
        assert storage.load(old[5].id).message_count == 1
        holder.finish()
        assert storage.load(old[4].id).title == "old 4"
    finally:
        holder.kill()


def test_cleanup_deletes_old_sessions_nobody_holds(storage: SessionStorage) -> None:
    """The counterpart of the test above: without a holder, the same sessions do go."""
    old = [saved_session(storage, f"old {i}", days_ago=40 + 10 * i) for i in range(3)]
    deleted = storage.cleanup_old_sessions(max_age_days=30, keep_minimum=1)
    assert sorted(deleted) == sorted(s.id for s in old[1:])
    assert storage.list_session_ids() == [old[0].id]
