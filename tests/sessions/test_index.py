"""SessionIndex: queries, filters, sorting, pagination, changes, rebuild and self-repair of
the SQLite index. Freshness across processes, crashes, damaged files and hostile index
files are in ``test_index_freshness.py``."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions import Session, SessionIndex, SessionMessage, SessionStorage
from opencode.sessions.index import SORT_ALIASES, SORT_FIELDS

UTC = timezone.utc
BASE = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def storage(tmp_path: Path) -> SessionStorage:
    return SessionStorage(tmp_path / "store")


def put(
    storage: SessionStorage,
    session_id: str,
    *,
    title: str = "",
    hours: float = 0,
    created_hours: float | None = None,
    updated_hours: float | None = None,
    messages: int = 0,
    tokens: int = 0,
    tags: list[str] | None = None,
    working_dir: str = "/proj",
    model: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Session:
    """Save a session whose messages were said ``hours`` after BASE (and which was last
    changed then too, unless ``updated_hours`` says otherwise)."""
    session = Session(
        id=session_id,
        title=title,
        working_dir=working_dir,
        model=model,
        created_at=BASE + timedelta(hours=created_hours if created_hours is not None else hours),
        updated_at=BASE + timedelta(hours=updated_hours if updated_hours is not None else hours),
        messages=[
            SessionMessage(role="user", content=str(i), timestamp=BASE + timedelta(hours=hours))
            for i in range(messages)
        ],
        total_prompt_tokens=tokens,
        tags=list(tags or []),
        metadata=dict(metadata or {}),
    )
    storage.save(session)
    return session


@pytest.fixture
def populated(storage: SessionStorage) -> SessionStorage:
    put(storage, "alpha", title="Refactoring API client", hours=5, created_hours=1, messages=15,
        tokens=2300, tags=["python", "api"], model="m1")  # fmt: skip
    put(storage, "bravo", title="implementing AUTH", hours=4, created_hours=4, messages=32,
        tokens=9000, tags=["python"], working_dir="/other")  # fmt: skip
    put(storage, "charlie", title="Bug fix in parser", hours=3, created_hours=0, messages=8,
        tokens=100, tags=["rust", "api"])  # fmt: skip
    put(storage, "delta", title="api refactor notes", hours=2, created_hours=2, messages=1,
        tokens=5, tags=["python", "api", "notes"])  # fmt: skip
    return storage


def ids(summaries: list) -> list[str]:  # type: ignore[type-arg]
    return [s.id for s in summaries]


def index_rows(storage: SessionStorage) -> dict[str, dict[str, Any]]:
    """The index database's rows, read with plain SQLite (no reconcile runs)."""
    uri = storage.index_path.absolute().as_uri() + "?mode=rw"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        db.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in db.execute("SELECT * FROM sessions")}


def tamper_with_index(storage: SessionStorage, *statements: str) -> None:
    """Change the index behind the library's back."""
    with contextlib.closing(sqlite3.connect(storage.index_path, isolation_level=None)) as db:
        for statement in statements:
            db.execute(statement)


def place_index_file(storage: SessionStorage, content: bytes) -> None:
    """Put ``content`` where the index file goes (``<sessions>/.index/index-v1.db``)."""
    storage.index_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    storage.index_path.write_bytes(content)


# -- queries ----------------------------------------------------------------------------------


