"""SessionIndex: queries, filters, sorting, pagination, changes and the index.json file."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from opencode.sessions import Session, SessionIndex, SessionMessage, SessionStorage
from opencode.sessions.index import SORT_ALIASES, SORT_FIELDS

UTC = timezone.utc
BASE = datetime(2024, 1, 1, tzinfo=UTC)
ENTRY_KEYS = {
    "title",
    "created_at",
    "updated_at",
    "message_count",
    "total_tokens",
    "tags",
    "working_dir",
    "model",
}


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
    messages: int = 0,
    tokens: int = 0,
    tags: list[str] | None = None,
    working_dir: str = "/proj",
    model: str | None = None,
) -> Session:
    """Save a session updated ``hours`` after BASE."""
    session = Session(
        id=session_id,
        title=title,
        working_dir=working_dir,
        model=model,
        created_at=BASE + timedelta(hours=created_hours if created_hours is not None else hours),
        updated_at=BASE + timedelta(hours=hours),
        messages=[
            SessionMessage(role="user", content=str(i), timestamp=BASE + timedelta(hours=hours))
            for i in range(messages)
        ],
        total_prompt_tokens=tokens,
        tags=list(tags or []),
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
    assert (summary.tags, summary.working_dir, summary.model) == (["python", "api"], "/proj", "m1")
    assert summary.updated_at == BASE + timedelta(hours=5)
    assert index.get("zulu") is None
    assert sorted(index.ids()) == ["alpha", "bravo", "charlie", "delta"]


def test_empty_storage(storage: SessionStorage) -> None:
    index = SessionIndex(storage)
    assert index.count() == 0
    assert index.list() == []
    assert index.get_recent() == []
    assert not storage.storage_dir.exists()  # reading an empty store writes nothing


def test_list_defaults_to_most_recently_updated_first(populated: SessionStorage) -> None:
    assert ids(SessionIndex(populated).list()) == ["alpha", "bravo", "charlie", "delta"]


@pytest.mark.parametrize(
    ("sort_by", "ascending"),
    [
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


def test_every_sort_field_is_covered() -> None:
    assert set(SORT_FIELDS) == {
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
        "updated": "updated_at",
        "created": "created_at",
        "messages": "message_count",
        "tokens": "total_tokens",
    }


@pytest.mark.parametrize("bad", ["size", "", "Title", "id"])
def test_invalid_sort_field_is_a_value_error(populated: SessionStorage, bad: str) -> None:
    with pytest.raises(ValueError, match="cannot sort by"):
        SessionIndex(populated).list(sort_by=bad)


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


def test_tags_filter_requires_all_tags(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    assert ids(index.list(tags=["python"])) == ["alpha", "bravo", "delta"]
    assert ids(index.list(tags=["python", "api"])) == ["alpha", "delta"]
    assert ids(index.list(tags=("api", "notes", "python"))) == ["delta"]
    assert index.list(tags=["python", "rust"]) == []
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


def test_filters_combine(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    found = index.list(tags=["api"], search="re", working_dir="/proj", sort_by="title")
    assert ids(found) == ["alpha", "delta"]
    assert ids(index.list(tags=["python"], working_dir="/proj", limit=1, offset=1)) == ["delta"]


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
    index.add(new)
    assert index.is_dirty is True
    assert "echo" in index and index.count() == 5
    assert ids(index.get_recent(1)) == ["echo"]
    new.title = "renamed"
    new.tags = ["t"]
    index.update(new)
    summary = index.get("echo")
    assert summary is not None and (summary.title, summary.tags) == ("renamed", ["t"])
    assert index.remove("echo") is True
    assert index.remove("echo") is False
    assert "echo" not in index and index.count() == 4


def test_an_entry_does_not_change_with_the_session(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    session = Session(id="echo", title="before")
    index.add(session)
    session.title = "after"
    summary = index.get("echo")
    assert summary is not None and summary.title == "before"


def test_save_if_dirty_writes_the_spec_format(storage: SessionStorage) -> None:
    put(storage, "alpha", title="A", messages=2, tokens=7, tags=["x"], model="m")
    index = SessionIndex(storage)
    index.count()  # first load builds and writes the index
    first = storage.index_path.read_bytes()
    assert index.save_if_dirty() is False
    assert storage.index_path.read_bytes() == first

    index.add(Session(id="bravo", title="B", working_dir="/b", created_at=BASE, updated_at=BASE))
    assert index.save_if_dirty() is True
    assert index.is_dirty is False
    assert index.save_if_dirty() is False
    document = json.loads(storage.index_path.read_text())
    assert set(document) == {"version", "sessions"}
    assert document["version"] == 1
    assert set(document["sessions"]) == {"alpha", "bravo"}
    for entry in document["sessions"].values():
        assert set(entry) == ENTRY_KEYS
    assert document["sessions"]["alpha"] == {
        "title": "A",
        "created_at": "2024-01-01T00:00:00+00:00",
        "updated_at": "2024-01-01T00:00:00+00:00",
        "message_count": 2,
        "total_tokens": 7,
        "tags": ["x"],
        "working_dir": "/proj",
        "model": "m",
    }
    assert document["sessions"]["bravo"]["working_dir"] == "/b"


def test_removal_reaches_the_file(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    index.remove("alpha")
    assert index.save_if_dirty() is True
    assert "alpha" not in json.loads(populated.index_path.read_text())["sessions"]


def test_changes_are_visible_to_a_fresh_index(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    session = populated.load("alpha")
    session.title = "retitled"
    index.update(session)
    index.save_if_dirty()
    fresh = SessionIndex(populated).get("alpha")
    assert fresh is not None and fresh.title == "retitled"


def test_two_indexes_merge_rather_than_overwrite(storage: SessionStorage) -> None:
    put(storage, "base")
    first, second = SessionIndex(storage), SessionIndex(storage)
    first.count()
    second.count()
    first.add(Session(id="from-first", created_at=BASE, updated_at=BASE))
    second.add(Session(id="from-second", created_at=BASE, updated_at=BASE))
    assert first.save_if_dirty() is True
    assert second.save_if_dirty() is True
    on_disk = set(json.loads(storage.index_path.read_text())["sessions"])
    assert on_disk == {"base", "from-first", "from-second"}
    assert {"base", "from-first", "from-second"} <= set(second.ids())


def test_refresh_rereads_the_disk(storage: SessionStorage) -> None:
    put(storage, "one")
    index = SessionIndex(storage)
    assert index.count() == 1
    put(storage, "two")
    assert index.count() == 1  # cached
    index.refresh()
    assert index.count() == 2


# -- rebuild and self-repair ------------------------------------------------------------------


def test_rebuild_reads_every_session_file(populated: SessionStorage) -> None:
    index = SessionIndex(populated)
    index.count()
    stale = json.loads(populated.index_path.read_text())
    stale["sessions"]["alpha"]["title"] = "stale title"
    stale["sessions"]["alpha"]["message_count"] = 999
    populated.index_path.write_text(json.dumps(stale))
    index.refresh()
    summary = index.get("alpha")
    assert summary is not None and summary.title == "stale title"  # the cache is trusted
    assert index.rebuild() == 4
    summary = index.get("alpha")
    assert summary is not None and (summary.title, summary.message_count) == (
        "Refactoring API client",
        15,
    )
    on_disk = json.loads(populated.index_path.read_text())["sessions"]["alpha"]
    assert (on_disk["title"], on_disk["message_count"]) == ("Refactoring API client", 15)
    assert index.is_dirty is False


def test_rebuild_of_an_empty_storage(storage: SessionStorage) -> None:
    index = SessionIndex(storage)
    assert index.rebuild() == 0
    assert json.loads(storage.index_path.read_text()) == {"version": 1, "sessions": {}}


def test_missing_index_is_built_on_first_use(populated: SessionStorage) -> None:
    assert not populated.index_path.exists()
    assert SessionIndex(populated).count() == 4
    assert set(json.loads(populated.index_path.read_text())["sessions"]) == {
        "alpha",
        "bravo",
        "charlie",
        "delta",
    }


def test_files_added_or_removed_behind_the_index_are_reconciled(
    populated: SessionStorage,
) -> None:
    SessionIndex(populated).count()
    put(populated, "echo", title="added later")
    populated.delete("bravo")
    index = SessionIndex(populated)
    assert sorted(index.ids()) == ["alpha", "charlie", "delta", "echo"]
    assert set(json.loads(populated.index_path.read_text())["sessions"]) == {
        "alpha",
        "charlie",
        "delta",
        "echo",
    }


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{broken",
        b"[]",
        b'{"sessions": {}}',
        b'{"version": 0, "sessions": {}}',
        b'{"version": true, "sessions": {}}',
        b'{"version": 1, "sessions": []}',
        b'{"version": 1, "sessions": {"alpha": {"title": 5}}}',
        b'{"version": 1, "sessions": {"alpha": "x"}}',
    ],
)
def test_unusable_index_is_rebuilt_with_a_warning(
    populated: SessionStorage, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    populated.ensure_dir()
    populated.index_path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert SessionIndex(populated).count() == 4
    assert "rebuilding" in caplog.text
    assert json.loads(populated.index_path.read_text())["version"] == 1


def test_index_with_an_out_of_range_timestamp_is_rebuilt(populated: SessionStorage) -> None:
    SessionIndex(populated).count()
    document = json.loads(populated.index_path.read_text())
    document["sessions"]["alpha"]["created_at"] = "0001-01-01T00:00:00+01:00"
    populated.index_path.write_text(json.dumps(document))
    assert ids(SessionIndex(populated).list()) == ["alpha", "bravo", "charlie", "delta"]


def test_index_from_a_newer_version_is_used_read_only(
    populated: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    populated.ensure_dir()
    newer = b'{"version": 2, "sessions": {}, "future": true}'
    populated.index_path.write_bytes(newer)
    index = SessionIndex(populated)
    with caplog.at_level(logging.WARNING):
        assert index.count() == 4  # listed from the session files
    assert "newer" in caplog.text
    index.add(Session(id="echo"))
    assert index.save_if_dirty() is False
    assert populated.index_path.read_bytes() == newer


def test_unreadable_session_files_are_skipped(
    populated: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    populated.get_path("bravo").write_text("{garbage")
    with caplog.at_level(logging.WARNING):
        index = SessionIndex(populated)
        assert sorted(index.ids()) == ["alpha", "charlie", "delta"]
    assert "bravo" in caplog.text


def test_index_path_unreadable_is_rebuilt(
    populated: SessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    populated.ensure_dir()
    populated.index_path.mkdir()  # reading fails with an OS error, not corruption
    with caplog.at_level(logging.WARNING):
        assert SessionIndex(populated).count() == 4
    assert "cannot read" in caplog.text
    assert os.path.isdir(populated.index_path)
