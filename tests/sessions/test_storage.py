"""SessionStorage: folders, paths, save/load, delete, backups, listing, size and cleanup."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from opencode.sessions import (
    InvalidSessionIdError,
    InvalidSessionValueError,
    Session,
    SessionCorruptedError,
    SessionIndex,
    SessionMessage,
    SessionNotFoundError,
    SessionStorage,
    SessionStorageError,
    SessionVersionError,
)

UTC = timezone.utc


def make_session(session_id: str = "s1", title: str = "t", **fields: object) -> Session:
    return Session(id=session_id, title=title, working_dir="/w", **fields)  # type: ignore[arg-type]


@pytest.fixture
def storage(tmp_path: Path) -> SessionStorage:
    return SessionStorage(tmp_path / "store")


# -- folders ----------------------------------------------------------------------------------


def test_default_dir_honours_opencode_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(tmp_path / "custom-data"))
    assert SessionStorage.get_default_dir() == tmp_path / "custom-data" / "sessions"
    assert SessionStorage().storage_dir == tmp_path / "custom-data" / "sessions"


def test_default_dir_falls_back_to_xdg_data_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENCODE_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert SessionStorage().storage_dir == tmp_path / "xdg" / "opencode" / "sessions"


def test_default_dir_expands_a_tilde(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCODE_DATA_DIR", "~/od")
    assert SessionStorage().storage_dir == Path(os.environ["HOME"]) / "od" / "sessions"


def test_default_dir_is_read_when_a_storage_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(tmp_path / "first"))
    first = SessionStorage()
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(tmp_path / "second"))
    second = SessionStorage()
    assert first.storage_dir == tmp_path / "first" / "sessions"
    assert second.storage_dir == tmp_path / "second" / "sessions"
    first.save(make_session("a"))
    assert (tmp_path / "first/sessions/a.json").is_file()
    assert not (tmp_path / "second").exists()


def test_constructing_a_storage_creates_nothing(tmp_path: Path) -> None:
    SessionStorage(tmp_path / "nowhere")
    SessionStorage()
    assert not (tmp_path / "nowhere").exists()
    assert not (tmp_path / "data").exists()


def test_explicit_dir_as_str_or_path(tmp_path: Path) -> None:
    assert SessionStorage(str(tmp_path / "x")).storage_dir == tmp_path / "x"
    assert SessionStorage(tmp_path / "x").storage_dir == tmp_path / "x"


def test_project_dir() -> None:
    expected = Path("/home/user/project/.opencode/sessions")
    assert SessionStorage.get_project_dir("/home/user/project") == expected
    assert SessionStorage.get_project_dir(Path("/home/user/project")) == expected


def test_save_creates_the_folder_with_parents(tmp_path: Path) -> None:
    storage = SessionStorage(tmp_path / "a/b/c")
    storage.save(make_session())
    assert (tmp_path / "a/b/c/s1.json").is_file()


# -- paths and ids ----------------------------------------------------------------------------


def test_paths(storage: SessionStorage) -> None:
    assert storage.get_path("abc") == storage.storage_dir / "abc.json"
    assert storage.get_backup_path("abc") == storage.storage_dir / "abc.backup"
    assert storage.get_journal_path("abc") == storage.storage_dir / "abc.jsonl"
    # in a folder of its own: SQLite's -wal/-shm coming and going never touch the sessions folder
    assert storage.index_path == storage.storage_dir / ".index" / "index-v1.db"


@pytest.mark.parametrize(
    "bad",
    ["", "../etc/passwd", "a/b", "a\\b", "..", "a..b", ".hidden", "index", "INDEX", "x" * 129],
)
def test_unsafe_ids_are_refused_before_any_path_is_built(storage: SessionStorage, bad: str) -> None:
    for call in (storage.get_path, storage.get_backup_path, storage.exists, storage.load):
        with pytest.raises(InvalidSessionIdError):
            call(bad)
    with pytest.raises(ValueError):  # also a ValueError for callers that expect one
        storage.delete(bad)
    with pytest.raises(InvalidSessionIdError):
        storage.save(Session(id=bad))


def test_non_string_id_is_refused(storage: SessionStorage) -> None:
    with pytest.raises(InvalidSessionIdError):
        storage.get_path(5)  # type: ignore[arg-type]


# -- save / load ------------------------------------------------------------------------------


def test_save_then_load_returns_an_equal_session(storage: SessionStorage) -> None:
    session = make_session(
        "full",
        model="m",
        tags=["a"],
        metadata={"k": [1, {"x": None}]},
        total_prompt_tokens=3,
        total_completion_tokens=4,
    )
    session.add_message(SessionMessage(role="user", content="hi"))
    session.record_tool_call("bash", {"command": "ls"}, result={"out": "x"}, duration=0.5)
    storage.save(session)
    assert storage.exists("full")
    loaded = storage.load("full")
    assert loaded == session
    assert loaded is not session


def test_saved_file_is_the_spec_format(storage: SessionStorage) -> None:
    session = make_session(title="Grüße")
    storage.save(session)
    raw = storage.get_path("s1").read_bytes()
    assert raw.endswith(b"\n")
    assert raw.startswith(b'{\n  "version": 1,\n  "id": "s1",')
    assert "Grüße".encode() in raw  # UTF-8, not escaped
    assert json.loads(raw) == session.to_dict()


def test_save_overwrites_and_keeps_the_previous_version_as_backup(
    storage: SessionStorage,
) -> None:
    session = make_session(title="one")
    storage.save(session)
    assert not storage.get_backup_path("s1").exists()
    session.title = "two"
    storage.save(session)
    assert storage.load("s1").title == "two"
    assert json.loads(storage.get_backup_path("s1").read_text())["title"] == "one"
    session.title = "three"
    storage.save(session)
    assert json.loads(storage.get_backup_path("s1").read_text())["title"] == "two"


def test_save_leaves_no_temporary_files(storage: SessionStorage) -> None:
    for i in range(3):
        storage.save(make_session(title=str(i)))
    assert sorted(p.name for p in storage.storage_dir.iterdir()) == ["s1.backup", "s1.json"]


def test_load_missing_raises_not_found(storage: SessionStorage) -> None:
    with pytest.raises(SessionNotFoundError) as caught:
        storage.load("missing")
    assert caught.value.session_id == "missing"
    assert isinstance(caught.value, SessionStorageError)
    assert storage.load_or_none("missing") is None
    assert storage.exists("missing") is False


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"{not json", "JSON"),
        (b"[]", "object"),
        (b'{"id": "s1"}', "created_at"),
        (b"\xff\xfe garbage", "JSON"),
    ],
)
def test_load_of_a_malformed_file_raises_corrupted_with_the_path(
    storage: SessionStorage, content: bytes, problem: str
) -> None:
    storage.ensure_dir()
    storage.get_path("s1").write_bytes(content)
    with pytest.raises(SessionCorruptedError, match=problem) as caught:
        storage.load("s1")
    assert caught.value.path == storage.get_path("s1")
    assert str(storage.get_path("s1")) in str(caught.value)
    with pytest.raises(SessionCorruptedError):
        storage.load_or_none("s1")


def test_load_refuses_a_file_holding_another_session(storage: SessionStorage) -> None:
    storage.save(make_session("other"))
    os.replace(storage.get_path("other"), storage.get_path("s1"))
    with pytest.raises(SessionCorruptedError, match="other"):
        storage.load("s1")


def test_load_refuses_a_newer_format_version(storage: SessionStorage) -> None:
    data = make_session().to_dict()
    data["version"] = 99
    storage.ensure_dir()
    storage.get_path("s1").write_text(json.dumps(data))
    with pytest.raises(SessionVersionError, match="newer") as caught:
        storage.load("s1")
    assert caught.value.path == storage.get_path("s1")


def test_load_of_an_out_of_range_timestamp_is_corrupted(storage: SessionStorage) -> None:
    data = make_session().to_dict()
    data["created_at"] = "0001-01-01T00:00:00+01:00"
    storage.ensure_dir()
    storage.get_path("s1").write_text(json.dumps(data))
    with pytest.raises(SessionCorruptedError):
        storage.load("s1")


def test_a_folder_in_place_of_a_snapshot_is_a_damaged_session_naming_it(
    storage: SessionStorage,
) -> None:
    storage.ensure_dir()
    storage.get_path("s1").mkdir()
    with pytest.raises(SessionCorruptedError, match="a folder, not a regular file") as caught:
        storage.load("s1")
    assert caught.value.path == storage.get_path("s1")


def test_integers_beyond_64_bits_are_refused_and_the_saved_file_kept(
    storage: SessionStorage,
) -> None:
    # orjson reads such integers back as floats; refusing them keeps every file exact.
    storage.save(make_session(metadata={"ok": 1}))
    before = storage.get_path("s1").read_bytes()
    with pytest.raises(InvalidSessionValueError, match="64-bit"):
        storage.save(make_session(metadata={"big": 2**64}))
    with pytest.raises(InvalidSessionValueError):
        storage.save(make_session(total_prompt_tokens=2**64))
    assert storage.get_path("s1").read_bytes() == before
    assert storage.load("s1").metadata == {"ok": 1}
    assert list(storage.storage_dir.glob(".*.tmp")) == []


def test_load_applies_journal_records_written_after_the_snapshot(
    storage: SessionStorage,
) -> None:
    from opencode.sessions.journal import OP_MESSAGE, make_record

    session = make_session()
    storage.save(session)
    journal = storage.open_journal("s1")
    record = make_record(
        session, OP_MESSAGE, {"message": SessionMessage(role="user", content="hi").to_dict()}
    )
    journal.append([record])
    journal.close()
    loaded, report = storage.load_with_report("s1")
    assert [m.content for m in loaded.messages] == ["hi"]
    assert (loaded.journal_seq, report.applied) == (1, 1)
    assert storage.load("s1") == loaded
    storage.save(loaded)  # a snapshot folds the journal in: no records are left
    journal_path = storage.get_journal_path("s1")
    assert not journal_path.exists() or journal_path.stat().st_size == 0
    assert storage.load("s1") == loaded


# -- delete -----------------------------------------------------------------------------------


def test_delete_removes_session_backup_and_journal(storage: SessionStorage) -> None:
    session = make_session()
    storage.save(session)
    storage.save(session)
    storage.get_journal_path("s1").write_bytes(b"")
    storage.save(make_session("keep"))
    assert storage.delete("s1") is True
    assert sorted(p.name for p in storage.storage_dir.iterdir()) == ["keep.json"]
    assert storage.exists("s1") is False
    assert storage.delete("s1") is False


def test_delete_of_a_missing_session_returns_false(storage: SessionStorage) -> None:
    assert storage.delete("never-was") is False
    storage.ensure_dir()
    assert storage.delete("never-was") is False


def test_delete_removes_a_lone_backup(storage: SessionStorage) -> None:
    storage.ensure_dir()
    storage.get_backup_path("s1").write_text("{}")
    assert storage.delete("s1") is True
    assert not storage.get_backup_path("s1").exists()


# -- listing and size -------------------------------------------------------------------------


def test_list_session_ids_is_sorted_and_ignores_other_files(storage: SessionStorage) -> None:
    for session_id in ("b", "a", "c-1"):
        storage.save(make_session(session_id))
    storage.save(make_session("a"))  # creates a.backup
    for name in ("index.json", ".a.json.tmp", "bad name.json", ".hidden.json", "x.jsonl", "y.txt"):
        (storage.storage_dir / name).write_text("{}")
    (storage.storage_dir / "sub.json").mkdir()
    assert storage.list_session_ids() == ["a", "b", "c-1", "sub"]


def test_list_session_ids_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert SessionStorage(tmp_path / "none").list_session_ids() == []


def test_listing_a_file_instead_of_a_folder_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(SessionStorageError, match="cannot list"):
        SessionStorage(tmp_path / "file").list_session_ids()


def test_storage_size_counts_every_file(storage: SessionStorage) -> None:
    assert storage.get_storage_size() == 0  # folder does not exist yet
    storage.save(make_session("a"))
    storage.save(make_session("a"))
    storage.save(make_session("b"))
    (storage.storage_dir / "extra.txt").write_bytes(b"12345")
    expected = sum(p.stat().st_size for p in storage.storage_dir.iterdir() if p.is_file())
    assert storage.get_storage_size() == expected
    assert expected >= 5 + 3 * len(make_session("a").to_json())
    assert storage.session_size("a") == (
        storage.get_path("a").stat().st_size + storage.get_backup_path("a").stat().st_size
    )
    assert storage.session_size("missing") == 0


# -- backups ----------------------------------------------------------------------------------


def test_recover_from_backup_restores_the_previous_version(
    storage: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    session = make_session(title="first")
    storage.save(session)
    session.title = "second"
    storage.save(session)
    storage.get_path("s1").write_bytes(b'{"id": "s1", "trunc')
    with pytest.raises(SessionCorruptedError):
        storage.load("s1")
    with caplog.at_level(logging.INFO):
        assert storage.recover_from_backup("s1") is True
    assert storage.load("s1").title == "first"
    assert "restored session s1" in caplog.text


def test_recover_without_backup_returns_false(storage: SessionStorage) -> None:
    storage.save(make_session())
    storage.get_path("s1").write_bytes(b"garbage")
    assert storage.recover_from_backup("s1") is False
    assert storage.get_path("s1").read_bytes() == b"garbage"
    assert storage.recover_from_backup("never-saved") is False


def test_recover_refuses_a_corrupt_backup(storage: SessionStorage) -> None:
    storage.save(make_session())
    storage.get_backup_path("s1").write_bytes(b"{broken")
    assert storage.recover_from_backup("s1") is False


def test_recover_refuses_a_backup_of_another_session(storage: SessionStorage) -> None:
    storage.save(make_session("other"))
    storage.get_backup_path("s1").write_bytes(storage.get_path("other").read_bytes())
    assert storage.recover_from_backup("s1") is False


# -- cleanup ----------------------------------------------------------------------------------


def _aged(storage: SessionStorage, session_id: str, days: float) -> Session:
    when = datetime.now(UTC) - timedelta(days=days)
    session = make_session(session_id, created_at=when, updated_at=when)
    storage.save(session)
    return session


def test_cleanup_deletes_old_sessions_beyond_the_minimum(storage: SessionStorage) -> None:
    for i in range(3):
        _aged(storage, f"new-{i}", days=i)
    for i in range(4):
        _aged(storage, f"old-{i}", days=40 + i)
    deleted = storage.cleanup_old_sessions(max_age_days=30, keep_minimum=5)
    # Newest 5 kept (new-0..2, old-0, old-1); of the rest, all are old: oldest first.
    assert deleted == ["old-3", "old-2"]
    assert storage.list_session_ids() == ["new-0", "new-1", "new-2", "old-0", "old-1"]
    assert not storage.get_backup_path("old-3").exists()
    # the rows as the cleanup left them, read raw (before any reconcile could fix them)
    assert indexed_ids(storage) == storage.list_session_ids()
    index = SessionIndex(storage)
    assert sorted(index.ids()) == storage.list_session_ids()


def indexed_ids(storage: SessionStorage) -> list[str]:
    """The ids of the index database's rows, read with plain SQLite."""
    uri = storage.index_path.absolute().as_uri() + "?mode=rw"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        return [row[0] for row in db.execute("SELECT id FROM sessions ORDER BY id")]


