"""Recovering damaged sessions and failed switches never lose good data."""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import pytest

from opencode import fsutil
from opencode.sessions import (
    InvalidSessionValueError,
    SessionManager,
    SessionStorage,
    SessionStorageError,
)


@pytest.fixture
def manager() -> SessionManager:
    return SessionManager(auto_save_interval=0)


def two_versions(manager: SessionManager) -> str:
    """A closed session whose .backup holds one message and whose file holds two."""
    session = manager.create(title="t")
    manager.add_message("user", "first")
    manager.save()
    manager.add_message("user", "second")
    manager.close()
    return session.id


def test_recover_refuses_a_healthy_session_and_keeps_every_message(manager: SessionManager) -> None:
    session_id = two_versions(manager)
    with pytest.raises(SessionStorageError, match="not damaged"):
        manager.recover(session_id)
    assert manager.storage.load(session_id).message_count == 2


def test_recover_restores_a_damaged_file_and_replaces_the_index_entry(
    manager: SessionManager,
) -> None:
    session_id = two_versions(manager)
    manager.storage.get_path(session_id).write_text("{ torn")
    restored = manager.recover(session_id)
    assert restored.message_count == 1
    listed = SessionManager(auto_save_interval=0).list_sessions()
    assert [(s.id, s.message_count) for s in listed] == [(session_id, 1)]


def test_recover_with_force_restores_even_a_healthy_session(manager: SessionManager) -> None:
    session_id = two_versions(manager)
    assert manager.recover(session_id, force=True).message_count == 1


def test_recover_refuses_a_session_open_elsewhere(manager: SessionManager) -> None:
    session_id = two_versions(manager)
    other = SessionManager(auto_save_interval=0)
    other.resume(session_id)
    manager.storage.get_path(session_id)  # the file is fine; the lock decides
    with pytest.raises(SessionStorageError, match="open in another process"):
        manager.recover(session_id, force=True)
    other.close()
    assert manager.storage.load(session_id).message_count == 2


def test_failed_create_keeps_the_previous_session_current(
    manager: SessionManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = manager.create(title="first")
    manager.add_message("user", "kept")

    def disk_full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(fsutil, "write_all", disk_full)
        with pytest.raises(SessionStorageError, match="no space left"):
            manager.create(title="second")
    # The user's next message still lands somewhere real: the session they were in.
    assert manager.current_session is not None and manager.current_session.id == first.id
    manager.add_message("user", "after the failure")
    manager.close()
    assert [m.content for m in SessionStorage().load(first.id).messages] == [
        "kept",
        "after the failure",
    ]


@pytest.mark.parametrize("age", [math.nan, math.inf, -1.0, 1e10])
def test_cleanup_rejects_ages_that_are_not_a_number_of_days(age: float) -> None:
    with pytest.raises(InvalidSessionValueError, match="max_age_days"):
        SessionStorage().cleanup_old_sessions(max_age_days=age)


def test_sessions_of_a_folder_with_undecodable_name_are_found_again(
    manager: SessionManager, tmp_path: Path
) -> None:
    folder = os.fsdecode(bytes(tmp_path) + b"/d\xff")
    session = manager.create(working_dir=folder)
    manager.close()
    found = manager.list_sessions(working_dir=folder)
    assert [s.id for s in found] == [session.id]
    assert manager.resume_or_create(working_dir=folder).id == session.id


def test_set_metadata_is_journaled_and_survives_a_crash(manager: SessionManager) -> None:
    session = manager.create(title="t")
    manager.set_metadata("git_branch", "feature/api-v2")
    journal = manager.storage.get_journal_path(session.id).read_text()
    assert '"git_branch":"feature/api-v2"' in journal
    # No close: what a kill -9 leaves behind still holds the change.
    assert SessionStorage().load(session.id).metadata == {"git_branch": "feature/api-v2"}
    with pytest.raises(ValueError):
        manager.set_metadata("", 1)
