"""``peek_newest`` agrees with ``SessionIndex.list`` or steps aside for it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from opencode.sessions import Session, SessionIndex, SessionStorage
from opencode.sessions.fileio import dumps_json
from opencode.sessions.index import peek_newest


def indexed_folder(count: int) -> SessionStorage:
    storage = SessionStorage()
    storage.ensure_dir()
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    index = SessionIndex(storage)
    for n in range(count):
        when = start + timedelta(minutes=n, microseconds=n % 2)  # both timestamp forms
        session = Session(id=f"s{n:03}", title=f"t{n}", created_at=when, updated_at=when)
        storage.save(session)
        index.add(session)
    index.save_if_dirty()
    return storage


def test_peek_matches_the_index_listing() -> None:
    storage = indexed_folder(30)
    peeked = peek_newest(storage, 5)
    assert peeked is not None
    rows, total = peeked
    assert total == 30
    assert rows == SessionIndex(storage).list(limit=5)


def test_peek_steps_aside_when_files_changed_behind_the_index() -> None:
    storage = indexed_folder(3)
    extra = Session(id="added-by-hand", title="x")
    storage.get_path(extra.id).write_bytes(dumps_json(extra.to_dict()))
    assert peek_newest(storage, 5) is None
    assert "added-by-hand" in [s.id for s in SessionIndex(storage).list()]


def test_peek_steps_aside_for_other_timestamp_forms_and_versions() -> None:
    storage = indexed_folder(3)
    document = json.loads(storage.index_path.read_text())
    document["sessions"]["s000"]["updated_at"] = "2024-01-01T01:00:00+02:00"
    storage.index_path.write_text(json.dumps(document))
    assert peek_newest(storage, 5) is None
    document["version"] = 2
    storage.index_path.write_text(json.dumps(document))
    assert peek_newest(storage, 5) is None


def test_peek_on_an_empty_folder_is_none() -> None:
    assert peek_newest(SessionStorage(), 5) is None
