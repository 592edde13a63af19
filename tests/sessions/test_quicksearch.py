"""Search answered straight from an index that needs no reconciling: the same hits as
``search``, and None (so ``search`` does the work) whenever the index might not be as the
folder is, or cannot be trusted to be read as it stands."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from opencode.sessions import Session, SessionIndex, SessionMessage, SessionStorage
from opencode.sessions.quicksearch import QuickHit, search_fresh_index
from opencode.sessions.search import search

BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)


def seed(storage: SessionStorage, title: str, *said: tuple[str, str], hours: int = 0) -> Session:
    start = BASE + timedelta(hours=hours)
    session = Session(
        title=title,
        created_at=start,
        updated_at=start + timedelta(seconds=len(said)),
        messages=[
            SessionMessage(
                role=role,
                content=text,
                timestamp=start + timedelta(seconds=n),
                tool_call_id="call-1" if role == "tool" else None,
            )
            for n, (role, text) in enumerate(said)
        ],
    )
    storage.save(session)
    return session


@pytest.fixture
def storage(tmp_path: Path, settle_index: Callable[..., None]) -> SessionStorage:
    storage = SessionStorage(tmp_path / "sessions")
    seed(storage, "Parser", ("user", "the zanzibar parser fails"), ("assistant", "see line 3"))
    seed(storage, "Lexer", ("user", "tidy"), ("assistant", "zanzibar done"), hours=1)
    seed(storage, "Tools", ("user", "run it"), ("tool", "zanzibar output"), hours=2)
    seed(storage, "Other", ("user", "nothing to see"), hours=3)
    settle_index(storage)
    return storage


def quick(storage: SessionStorage, query: str, **options: object) -> list[QuickHit] | None:
    return search_fresh_index(str(storage.storage_dir), query, **options)  # type: ignore[arg-type]


def as_rows(hits: list[QuickHit]) -> list[tuple[object, ...]]:
    return [
        (h.session.id, h.session.title, h.session.last_active, h.message_id, h.role, h.snippet)
        for h in hits
    ]


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ("zanzibar", {}),
        ("zanzibar", {"roles": ["assistant", "tool"]}),
        ("zanzibar", {"limit": 2}),
        ("zanzib*", {}),
        ('"parser fails" OR done', {}),
        ("nowhere", {}),
    ],
)
def test_a_fresh_index_answers_what_search_answers(
    storage: SessionStorage, query: str, options: dict[str, object]
) -> None:
    hits = quick(storage, query, **options)
    assert hits is not None
    expected = search(SessionIndex(storage), query, **options)  # type: ignore[arg-type]
    assert as_rows(hits) == [
        (
            h.summary.id,
            h.summary.title,
            h.summary.last_active,
            h.message_id,
            h.role,
            h.snippet,
        )
        for h in expected
    ]
    if query == "zanzibar" and not options:
        assert [h.session.title for h in hits] == [
            "Parser",
            "Lexer",
            "Tools",
        ]  # the user's words first


def test_archived_sessions_are_found_only_when_asked(
    storage: SessionStorage, settle_index: Callable[..., None]
) -> None:
    from opencode.sessions import SessionManager

    manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    parser = next(s for s in manager.list_sessions() if s.title == "Parser")
    manager.archive(parser.id)
    manager.close()
    settle_index(storage)
    plain = quick(storage, "zanzibar")
    everything = quick(storage, "zanzibar", include_archived=True)
    assert plain is not None and everything is not None
    assert "Parser" not in [h.session.title for h in plain]
    assert "Parser" in [h.session.title for h in everything]


def test_a_session_added_behind_the_index_s_back_sends_search_the_long_way(
    storage: SessionStorage, tmp_path: Path
) -> None:
    other = SessionStorage(tmp_path / "elsewhere")
    planted = seed(other, "Planted", ("user", "zanzibar from a sync tool"))
    os.link(other.get_path(planted.id), storage.get_path(planted.id))  # the folder changed
    assert quick(storage, "zanzibar") is None
    assert planted.id in [h.summary.id for h in search(SessionIndex(storage), "zanzibar")]


def test_a_journal_grown_behind_the_index_s_back_sends_search_the_long_way(
    storage: SessionStorage, settle_index: Callable[..., None]
) -> None:
    from opencode.sessions import SessionManager

    manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    session = manager.create(title="Open")
    manager.add_message("user", "first words")
    settle_index(storage)
    assert quick(storage, "first") is not None  # the writer keeps its row as its journal is
    journal = storage.get_journal_path(session.id)
    assert journal.exists()
    with journal.open("ab") as file:  # a writer that died before updating the index
        file.write(b"\n")
    assert quick(storage, "first") is None
    manager.close()


def test_damage_nobody_was_told_of_sends_search_the_long_way(storage: SessionStorage) -> None:
    db = sqlite3.connect(SessionIndex(storage).path)
    with db:
        db.execute("UPDATE sessions SET damaged = 'bad JSON', warned = 0 WHERE title = 'Other'")
    db.close()
    assert quick(storage, "zanzibar") is None


@pytest.mark.parametrize("query", ['"unclosed', "", "   ", "NOT", "x" * 1001])
def test_a_query_only_search_can_explain_is_left_to_it(storage: SessionStorage, query: str) -> None:
    assert quick(storage, query) is None


def test_no_index_means_no_quick_answer_and_none_is_made(tmp_path: Path) -> None:
    storage = SessionStorage(tmp_path / "sessions")
    seed(storage, "Parser", ("user", "zanzibar"))
    assert quick(storage, "zanzibar") is None
    assert not SessionIndex(storage).path.exists()


def test_an_index_of_another_schema_version_is_left_to_search(storage: SessionStorage) -> None:
    db = sqlite3.connect(SessionIndex(storage).path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    assert quick(storage, "zanzibar") is None


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_a_fifo_or_link_in_place_of_an_index_file_is_never_opened(
    storage: SessionStorage, tmp_path: Path, suffix: str
) -> None:
    path = Path(f"{SessionIndex(storage).path}{suffix}")
    path.unlink(missing_ok=True)
    os.mkfifo(path)  # opening it for reading would block for ever
    assert quick(storage, "zanzibar") is None
    path.unlink()
    target = tmp_path / "target"
    target.write_bytes(b"")
    path.symlink_to(target)
    assert quick(storage, "zanzibar") is None


def test_a_busy_writer_is_not_waited_for(storage: SessionStorage) -> None:
    """A writer holding the database exclusively: the quick path gives up at once (the long
    way waits, with the usual busy timeout)."""
    db = sqlite3.connect(SessionIndex(storage).path, isolation_level=None)
    db.execute("PRAGMA locking_mode = EXCLUSIVE")
    db.execute("BEGIN EXCLUSIVE")
    db.execute("UPDATE state SET value = value WHERE key = 'folder'")
    try:
        assert quick(storage, "zanzibar") is None
    finally:
        db.execute("ROLLBACK")
        db.close()
