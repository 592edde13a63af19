"""SessionManager: lifecycle, recording, titles and tags, listing, events, index discipline."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions import (
    InvalidSessionIdError,
    InvalidSessionValueError,
    Session,
    SessionManager,
    SessionMessage,
    SessionNotFoundError,
    SessionStorage,
)

UTC = timezone.utc


@pytest.fixture(autouse=True)
def work_dir(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = isolated_env / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def manager() -> SessionManager:
    return SessionManager.get_instance()


@pytest.fixture
def storage(manager: SessionManager) -> SessionStorage:
    return manager.storage


def stored(session_id: str) -> Session:
    """The session as a fresh reader (another process) would see it."""
    return SessionStorage().load(session_id)


def seed(
    storage: SessionStorage,
    session_id: str,
    *,
    hours: float = 0,
    working_dir: str = "/proj",
    title: str = "",
    model: str | None = None,
) -> Session:
    when = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=hours)
    session = Session(
        id=session_id,
        title=title,
        working_dir=working_dir,
        model=model,
        created_at=when,
        updated_at=when,
    )
    storage.save(session)
    return session


def lock_files(storage: SessionStorage, session_id: str) -> list[str]:
    return sorted(
        p.name
        for p in storage.storage_dir.glob(f"{session_id}.*")
        if p.suffix in {".lock", ".owner"}
    )


def index_entries(storage: SessionStorage) -> dict[str, dict[str, Any]]:
    """The index's rows in the spec's entry shape, read with plain SQLite as the manager left
    them: no reconcile runs, so a missed index update shows."""
    uri = storage.index_path.absolute().as_uri() + "?mode=rw"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM sessions").fetchall()
    return {
        row["id"]: {
            "title": row["title"],
            "message_count": row["message_count"],
            "total_tokens": row["prompt_tokens"] + row["completion_tokens"],
            "tags": json.loads(row["tags"]),
            "model": row["model"],
            "working_dir": row["working_dir"],
        }
        for row in rows
    }


class Recorder:
    """Registers on every session event and remembers what it was called with."""

    def __init__(self, manager: SessionManager) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        for event in ("session:start", "session:end", "session:message", "session:save"):
            manager.register_hook(event, self._make(event))

    def _make(self, event: str) -> Any:
        def callback(*args: Any) -> None:
            self.calls.append((event, args))

        return callback

    def events(self) -> list[str]:
        return [event for event, _ in self.calls]


# -- singleton --------------------------------------------------------------------------------


def test_get_instance_is_a_singleton(manager: SessionManager) -> None:
    assert SessionManager.get_instance() is manager
    assert manager.storage.storage_dir == Path(os.environ["OPENCODE_DATA_DIR"]) / "sessions"


def test_reset_instance_closes_the_current_session(manager: SessionManager) -> None:
    session = manager.create(title="kept")
    manager.add_message("assistant", "hello")
    SessionManager.reset_instance()
    assert manager.has_current is False
    assert lock_files(manager.storage, session.id) == []
    assert [m.content for m in stored(session.id).messages] == ["hello"]
    fresh = SessionManager.get_instance()
    assert fresh is not manager
    assert fresh.has_current is False
    SessionManager.reset_instance()
    SessionManager.reset_instance()  # nothing to reset: fine


def test_get_instance_accepts_a_storage_the_first_time(tmp_path: Path) -> None:
    custom = SessionStorage(tmp_path / "custom")
    manager = SessionManager.get_instance(storage=custom)
    assert manager.storage is custom
    assert SessionManager.get_instance(storage=SessionStorage(tmp_path / "x")) is manager


# -- create -----------------------------------------------------------------------------------


def test_create_defaults(manager: SessionManager, work_dir: Path) -> None:
    recorder = Recorder(manager)
    session = manager.create()
    assert session.working_dir == str(work_dir)
    assert (session.title, session.model, session.tags) == ("", None, [])
    assert manager.current_session is session
    assert manager.has_current is True
    assert stored(session.id) == session  # on disk at once
    assert session.id in index_entries(manager.storage)
    assert lock_files(manager.storage, session.id) == [f"{session.id}.lock", f"{session.id}.owner"]
    assert recorder.calls == [("session:start", (session,))]


def test_create_with_arguments_cleans_title_and_tags(manager: SessionManager) -> None:
    session = manager.create(
        title="  My \x1b[1m  title\n",
        working_dir=Path("/home/user/project/"),
        model="anthropic/claude-3-opus",
        tags=[" api", "api", "python "],
    )
    assert session.title == "My [1m title"
    assert session.working_dir == "/home/user/project"
    assert session.model == "anthropic/claude-3-opus"
    assert session.tags == ["api", "python"]
    assert stored(session.id).tags == ["api", "python"]


def test_create_with_a_relative_working_dir_makes_it_absolute(
    manager: SessionManager, work_dir: Path
) -> None:
    assert manager.create(working_dir="sub").working_dir == str(work_dir / "sub")


@pytest.mark.parametrize("kwargs", [{"tags": ["two words"]}, {"tags": [""]}, {"title": "x" * 201}])
def test_create_rejects_bad_values_before_writing(
    manager: SessionManager, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InvalidSessionValueError):
        manager.create(**kwargs)
    assert manager.has_current is False
    assert manager.storage.list_session_ids() == []


def test_create_while_current_saves_and_releases_the_previous(manager: SessionManager) -> None:
    recorder = Recorder(manager)
    first = manager.create(title="first")
    manager.add_message("assistant", "from the first")
    manager.update_usage(prompt_tokens=3)
    second = manager.create(title="second")
    assert manager.current_session is second
    assert recorder.events() == [
        "session:start",
        "session:message",
        "session:save",  # closing the first writes its snapshot
        "session:end",
        "session:start",
    ]
    assert recorder.calls[2][1] == recorder.calls[3][1] == (first,)
    assert lock_files(manager.storage, first.id) == []
    assert not manager.storage.get_journal_path(first.id).exists()
    previous = stored(first.id)
    assert [m.content for m in previous.messages] == ["from the first"]
    assert previous.total_prompt_tokens == 3
    assert index_entries(manager.storage)[first.id]["message_count"] == 1


# -- resume -----------------------------------------------------------------------------------


def test_resume_loads_and_takes_the_session(
    manager: SessionManager, storage: SessionStorage
) -> None:
    seeded = seed(storage, "s1", title="Old")
    recorder = Recorder(manager)
    session = manager.resume("s1")
    assert session == seeded
    assert manager.current_session is session
    assert lock_files(storage, "s1") == ["s1.lock", "s1.owner"]
    assert recorder.calls == [("session:start", (session,))]


def test_resume_the_current_session_is_a_no_op(manager: SessionManager) -> None:
    session = manager.create()
    recorder = Recorder(manager)
    assert manager.resume(session.id) is session
    assert recorder.calls == []


def test_resume_switches_from_the_current_session(
    manager: SessionManager, storage: SessionStorage
) -> None:
    seed(storage, "s1")
    first = manager.create()
    manager.add_message("assistant", "x")
    recorder = Recorder(manager)
    manager.resume("s1")
    assert recorder.events() == ["session:save", "session:end", "session:start"]
    assert lock_files(storage, first.id) == []
    assert stored(first.id).message_count == 1


def test_resume_missing_leaves_the_current_session_alone(manager: SessionManager) -> None:
    current = manager.create()
    with pytest.raises(SessionNotFoundError):
        manager.resume("missing")
    assert manager.current_session is current
    assert lock_files(manager.storage, "missing") == []


def test_resume_invalid_id(manager: SessionManager) -> None:
    with pytest.raises(InvalidSessionIdError):
        manager.resume("../etc")


def test_resume_latest(manager: SessionManager, storage: SessionStorage) -> None:
    assert manager.resume_latest() is None
    assert manager.has_current is False
    seed(storage, "older", hours=1)
    seed(storage, "newest", hours=3)
    seed(storage, "middle", hours=2)
    session = manager.resume_latest()
    assert session is not None and session.id == "newest"
    assert manager.current_session is session


def test_resume_or_create_resumes_the_latest_in_that_folder(
    manager: SessionManager, storage: SessionStorage
) -> None:
    seed(storage, "proj-old", hours=1, working_dir="/proj")
    seed(storage, "proj-new", hours=2, working_dir="/proj/", model="m1")
    seed(storage, "elsewhere", hours=9, working_dir="/elsewhere")
    session = manager.resume_or_create(working_dir="/proj")
    assert session.id == "proj-new"
    assert session.model == "m1"  # no model given: unchanged


def test_resume_or_create_switches_the_model(
    manager: SessionManager, storage: SessionStorage
) -> None:
    seed(storage, "s1", working_dir="/proj", model="old-model")
    session = manager.resume_or_create(working_dir="/proj", model="new-model")
    assert session.id == "s1" and session.model == "new-model"
    assert stored("s1").model == "new-model"
    assert index_entries(storage)["s1"]["model"] == "new-model"


def test_resume_or_create_creates_when_nothing_matches(
    manager: SessionManager, storage: SessionStorage, work_dir: Path
) -> None:
    seed(storage, "elsewhere", working_dir="/elsewhere")
    session = manager.resume_or_create(model="m", title="New here", tags=["t"])
    assert session.id != "elsewhere"
    assert (session.working_dir, session.model, session.title, session.tags) == (
        str(work_dir),
        "m",
        "New here",
        ["t"],
    )
    again = manager.resume_or_create()  # cwd again: the session just made
    assert again is session


def test_set_model(manager: SessionManager) -> None:
    session = manager.create(model="a")
    manager.set_model("b")
    assert session.model == "b"
    assert stored(session.id).model == "b"
    manager.set_model(None)
    assert session.model is None
    for bad in ("", "   ", 3):
        with pytest.raises(ValueError):
            manager.set_model(bad)  # type: ignore[arg-type]
    assert session.model is None


# -- save / close -----------------------------------------------------------------------------


def test_save(manager: SessionManager, storage: SessionStorage) -> None:
    assert manager.save() is False
    session = manager.create()
    recorder = Recorder(manager)
    manager.add_message("assistant", "hi")
    assert storage.get_journal_path(session.id).stat().st_size > 0
    assert manager.is_dirty is True
    assert manager.save() is True
    assert manager.is_dirty is False
    assert storage.get_journal_path(session.id).stat().st_size == 0
    snapshot = json.loads(storage.get_path(session.id).read_text())
    assert [m["content"] for m in snapshot["messages"]] == ["hi"]
    assert recorder.calls[-1] == ("session:save", (session,))


def test_metadata_changes_are_saved(manager: SessionManager) -> None:
    session = manager.create()
    assert manager.is_dirty is False
    session.metadata["git_branch"] = "main"
    assert manager.is_dirty is True
    manager.save()
    assert stored(session.id).metadata == {"git_branch": "main"}
    assert manager.is_dirty is False


def test_close_with_nothing_new_neither_rewrites_nor_announces_a_save(
    manager: SessionManager, storage: SessionStorage
) -> None:
    session = manager.create()
    manager.add_message("assistant", "saved")
    manager.save()
    before = storage.get_path(session.id).stat()
    recorder = Recorder(manager)
    manager.close()
    assert recorder.events() == ["session:end"]
    after = storage.get_path(session.id).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_every_snapshot_write_announces_session_save(storage: SessionStorage) -> None:
    manager = SessionManager(
        storage, auto_save_interval=0, compact_journal_bytes=2000, fire_shell_hooks=False
    )
    recorder = Recorder(manager)
    manager.create()
    manager.add_message("user", "x" * 2500)  # past the threshold: compacted inline
    assert recorder.events() == ["session:start", "session:save", "session:message"]
    manager.add_message("assistant", "y")
    manager.close()
    assert recorder.events()[-2:] == ["session:save", "session:end"]


def test_close(manager: SessionManager, storage: SessionStorage) -> None:
    manager.close()  # nothing open: fine
    session = manager.create()
    manager.add_message("assistant", "bye")
    session.metadata["k"] = "v"
    recorder = Recorder(manager)
    manager.close()
    assert manager.has_current is False
    assert manager.current_session is None
    assert recorder.calls == [("session:save", (session,)), ("session:end", (session,))]
    assert lock_files(storage, session.id) == []
    assert not storage.get_journal_path(session.id).exists()
    assert stored(session.id) == session
    assert manager.is_dirty is False


# -- delete -----------------------------------------------------------------------------------


def test_delete_missing_returns_false(manager: SessionManager) -> None:
    assert manager.delete("missing") is False
    with pytest.raises(InvalidSessionIdError):
        manager.delete("../x")


def test_delete_a_stored_session(manager: SessionManager, storage: SessionStorage) -> None:
    seed(storage, "s1")
    seed(storage, "s2")
    current = manager.create()
    manager.list_sessions()  # files written behind the index's back get indexed on a read
    assert "s1" in index_entries(storage)
    assert manager.delete("s1") is True
    assert not storage.exists("s1")
    assert "s1" not in index_entries(storage)
    assert lock_files(storage, "s1") == []
    assert manager.current_session is current
    assert [s.id for s in manager.list_sessions()] == [current.id, "s2"]


def test_delete_the_current_session(manager: SessionManager, storage: SessionStorage) -> None:
    session = manager.create()
    manager.add_message("assistant", "x")
    assert manager.delete(session.id) is True
    assert manager.has_current is False
    assert list(storage.storage_dir.glob(f"{session.id}*")) == []
    assert session.id not in index_entries(storage)
    assert manager.get_session(session.id) is None


# -- listing ----------------------------------------------------------------------------------


def test_list_sessions_with_filters(manager: SessionManager, storage: SessionStorage) -> None:
    for i, (title, folder, tags) in enumerate(
        [
            ("Refactor API", "/proj", ["python", "api"]),
            ("Auth work", "/proj", ["python"]),
            ("Parser bug", "/other", ["rust"]),
        ]
    ):
        session = seed(storage, f"s{i}", hours=i, working_dir=folder, title=title)
        session.tags = tags
        session.total_prompt_tokens = 10 * (3 - i)
        storage.save(session)
    assert [s.id for s in manager.list_sessions()] == ["s2", "s1", "s0"]
    assert [s.id for s in manager.list_sessions(limit=1, offset=1)] == ["s1"]
    assert [s.id for s in manager.list_sessions(tags=["python", "api"])] == ["s0"]
    assert [s.id for s in manager.list_sessions(search="BUG")] == ["s2"]
    assert [s.id for s in manager.list_sessions(working_dir="/proj")] == ["s1", "s0"]
    assert [s.id for s in manager.list_sessions(sort_by="title", descending=False)] == [
        "s1",
        "s2",
        "s0",
    ]
    assert [s.id for s in manager.list_sessions(sort_by="tokens")] == ["s0", "s1", "s2"]
    with pytest.raises(ValueError):
        manager.list_sessions(sort_by="nope")


def test_list_sessions_sees_sessions_written_by_others(manager: SessionManager) -> None:
    assert manager.list_sessions() == []
    other = SessionManager()  # e.g. another terminal
    made = other.create(title="from elsewhere")
    other.close()
    assert [s.id for s in manager.list_sessions()] == [made.id]


def test_get_session(manager: SessionManager, storage: SessionStorage) -> None:
    seed(storage, "s1", title="stored")
    current = manager.create()
    assert manager.get_session(current.id) is current
    loaded = manager.get_session("s1")
    assert loaded is not None and loaded.title == "stored"
    assert manager.get_session("missing") is None


# -- recording --------------------------------------------------------------------------------


def test_add_message_needs_a_current_session(manager: SessionManager) -> None:
    with pytest.raises(ValueError, match="no current session"):
        manager.add_message("user", "hi")
    with pytest.raises(ValueError):
        manager.record_tool_call("bash")
    with pytest.raises(ValueError):
        manager.update_usage(prompt_tokens=1)
    with pytest.raises(ValueError):
        manager.set_title("x")
    with pytest.raises(ValueError):
        manager.add_tag("x")
    with pytest.raises(ValueError):
        manager.remove_tag("x")
    with pytest.raises(ValueError):
        manager.generate_title()


@pytest.mark.parametrize(("role", "content"), [("", "x"), (None, "x"), ("user", None), ("user", 5)])
def test_add_message_validates_role_and_content(
    manager: SessionManager, role: Any, content: Any
) -> None:
    session = manager.create()
    with pytest.raises(ValueError):
        manager.add_message(role, content)
    assert session.messages == []


def test_add_message_stores_every_field_durably(manager: SessionManager) -> None:
    session = manager.create(title="t")
    recorder = Recorder(manager)
    calls = [{"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}}]
    plain = manager.add_message("user", "hi")
    with_calls = manager.add_message("assistant", "reading", tool_calls=calls)
    result = manager.add_message("tool", "content", tool_call_id="c1", name="read")
    assert session.messages == [plain, with_calls, result]
    assert isinstance(plain, SessionMessage)
    assert with_calls.tool_calls == calls
    assert (result.tool_call_id, result.name) == ("c1", "read")
    assert session.updated_at >= result.timestamp
    # Durable without save(): a fresh reader replays the journal.
    assert stored(session.id).messages == session.messages
    assert recorder.calls == [
        ("session:message", (session, plain)),
        ("session:message", (session, with_calls)),
        ("session:message", (session, result)),
    ]


def test_add_message_with_undecodable_input_keeps_the_session_usable(
    manager: SessionManager,
) -> None:
    # Text read from a terminal with invalid UTF-8 carries lone surrogates (surrogateescape).
    session = manager.create(title="t")
    raw = b"bad \xff byte".decode("utf-8", "surrogateescape")
    manager.add_message("user", raw)
    assert stored(session.id).messages[0].content == "bad \ufffd byte"
    manager.add_message("user", "fine")
    assert stored(session.id).messages[-1].content == "fine"


def test_record_tool_call(manager: SessionManager) -> None:
    session = manager.create()
    ok = manager.record_tool_call(
        tool_name="bash",
        arguments={"command": "git status"},
        result={"output": "clean"},
        duration=0.25,
        success=True,
    )
    failed = manager.record_tool_call(
        tool_name="read", arguments={"file_path": "/x"}, success=False, error="FileNotFoundError"
    )
    assert session.tool_history == [ok, failed]
    assert (ok.tool_name, ok.arguments, ok.result, ok.duration) == (
        "bash",
        {"command": "git status"},
        {"output": "clean"},
        0.25,
    )
    assert (failed.result, failed.success, failed.error) == (None, False, "FileNotFoundError")
    assert stored(session.id).tool_history == [ok, failed]


def test_update_usage_totals_are_exact(manager: SessionManager) -> None:
    session = manager.create()
    manager.update_usage(prompt_tokens=1500, completion_tokens=800)
    manager.update_usage(prompt_tokens=1)
    manager.update_usage(completion_tokens=2)
    manager.update_usage()
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (1501, 802)
    assert session.total_tokens == 2303
    again = stored(session.id)
    assert (again.total_prompt_tokens, again.total_completion_tokens) == (1501, 802)


@pytest.mark.parametrize("bad", [-1, 2.0, True, "10", None])
def test_update_usage_rejects_bad_counts(manager: SessionManager, bad: Any) -> None:
    session = manager.create()
    manager.update_usage(prompt_tokens=5)
    with pytest.raises(ValueError):
        manager.update_usage(prompt_tokens=bad)
    with pytest.raises(ValueError):
        manager.update_usage(completion_tokens=bad)
    assert session.total_tokens == 5
    assert stored(session.id).total_tokens == 5


def compaction_threshold(storage: SessionStorage, session_id: str, floor: int) -> int:
    """When the journal is due to be folded: past the floor and twice the snapshot."""
    return max(floor, 2 * storage.get_path(session_id).stat().st_size)


def test_large_journal_is_folded_into_the_snapshot_inline_without_autosave() -> None:
    manager = SessionManager(auto_save_interval=0, compact_journal_bytes=2000)
    saves: list[int] = []
    manager.register_hook("session:save", lambda s: saves.append(s.message_count))
    try:
        session = manager.create()
        journal = manager.storage.get_journal_path(session.id)
        for i in range(20):
            manager.add_message("assistant", f"message {i} " + "x" * 100)
            # every append returns with the journal below the threshold: folded inline
            threshold = compaction_threshold(manager.storage, session.id, 2000)
            assert journal.stat().st_size < threshold, i
        assert saves  # the journal passed 2000 bytes at least once, and was folded
        snapshot = json.loads(manager.storage.get_path(session.id).read_text())
        assert len(snapshot["messages"]) == saves[-1] > 0
        assert stored(session.id).messages == session.messages
    finally:
        manager.close()


def test_compaction_is_geometric_so_a_long_session_is_rewritten_a_few_times() -> None:
    """Folding at max(floor, 2 x snapshot) rewrites a session O(log n) times, not n/k."""
    manager = SessionManager(auto_save_interval=0, compact_journal_bytes=2000)
    written: list[int] = []

    def on_save(saved: Session) -> None:
        written.append(manager.storage.get_path(saved.id).stat().st_size)

    manager.register_hook("session:save", on_save)
    try:
        session = manager.create()
        for i in range(400):
            manager.add_message("user", f"message {i} " + "x" * 100)
        journal = manager.storage.get_journal_path(session.id).stat().st_size
        final = manager.storage.get_path(session.id).stat().st_size + journal
        # a fixed 2000-byte threshold would have rewritten it ~40 times
        assert 3 <= len(written) <= 8, written
        assert sum(written) <= 3 * final, (written, final)
        for before, after in itertools.pairwise(written):
            assert after >= 2 * before  # each rewrite at least doubles the snapshot
        assert stored(session.id).messages == session.messages
    finally:
        manager.close()


def test_large_journal_is_folded_in_the_background_with_autosave() -> None:
    import threading

    # the interval is far longer than the test: only the journal's size can start a save
    manager = SessionManager(auto_save_interval=3600, compact_journal_bytes=2000)
    saving_threads: set[threading.Thread] = set()
    folded = threading.Event()

    def on_save(saved: Session) -> None:  # after the snapshot is written and the journal cut
        saving_threads.add(threading.current_thread())
        if json.loads(manager.storage.get_path(saved.id).read_text())["messages"]:
            folded.set()

    manager.register_hook("session:save", on_save)
    try:
        session = manager.create()
        for i in range(20):  # about 4000 bytes of journal: past 2000 (and 2 x the snapshot)
            manager.add_message("assistant", f"message {i} " + "x" * 100)
        assert folded.wait(60)
        assert threading.current_thread() not in saving_threads  # the caller never waited
        assert stored(session.id).messages == session.messages
    finally:
        manager.close()


# -- titles -----------------------------------------------------------------------------------


def test_first_user_message_titles_an_untitled_session(
    manager: SessionManager, storage: SessionStorage
) -> None:
    session = manager.create()
    manager.add_message("system", "You are helpful")
    manager.add_message("assistant", "Hi")
    assert session.title == ""
    manager.add_message("user", "Fix the flaky parser test")
    assert session.title == "Fix the flaky parser test"
    manager.add_message("user", "Something else")
    assert session.title == "Fix the flaky parser test"
    assert stored(session.id).title == "Fix the flaky parser test"
    assert index_entries(storage)[session.id]["title"] == "Fix the flaky parser test"


def test_auto_title_is_short(manager: SessionManager) -> None:
    session = manager.create()
    manager.add_message("user", "Help me refactor the API client so that it supports retries")
    assert session.title == "Help me refactor the API client so that it..."
    assert len(session.title) <= 50


def test_first_user_message_keeps_an_existing_title(manager: SessionManager) -> None:
    session = manager.create(title="Chosen")
    manager.add_message("user", "Something")
    assert session.title == "Chosen"


def test_generate_title(manager: SessionManager) -> None:
    session = manager.create(title="set")
    assert manager.generate_title() == f"Session {session.created_at:%Y-%m-%d %H:%M}"
    manager.add_message("user", "  What does   this do?  ")
    assert manager.generate_title() == "What does this do?"
    other = Session(messages=[SessionMessage(role="user", content="x " * 40)])
    generated = manager.generate_title(other)
    assert len(generated) <= 50 and generated.endswith("...")
    assert session.title == "set"  # generating does not apply


def test_set_title(manager: SessionManager, storage: SessionStorage) -> None:
    session = manager.create()
    manager.set_title("  Refactoring\tthe API \x07client ")
    assert session.title == "Refactoring the API client"
    assert stored(session.id).title == "Refactoring the API client"
    assert index_entries(storage)[session.id]["title"] == "Refactoring the API client"
    with pytest.raises(InvalidSessionValueError):
        manager.set_title("x" * 201)
    assert session.title == "Refactoring the API client"


# -- tags -------------------------------------------------------------------------------------


def test_add_and_remove_tags(manager: SessionManager, storage: SessionStorage) -> None:
    session = manager.create(tags=["draft"])
    assert manager.add_tag("python") is True
    assert manager.add_tag(" python ") is False
    assert manager.add_tag("refactoring") is True
    assert session.tags == ["draft", "python", "refactoring"]
    assert manager.remove_tag("draft") is True
    assert manager.remove_tag("draft") is False
    assert session.tags == ["python", "refactoring"]
    assert stored(session.id).tags == ["python", "refactoring"]
    assert index_entries(storage)[session.id]["tags"] == ["python", "refactoring"]
    with pytest.raises(InvalidSessionValueError):
        manager.add_tag("two words")
    assert session.tags == ["python", "refactoring"]


def test_update_session_on_a_stored_session(
    manager: SessionManager, storage: SessionStorage
) -> None:
    stale = seed(storage, "s1", title="old")
    stale.tags = ["a", "b"]
    storage.save(stale)
    current = manager.create(title="current")
    updated = manager.update_session(
        "s1", title=" new\ttitle ", add_tags=["c", "a"], remove_tags=["b"]
    )
    assert (updated.title, updated.tags) == ("new title", ["a", "c"])
    assert updated.updated_at > stale.updated_at
    on_disk = stored("s1")
    assert (on_disk.title, on_disk.tags) == ("new title", ["a", "c"])
    assert index_entries(storage)["s1"]["title"] == "new title"
    assert lock_files(storage, "s1") == []
    assert manager.current_session is current
    assert current.title == "current"


def test_update_session_on_the_current_session(manager: SessionManager) -> None:
    session = manager.create(tags=["a"])
    result = manager.update_session(session.id, title="T", add_tags=["b"], remove_tags=["a"])
    assert result is session
    assert (session.title, session.tags) == ("T", ["b"])
    assert stored(session.id).tags == ["b"]
    manager.update_session(session.id, add_tags=["c"])
    assert (session.title, session.tags) == ("T", ["b", "c"])


def test_update_session_errors(manager: SessionManager) -> None:
    with pytest.raises(SessionNotFoundError):
        manager.update_session("missing", title="x")
    with pytest.raises(InvalidSessionIdError):
        manager.update_session("../x", title="x")
    with pytest.raises(InvalidSessionValueError):
        manager.update_session("missing", add_tags=["bad tag"])


# -- events -----------------------------------------------------------------------------------


def test_events_receive_the_right_arguments(manager: SessionManager) -> None:
    recorder = Recorder(manager)
    session = manager.create()
    message = manager.add_message("user", "hello")
    manager.save()
    manager.close()
    assert recorder.calls == [
        ("session:start", (session,)),
        ("session:message", (session, message)),
        ("session:save", (session,)),
        ("session:end", (session,)),
    ]


def test_a_failing_callback_is_logged_and_never_breaks_the_flow(
    manager: SessionManager, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def explode(*_: Any) -> None:
        raise RuntimeError("callback exploded")

    for event in ("session:start", "session:message", "session:save", "session:end"):
        manager.register_hook(event, explode)
        manager.register_hook(event, lambda *args, e=event: seen.append(e))
    with caplog.at_level(logging.WARNING, logger="opencode.sessions.manager"):
        session = manager.create()
        message = manager.add_message("assistant", "still recorded")
        assert manager.save() is True
        manager.close()
    assert seen == ["session:start", "session:message", "session:save", "session:end"]
    assert stored(session.id).messages == [message]
    assert manager.has_current is False
    failures = [r for r in caplog.records if "callback exploded" in r.getMessage()]
    assert len(failures) == 4
    assert "explode" in failures[0].getMessage()


def test_unregister_hook(manager: SessionManager) -> None:
    calls: list[Session] = []
    manager.register_hook("session:start", calls.append)
    assert manager.unregister_hook("session:start", calls.append) is True
    assert manager.unregister_hook("session:start", calls.append) is False
    manager.create()
    assert calls == []


def test_unknown_event_names_are_refused(manager: SessionManager) -> None:
    for bad in ("session:begin", "start", "", "tool:pre_execute"):
        with pytest.raises(ValueError, match="unknown session event"):
            manager.register_hook(bad, print)
        with pytest.raises(ValueError):
            manager.unregister_hook(bad, print)


# -- the index follows every change at once -------------------------------------------------------


def test_index_row_follows_every_change_at_once(
    manager: SessionManager, storage: SessionStorage
) -> None:
    """Other terminals list an open session as it is: each append updates its row (one row,
    in place), and titles and tags reach the index in the same call."""
    seed(storage, "bystander", title="untouched")
    session = manager.create(title="titled")
    manager.list_sessions()  # the bystander is indexed too
    bystander = index_entries(storage)["bystander"]
    index_inode = storage.index_path.stat().st_ino

    manager.add_message("user", "one")
    assert index_entries(storage)[session.id]["message_count"] == 1
    manager.add_message("assistant", "two", tool_calls=[{"id": "c"}])
    manager.add_message("tool", "three", tool_call_id="c", name="x")
    assert index_entries(storage)[session.id]["message_count"] == 3
    manager.record_tool_call("bash", {"command": "ls"})
    manager.update_usage(prompt_tokens=10, completion_tokens=5)
    assert index_entries(storage)[session.id]["total_tokens"] == 15

    manager.set_title("renamed")
    assert index_entries(storage)[session.id]["title"] == "renamed"
    manager.add_tag("t1")
    assert index_entries(storage)[session.id]["tags"] == ["t1"]
    manager.set_model("m2")
    assert index_entries(storage)[session.id]["model"] == "m2"

    manager.close()
    entry = index_entries(storage)[session.id]
    assert (entry["message_count"], entry["total_tokens"], entry["title"]) == (3, 15, "renamed")
    assert index_entries(storage)["bystander"] == bystander
    assert storage.index_path.stat().st_ino == index_inode  # updated, never replaced


def test_configured_shell_hooks_hear_session_events(
    manager: SessionManager, tmp_path: Path
) -> None:
    from opencode.hooks import Hook, HookRegistry, wait_for_hooks

    log = tmp_path / "events.log"
    HookRegistry.get_instance().register(
        Hook(
            event_pattern="session:*",
            command=f'echo "$OPENCODE_EVENT $OPENCODE_SESSION_ID $OPENCODE_DATA_ROLE" >> {log}',
        )
    )
    session = manager.create()
    manager.add_message("user", "hi")
    manager.save()
    manager.close()
    assert wait_for_hooks(timeout=30)
    assert log.read_text().splitlines() == [
        f"session:start {session.id} ",
        f"session:message {session.id} user",
        f"session:save {session.id} ",
        f"session:end {session.id} ",
    ]


def test_shell_hooks_can_be_switched_off(tmp_path: Path) -> None:
    from opencode.hooks import Hook, HookRegistry, wait_for_hooks

    log = tmp_path / "events.log"
    HookRegistry.get_instance().register(Hook(event_pattern="*", command=f"echo x >> {log}"))
    quiet = SessionManager(fire_shell_hooks=False)
    quiet.create()
    quiet.close()
    assert wait_for_hooks(timeout=30)
    assert not log.exists()


def test_normal_interpreter_exit_saves_unsaved_changes(manager: SessionManager) -> None:
    from opencode.sessions.manager import _save_all_at_exit

    session = manager.create()
    session.metadata["unsaved"] = True  # metadata reaches disk only with a snapshot
    assert manager.is_dirty is True
    _save_all_at_exit()  # what atexit runs
    assert stored(session.id).metadata == {"unsaved": True}
    assert manager.is_dirty is False
    assert manager.has_current is True  # exit saves; it does not close