def test_count_len_contains_get(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    assert index.count() == 4
    assert len(index) == 4
    assert "alpha" in index
    assert "zulu" not in index
    assert 5 not in index
    summary = index.get("alpha")
    assert summary is not None
    assert (summary.title, summary.message_count, summary.total_tokens) == (
        "Refactoring API client",
        15,
        2300,
    )
    assert (summary.prompt_tokens, summary.completion_tokens) == (2300, 0)
    assert (summary.tags, summary.working_dir, summary.model) == (["python", "api"], "/proj", "m1")
    assert summary.created_at == BASE + timedelta(hours=1)
    assert summary.updated_at == summary.active_at == BASE + timedelta(hours=5)
    assert (summary.damaged, summary.pinned, summary.archived_at, summary.forked_from) == (
        None,
        False,
        None,
        None,
    )
    assert summary.size_bytes == populated.session_size("alpha") > 0
    assert index.get("zulu") is None
    assert index.ids() == ["alpha", "bravo", "charlie", "delta"]


def test_summary_carries_pin_archive_and_fork_from_the_metadata(storage: SessionStorage) -> None:
    put(
        storage,
        "child",
        metadata={
            "pinned": True,
            "archived_at": "2024-02-01T00:00:00+00:00",
            "forked_from": {"session_id": "parent", "message_id": "msg_1"},
        },
    )
    put(storage, "odd", metadata={"pinned": "yes", "archived_at": "not a time"})
    index = SessionIndex(storage)
    child = index.get("child")
    assert child is not None
    assert (child.pinned, child.archived_at, child.forked_from) == (
        True,
        datetime(2024, 2, 1, tzinfo=UTC),
        "parent",
    )
    assert child.to_dict()["archived_at"] == "2024-02-01T00:00:00+00:00"
    odd = index.get("odd")
    assert odd is not None and (odd.pinned, odd.archived_at) == (False, None)


def test_empty_storage(storage: SessionStorage) -> None:
    index = SessionIndex(storage)
    assert index.count() == 0
    assert index.list() == []
    assert index.get_recent() == []
    assert index.orphans() == []
    assert not storage.storage_dir.exists()  # reading an empty store writes nothing


def test_list_defaults_to_most_recently_active_first(populated: SessionStorage) -> None:
    assert ids(SessionIndex(populated).list()) == ["alpha", "bravo", "charlie", "delta"]


def test_renaming_a_session_does_not_make_it_recent(storage: SessionStorage) -> None:
    put(storage, "talked-lately", hours=5, messages=1)
    put(storage, "renamed-lately", hours=1, messages=1, updated_hours=9)
    put(storage, "never-talked", created_hours=3, updated_hours=3)  # no messages: created
    index = SessionIndex(storage)
    assert ids(index.list()) == ["talked-lately", "never-talked", "renamed-lately"]
    assert ids(index.list(sort_by="updated_at")) == [
        "renamed-lately",
        "talked-lately",
        "never-talked",
    ]
    renamed = index.get("renamed-lately")
    assert renamed is not None and renamed.last_active == BASE + timedelta(hours=1)


@pytest.mark.parametrize(
    ("sort_by", "ascending"),
    [
        ("active_at", ["delta", "charlie", "bravo", "alpha"]),
        ("updated_at", ["delta", "charlie", "bravo", "alpha"]),
        ("created_at", ["charlie", "alpha", "delta", "bravo"]),
        ("title", ["delta", "charlie", "bravo", "alpha"]),  # case-insensitive
        ("message_count", ["delta", "charlie", "alpha", "bravo"]),
        ("total_tokens", ["delta", "charlie", "alpha", "bravo"]),
    ],
)
def test_sort_by_every_field(populated: SessionStorage, sort_by: str, ascending: list[str]) -> None:
    index = SessionIndex(populated)
    assert ids(index.list(sort_by=sort_by, descending=False)) == ascending
    assert ids(index.list(sort_by=sort_by, descending=True)) == ascending[::-1]
    assert ids(index.list(sort_by=sort_by, descending=False, limit=2)) == ascending[:2]
    assert ids(index.list(sort_by=sort_by, limit=3, offset=1)) == ascending[::-1][1:4]


def test_title_sort_casefolds(storage: SessionStorage) -> None:
    for sid, title in [("a", "straße"), ("b", "STRASSE b"), ("c", "Strasse a"), ("d", "Äpfel")]:
        put(storage, sid, title=title)
    index = SessionIndex(storage)
    ordered = ids(index.list(sort_by="title", descending=False))
    assert ordered.index("c") < ordered.index("b")  # "strasse a" < "strasse b", any case
    assert ordered.index("a") < ordered.index("c")  # "strasse" (from straße) first


def test_every_sort_field_is_covered() -> None:
    assert set(SORT_FIELDS) == {
        "active_at",
        "updated_at",
        "created_at",
        "title",
        "message_count",
        "total_tokens",
    }


@pytest.mark.parametrize(("alias", "field"), sorted(SORT_ALIASES.items()))
def test_sort_aliases(populated: SessionStorage, alias: str, field: str) -> None:
    index = SessionIndex(populated)
    assert ids(index.list(sort_by=alias)) == ids(index.list(sort_by=field))
    assert ids(index.list(sort_by=alias, descending=False)) == ids(
        index.list(sort_by=field, descending=False)
    )


def test_aliases_are_the_documented_ones() -> None:
    assert SORT_ALIASES == {
        "active": "active_at",
        "recent": "active_at",
        "updated": "active_at",
        "changed": "updated_at",
        "created": "created_at",
        "messages": "message_count",
        "tokens": "total_tokens",
    }


@pytest.mark.parametrize("bad", ["size", "", "Title", "id", "title; DROP TABLE sessions"])
def test_invalid_sort_field_is_a_value_error(populated: SessionStorage, bad: str) -> None:
    index = SessionIndex(populated)
    with pytest.raises(ValueError, match="cannot sort by"):
        index.list(sort_by=bad)
    assert index.count() == 4


def test_ties_are_broken_by_id(storage: SessionStorage) -> None:
    for session_id in ("c", "a", "b"):
        put(storage, session_id, hours=1)
    index = SessionIndex(storage)
    assert ids(index.list(descending=False)) == ["a", "b", "c"]
    assert ids(index.list()) == ["c", "b", "a"]
    assert ids(index.list(limit=2)) == ["c", "b"]


def test_limit_and_offset(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    assert ids(index.list(limit=2)) == ["alpha", "bravo"]
    assert ids(index.list(limit=2, offset=2)) == ["charlie", "delta"]
    assert ids(index.list(limit=10, offset=3)) == ["delta"]
    assert index.list(limit=10, offset=4) == []
    assert index.list(limit=0) == []
    assert ids(index.list(offset=1)) == ["bravo", "charlie", "delta"]
    with pytest.raises(ValueError):
        index.list(limit=-1)
    with pytest.raises(ValueError):
        index.list(offset=-1)


def test_pages_cover_every_session_exactly_once(storage: SessionStorage) -> None:
    for n in range(23):
        put(storage, f"s{n:02}", hours=n % 5)  # many ties: the id breaks them
    index = SessionIndex(storage)
    pages = [ids(index.list(limit=5, offset=offset)) for offset in range(0, 25, 5)]
    flat = [sid for page in pages for sid in page]
    assert flat == ids(index.list())
    assert sorted(flat) == [f"s{n:02}" for n in range(23)]


def test_tags_filter_requires_all_tags_in_any_case(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    assert ids(index.list(tags=["python"])) == ["alpha", "bravo", "delta"]
    assert ids(index.list(tags=["PYTHON"])) == ["alpha", "bravo", "delta"]
    assert ids(index.list(tags=["python", "Api"])) == ["alpha", "delta"]
    assert ids(index.list(tags=("api", "notes", "python"))) == ["delta"]
    assert index.list(tags=["python", "rust"]) == []
    assert index.list(tags=["pyth"]) == []  # whole tags only
    assert ids(index.list(tags=[])) == ids(index.list())


def test_search_is_a_case_insensitive_title_substring(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    assert ids(index.list(search="refactor")) == ["alpha", "delta"]
    assert ids(index.list(search="AUTH")) == ["bravo"]
    assert ids(index.list(search="Implementing auth")) == ["bravo"]
    assert index.list(search="python") == []  # tags are not searched
    assert ids(index.list(search="")) == ids(index.list())


def test_search_casefolds(storage: SessionStorage) -> None:
    put(storage, "s", title="Straße bauen")
    assert ids(SessionIndex(storage).list(search="STRASSE")) == ["s"]


def test_search_treats_like_wildcards_literally(storage: SessionStorage) -> None:
    put(storage, "percent", title="100% done")
    put(storage, "plain", title="1000 done")
    put(storage, "under", title="a_b")
    put(storage, "other", title="axb")
    index = SessionIndex(storage)
    assert ids(index.list(search="100%")) == ["percent"]
    assert ids(index.list(search="a_b")) == ["under"]


def test_working_dir_filter_normalises_paths(
    populated: SessionStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = SessionIndex(populated)
    assert ids(index.list(working_dir="/proj")) == ["alpha", "charlie", "delta"]
    assert ids(index.list(working_dir="/proj/")) == ["alpha", "charlie", "delta"]
    assert ids(index.list(working_dir=Path("/other"))) == ["bravo"]
    assert ids(index.list(working_dir="/proj/sub/..")) == ["alpha", "charlie", "delta"]
    monkeypatch.chdir("/")
    assert ids(index.list(working_dir="proj")) == ["alpha", "charlie", "delta"]
    assert index.list(working_dir="/nowhere") == []


def test_working_dir_filter_matches_folders_stored_unnormalised(storage: SessionStorage) -> None:
    put(storage, "slash", working_dir="/proj/")
    put(storage, "dotted", working_dir="/proj/sub/..")
    put(storage, "plain", working_dir="/proj")
    index = SessionIndex(storage)
    assert sorted(ids(index.list(working_dir="/proj"))) == ["dotted", "plain", "slash"]


def test_a_folder_that_is_not_absolute_here_is_listed_as_written_whatever_the_cwd(
    storage: SessionStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(storage, "windows", working_dir="C:\\work\\elsewhere")
    put(storage, "relative", working_dir="notes/today")
    for cwd in (tmp_path, Path("/")):
        monkeypatch.chdir(cwd)
        index = SessionIndex(storage)
        index.rebuild()
        assert {s.id: s.working_dir for s in index.list()} == {
            "windows": "C:\\work\\elsewhere",
            "relative": "notes/today",
        }
        index.close()


def test_under_dir_takes_the_folder_and_everything_below(storage: SessionStorage) -> None:
    put(storage, "top", working_dir="/proj")
    put(storage, "deep", working_dir="/proj/sub/deeper")
    put(storage, "sibling", working_dir="/project")
    put(storage, "parent", working_dir="/")
    put(storage, "percent", working_dir="/pr%j/x")
    index = SessionIndex(storage)
    assert sorted(ids(index.list(under_dir="/proj"))) == ["deep", "top"]
    assert sorted(ids(index.list(under_dir="/proj/"))) == ["deep", "top"]
    assert ids(index.list(under_dir="/proj/sub")) == ["deep"]
    assert len(index.list(under_dir="/")) == 5
    assert ids(index.list(under_dir="/pr%j")) == ["percent"]
    assert index.count_matching(under_dir="/proj") == 2


def test_archived_sessions_are_listed_only_when_asked_for(storage: SessionStorage) -> None:
    put(storage, "active", hours=2)
    put(storage, "archived", hours=3, metadata={"archived_at": "2024-02-01T00:00:00+00:00"})
    index = SessionIndex(storage)
    assert ids(index.list()) == ["active"]
    assert ids(index.list(archived=True)) == ["archived"]
    assert ids(index.list(archived=None)) == ["archived", "active"]
    assert index.count_matching() == 1
    assert index.count_matching(archived=None) == 2
    assert index.get("archived") is not None  # still there for lookups


def test_pinned_sessions_come_first_only_when_asked(storage: SessionStorage) -> None:
    put(storage, "old-pinned", hours=1, metadata={"pinned": True})
    put(storage, "new", hours=5)
    put(storage, "middle", hours=3)
    index = SessionIndex(storage)
    assert ids(index.list(pinned_first=True)) == ["old-pinned", "new", "middle"]
    # "the latest session" (resume, --continue) is plain recency: a pin never wins it
    assert ids(index.list()) == ["new", "middle", "old-pinned"]
    assert ids(index.get_recent(1)) == ["new"]
    assert ids(index.list(sort_by="created_at")) == ["new", "middle", "old-pinned"]


def test_filters_combine(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    found = index.list(tags=["api"], search="re", working_dir="/proj", sort_by="title")
    assert ids(found) == ["alpha", "delta"]
    assert ids(index.list(tags=["python"], working_dir="/proj", limit=1, offset=1)) == ["delta"]


def test_count_matching_ignores_paging(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    assert index.count_matching() == 4
    assert index.count_matching(tags=["python"]) == 3
    assert index.count_matching(tags=["api"], search="re", working_dir="/proj") == 2
    assert index.count_matching(search="nothing like it") == 0


def test_lookups_by_title_and_id_prefix(populated: SessionStorage) -> None:
    put(populated, "alpine", title="refactoring api CLIENT", hours=9)
    index = SessionIndex(populated)
    assert ids(index.with_title("REFACTORING API CLIENT")) == ["alpine", "alpha"]  # recent first
    assert index.with_title("Refactoring") == []
    assert index.ids_starting_with("alp") == ["alpha", "alpine"]
    assert index.ids_starting_with("alpha") == ["alpha"]
    assert index.ids_starting_with("%") == []
    assert index.ids_starting_with("") == index.ids()


def test_get_recent(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    assert ids(index.get_recent(count=2)) == ["alpha", "bravo"]
    assert ids(index.get_recent()) == ["alpha", "bravo", "charlie", "delta"]


def test_get_by_working_dir(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    assert ids(index.get_by_working_dir("/proj")) == ["alpha", "charlie", "delta"]
    assert ids(index.get_by_working_dir("/other/")) == ["bravo"]
    assert index.get_by_working_dir("/none") == []


# -- changes ----------------------------------------------------------------------------------


def test_add_update_remove(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    index.count()
    assert index.is_dirty is False
    new = Session(id="echo", title="new one", created_at=BASE, updated_at=BASE + timedelta(days=1))
    new.add_message(SessionMessage(role="user", content="hi", timestamp=BASE + timedelta(days=1)))
    populated.save(new)
    index.add(new)
    assert index.is_dirty is False  # written at once: nothing is ever pending
    assert "echo" in index and index.count() == 5
    assert ids(index.get_recent(1)) == ["echo"]
    assert "echo" in index_rows(populated)
    new.title = "renamed"
    new.tags = ["t"]
    index.update(new)
    summary = index.get("echo")
    assert summary is not None and (summary.title, summary.tags) == ("renamed", ["t"])
    assert index_rows(populated)["echo"]["title"] == "renamed"
    assert index.remove("echo") is True
    assert index.remove("echo") is False
    assert "echo" not in index and index.count() == 4
    assert "echo" not in index_rows(populated)


def test_save_if_dirty_is_kept_and_never_has_anything_to_save(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    assert index.save_if_dirty() is False
    session = Session(id="echo", title="x", created_at=BASE, updated_at=BASE)
    populated.save(session)
    index.add(session)
    assert index.is_dirty is False
    assert index.save_if_dirty() is False
    assert "echo" in index_rows(populated)  # already written


def test_an_entry_does_not_change_with_the_session(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    session = Session(id="echo", title="before")
    populated.save(session)
    index.add(session)
    session.title = "after"  # in memory only
    summary = index.get("echo")
    assert summary is not None and summary.title == "before"


def test_changes_are_visible_to_a_fresh_index(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    session = populated.load("alpha")
    session.title = "retitled"
    populated.save(session)
    index.update(session)
    fresh = SessionIndex(populated).get("alpha")
    assert fresh is not None and fresh.title == "retitled"


def test_two_indexes_share_one_database(storage: SessionStorage) -> None:
    put(storage, "base")
    first, second = SessionIndex(storage), SessionIndex(storage)
    first.count()
    second.count()
    for index, sid in ((first, "from-first"), (second, "from-second")):
        session = Session(id=sid, created_at=BASE, updated_at=BASE)
        storage.save(session)
        index.add(session)
    assert set(index_rows(storage)) == {"base", "from-first", "from-second"}
    assert set(first.ids()) == set(second.ids()) == {"base", "from-first", "from-second"}


def test_refresh_rereads_the_disk(storage: SessionStorage) -> None:
    put(storage, "one")
    index = SessionIndex(storage)
    assert index.count() == 1
    put(storage, "two")
    assert index.count() == 1  # looks at the folder once per refresh()
    index.refresh()
    assert index.count() == 2


def test_close_and_reopen(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    assert index.count() == 4
    index.close()
    index.close()  # twice is fine
    assert index.count() == 4  # opens again on use


# -- rebuild and self-repair ------------------------------------------------------------------


def test_rebuild_rereads_every_session_file(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    index.count()
    tamper_with_index(
        populated,
        "UPDATE sessions SET title = 'stale title', message_count = 999 WHERE id = 'alpha'",
    )
    index.refresh()
    summary = index.get("alpha")
    assert summary is not None and summary.title == "stale title"  # files unchanged: trusted
    assert index.rebuild() == 4
    summary = index.get("alpha")
    assert summary is not None and (summary.title, summary.message_count) == (
        "Refactoring API client",
        15,
    )
    row = index_rows(populated)["alpha"]
    assert (row["title"], row["message_count"]) == ("Refactoring API client", 15)


def test_rebuild_of_an_empty_storage(storage: SessionStorage) -> None:
    index = SessionIndex(storage)
    assert index.rebuild() == 0
    assert storage.index_path.read_bytes()[:16] == b"SQLite format 3\x00"
    assert index_rows(storage) == {}


def test_missing_index_is_built_on_first_use(populated: SessionStorage) -> None:
    assert not populated.index_path.exists()
    assert SessionIndex(populated).count() == 4
    assert set(index_rows(populated)) == {"alpha", "bravo", "charlie", "delta"}


def test_files_added_or_removed_behind_the_index_are_reconciled(
    populated: SessionStorage,
) -> None:
    SessionIndex(populated).count()
    put(populated, "echo", title="added later")
    populated.delete("bravo")
    index = SessionIndex(populated)
    assert index.ids() == ["alpha", "charlie", "delta", "echo"]
    assert set(index_rows(populated)) == {"alpha", "charlie", "delta", "echo"}


@pytest.mark.parametrize(
    "content",
    [
        b"{broken",
        b'{"version": 1, "sessions": {}}',
        b"\x00" * 4096,
        b"SQLite format 3\x00" + b"\xff" * 200,  # a header, then nonsense
    ],
    ids=["broken JSON", "JSON index", "zeros", "truncated database"],
)
def test_unusable_index_is_rebuilt_with_a_warning(
    populated: SessionStorage, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    place_index_file(populated, content)
    with caplog.at_level(logging.WARNING):
        assert SessionIndex(populated).count() == 4
    assert "rebuilding" in caplog.text
    assert set(index_rows(populated)) == {"alpha", "bravo", "charlie", "delta"}


def test_a_truncated_index_file_is_rebuilt(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    assert index.count() == 4
    index.close()
    data = populated.index_path.read_bytes()
    populated.index_path.write_bytes(data[: len(data) // 2])
    assert ids(SessionIndex(populated).list()) == ["alpha", "bravo", "charlie", "delta"]


def test_an_empty_index_file_is_simply_filled(populated: SessionStorage) -> None:
    place_index_file(populated, b"")
    assert SessionIndex(populated).count() == 4


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE sessions SET created_at = '0001-01-01T00:00:00+01:00' WHERE id = 'alpha'",
        "UPDATE sessions SET updated_at = 'not a time' WHERE id = 'alpha'",
        "UPDATE sessions SET tags = 'not json' WHERE id = 'alpha'",
    ],
    ids=["out of range", "not a time", "not json"],
)
def test_an_index_row_that_no_longer_reads_is_rebuilt(
    populated: SessionStorage, statement: str, caplog: pytest.LogCaptureFixture
) -> None:
    SessionIndex(populated).count()
    tamper_with_index(populated, statement)
    with caplog.at_level(logging.WARNING):
        assert ids(SessionIndex(populated).list()) == ["alpha", "bravo", "charlie", "delta"]
    assert "unreadable row" in caplog.text
    assert str(populated.index_path) in caplog.text
    # the rebuilt row is the file's again, not the tampered one
    row = index_rows(populated)["alpha"]
    assert (row["created_at"], row["updated_at"]) == (
        "2024-01-01T01:00:00+00:00",
        "2024-01-01T05:00:00+00:00",
    )
    assert row["tags"] == '["python","api"]'


def test_an_index_path_that_cannot_be_opened_still_lists_from_the_files(
    populated: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder where the index file goes is someone's: it is moved aside, with what it
    holds, and the index is rebuilt in its place."""
    populated.index_path.mkdir(parents=True)
    (populated.index_path / "kept.txt").write_bytes(b"not ours to delete")
    with caplog.at_level(logging.WARNING):
        assert ids(SessionIndex(populated).list()) == ["alpha", "bravo", "charlie", "delta"]
    assert "rebuilding" in caplog.text
    assert populated.index_path.read_bytes()[:16] == b"SQLite format 3\x00"
    (aside,) = populated.index_path.parent.glob(f"{populated.index_path.name}.unusable-*")
    assert (aside / "kept.txt").read_bytes() == b"not ours to delete"
    assert set(index_rows(populated)) == {"alpha", "bravo", "charlie", "delta"}