def test_cleanup_keeps_recent_sessions_even_beyond_the_minimum(storage: SessionStorage) -> None:
    for i in range(6):
        _aged(storage, f"s{i}", days=i)
    assert storage.cleanup_old_sessions(max_age_days=30, keep_minimum=1) == []
    assert len(storage.list_session_ids()) == 6


def test_cleanup_keeps_the_minimum_even_when_all_are_old(storage: SessionStorage) -> None:
    for i in range(4):
        _aged(storage, f"s{i}", days=100 + i)
    assert storage.cleanup_old_sessions(max_age_days=30, keep_minimum=10) == []
    assert storage.cleanup_old_sessions(max_age_days=30, keep_minimum=0) == ["s3", "s2", "s1", "s0"]
    assert storage.list_session_ids() == []


def test_cleanup_defaults_and_empty_storage(storage: SessionStorage) -> None:
    assert storage.cleanup_old_sessions() == []
    for i in range(12):
        _aged(storage, f"s{i:02d}", days=31 + i)
    assert storage.cleanup_old_sessions() == ["s11", "s10"]  # 30 days, keep 10


def test_cleanup_rejects_negative_arguments(storage: SessionStorage) -> None:
    with pytest.raises(ValueError):
        storage.cleanup_old_sessions(max_age_days=-1)
    with pytest.raises(ValueError):
        storage.cleanup_old_sessions(keep_minimum=-1)
