"""A listing answered straight from an index that needs no reconciling: the same page as
``list_page`` on ``SessionIndex``, and None (so the index does the work) whenever the index
might not be as the folder is."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from opencode.sessions import Session, SessionIndex, SessionManager, SessionStorage
from opencode.sessions.listing import ListingPage, ListingQuery, list_page
from opencode.sessions.quicklist import quick_page

BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def storage(tmp_path: Path, settle_index: Callable[..., None]) -> SessionStorage:
    storage = SessionStorage(tmp_path / "sessions")
    for n in range(30):
        start = BASE + timedelta(hours=n)
        session = Session(
            title=f"Parser work {n}" if n % 3 else f"Lexer notes {n}",
            created_at=start,
            updated_at=start,
            tags=["bug", "core"] if n % 4 == 0 else [],
            model="gpt-x" if n % 5 == 0 else None,
        )
        session.id = f"{n % 2}ab{n:02d}" + "0" * 30  # ids sharing long prefixes
        storage.save(session)
    manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    manager.pin(f"1ab{27:02d}" + "0" * 30)
    manager.archive(f"0ab{28:02d}" + "0" * 30)
    manager.close()
    (storage.storage_dir / f"0ab{4:02d}{'0' * 30}.json").write_text("{ damaged")
    index = SessionIndex(storage)
    index.count()  # tells of the damage once
    index.close()
    settle_index(storage)
    return storage


def as_seen(page: ListingPage) -> tuple[object, ...]:
    rows = [
        (
            s.id,
            s.title,
            s.message_count,
            s.total_tokens,
            s.tags,
            s.model,
            s.damaged,
            s.pinned,
            s.forked_from,
            s.size_bytes,
            s.conflicts,
            s.last_active,
        )
        for s in page.rows
    ]
    return (rows, page.total, page.offset, page.short_ids, page.describe())


@pytest.mark.parametrize(
    "query",
    [
        ListingQuery(),
        ListingQuery(limit=5, offset=3),
        ListingQuery(limit=None),
        ListingQuery(search="parser", limit=4),
        ListingQuery(tags=("BUG",)),
        ListingQuery(archived=True),
        ListingQuery(archived=None, limit=50),
        ListingQuery(sort_by="title", descending=False, limit=7),
        ListingQuery(limit=5, offset=100),
    ],
    ids=repr,
)
def test_a_fresh_index_gives_the_page_the_index_gives(
    storage: SessionStorage, query: ListingQuery
) -> None:
    quick = quick_page(str(storage.storage_dir), query)
    assert quick is not None
    index = SessionIndex(storage)
    try:
        expected = list_page(index, query)
    finally:
        index.close()
    assert as_seen(quick) == as_seen(expected)
    if query == ListingQuery():
        assert quick.rows[0].pinned  # pinned first, as listings show them
        assert any(s.damaged for s in quick.rows + list_page_all(storage))


def list_page_all(storage: SessionStorage) -> list[object]:
    page = quick_page(str(storage.storage_dir), ListingQuery(limit=None))
    assert page is not None
    return list(page.rows)


def test_a_folder_filter_is_left_to_the_index(storage: SessionStorage) -> None:
    assert quick_page(str(storage.storage_dir), ListingQuery(working_dir="/w")) is None
    assert quick_page(str(storage.storage_dir), ListingQuery(under_dir="/w")) is None


def test_a_session_added_behind_the_index_s_back_is_left_to_the_index(
    storage: SessionStorage,
) -> None:
    new = Session(title="Just synced")
    storage.save(new)
    assert quick_page(str(storage.storage_dir), ListingQuery()) is None
    index = SessionIndex(storage)
    assert new.id in [s.id for s in list_page(index, ListingQuery()).rows]
    index.close()


def test_an_unknown_sort_is_left_to_the_index_to_refuse(storage: SessionStorage) -> None:
    assert quick_page(str(storage.storage_dir), ListingQuery(sort_by="colour")) is None


def test_no_index_no_quick_page(tmp_path: Path) -> None:
    storage = SessionStorage(tmp_path / "sessions")
    storage.save(Session(title="One"))
    assert quick_page(str(storage.storage_dir), ListingQuery()) is None
    assert not SessionIndex(storage).path.exists()


def test_an_unreadable_row_is_left_to_the_index(storage: SessionStorage) -> None:
    db = sqlite3.connect(SessionIndex(storage).path)
    with db:
        db.execute("UPDATE sessions SET tags = '{not json' WHERE id LIKE '0ab00%'")
    db.close()
    assert quick_page(str(storage.storage_dir), ListingQuery(limit=None)) is None


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE sessions SET active_at = 'garbage' WHERE id LIKE '1ab01%'",
        "UPDATE sessions SET created_at = 'garbage' WHERE id LIKE '1ab01%'",
        "UPDATE sessions SET prompt_tokens = 'many' WHERE id LIKE '1ab01%'",
        "UPDATE sessions SET tags = '" + "[" * 100_000 + "' WHERE id LIKE '1ab01%'",
        "UPDATE sessions SET tags = '\"bug\"' WHERE id LIKE '1ab01%'",
        "UPDATE sessions SET tags = '[1]' WHERE id LIKE '1ab01%'",
        "UPDATE sessions SET tags = '[\"bug\"' WHERE id LIKE '1ab01%'",
    ],
    ids=["activity", "creation", "tokens", "deep tags", "not a list", "a number", "cut"],
)
def test_a_row_that_does_not_read_is_left_to_the_index(
    storage: SessionStorage, change: str
) -> None:
    """The index warns about such a row and rebuilds itself; a quick answer must not print
    it, nor fail while printing it."""
    db = sqlite3.connect(SessionIndex(storage).path)
    with db:
        db.execute(change)
    db.close()
    assert quick_page(str(storage.storage_dir), ListingQuery(limit=None)) is None


def test_an_index_with_objects_opencode_did_not_make_is_left_to_the_index(
    storage: SessionStorage,
) -> None:
    db = sqlite3.connect(SessionIndex(storage).path)
    db.execute("CREATE INDEX planted ON sessions(model)")
    db.close()
    assert quick_page(str(storage.storage_dir), ListingQuery()) is None


def test_an_id_no_file_could_have_sends_the_listing_the_long_way(
    storage: SessionStorage,
) -> None:
    db = sqlite3.connect(SessionIndex(storage).path)
    with db:
        db.execute(
            "UPDATE sessions SET id = 'ab' || char(0) || 'cd', journal_stat = '1:2:3'"
            " WHERE id LIKE '1ab01%'"
        )
    db.close()
    assert quick_page(str(storage.storage_dir), ListingQuery()) is None
