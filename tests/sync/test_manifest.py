"""Objects and batches: what is published, and everything a reader refuses."""

from __future__ import annotations

import gzip
import hashlib

import orjson
import pytest

from opencode.sessions import Session, SessionMessage
from opencode.sync.errors import SyncFormatError
from opencode.sync.layout import Layout, seq_of_log_key
from opencode.sync.manifest import (
    PACKED_FORMAT,
    BadRemoteDataError,
    Batch,
    Entry,
    Metadata,
    decode_batch,
    decode_object,
    encode_session,
)

DEVICE = "ab" * 16


def session(title: str = "A title", *texts: str) -> Session:
    made = Session(title=title, working_dir="/w")
    for text in texts or ("hello",):
        made.add_message(SessionMessage(role="user", content=text))
    return made


def test_an_object_round_trips_and_is_named_by_its_content() -> None:
    original = session("T", "one", "two")
    encoded = encode_session(original)
    assert hashlib.sha256(gzip.decompress(encoded.data)).hexdigest() == encoded.sha
    back = decode_object(encoded.data, encoded.sha, original.id)
    assert back.to_dict() == {**original.to_dict(), "journal_seq": 0}
    assert encode_session(original).data == encoded.data  # deterministic bytes


def test_the_content_fingerprint_ignores_what_is_merged_on_its_own() -> None:
    original = session("T", "one")
    renamed = Session.from_dict(original.to_dict())
    Metadata(
        title="Other", tags=("x",), pinned=True, archived_at="2026-01-01T00:00:00+00:00"
    ).apply_to(renamed)
    renamed.journal_seq = 7
    assert encode_session(renamed).content == encode_session(original).content
    assert encode_session(renamed).sha != encode_session(original).sha
    renamed.add_message(SessionMessage(role="user", content="more"))
    assert encode_session(renamed).content != encode_session(original).content


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda e, s: (b"not gzip at all", e.sha, s.id), "not gzip"),
        (lambda e, s: (e.data[:-10], e.sha, s.id), "gzip"),
        (lambda e, s: (e.data, "0" * 64, s.id), "SHA-256"),
        (lambda e, s: (e.data, e.sha, "another-id"), "holds session"),
        (lambda e, s: (_gz(b"[1, 2]"), _sha(b"[1, 2]"), s.id), "not a session"),
        (lambda e, s: (_gz(b"{nope"), _sha(b"{nope"), s.id), "not valid JSON"),
    ],
)
def test_corrupt_or_foreign_objects_are_refused(make: object, problem: str) -> None:
    original = session()
    data, sha, sid = make(encode_session(original), original)  # type: ignore[operator]
    with pytest.raises(BadRemoteDataError, match=problem):
        decode_object(data, sha, sid)


def test_a_gzip_bomb_stops_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    from opencode.sync import manifest

    monkeypatch.setattr(manifest, "MAX_OBJECT_BYTES", 1024)
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(BadRemoteDataError, match="larger than"):
        decode_object(bomb, _sha(b"\0" * 10_000_000), "x")


def entry_dict(**changes: object) -> dict[str, object]:
    base = Entry(
        id="s1",
        device=DEVICE,
        host="h",
        written_at="2026-01-01T00:00:00+00:00",
        content="c" * 64,
        object_path=f"devices/{DEVICE}/objects/{'e' * 64}",
    ).to_dict()
    return {**base, **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"id": "../../etc/passwd"},
        {"object": "devices/../../secrets"},
        {"object": "https://elsewhere.example/x"},
        {"content": "short"},
        {"content": None, "deleted_at": None},
        {"tags": "not a list"},
        {"message_count": -1},
        {"device": "NOT-A-DEVICE"},
    ],
)
def test_malformed_or_unsafe_entries_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(BadRemoteDataError):
        Entry.from_dict(entry_dict(**changes))


def test_a_batch_skips_bad_entries_and_refuses_a_mislabelled_one() -> None:
    good = entry_dict()
    document = {
        "format": 1,
        "kind": "log",
        "device": DEVICE,
        "host": "laptop",
        "seq": 3,
        "written_at": "2026-01-01T00:00:00+00:00",
        "entries": [good, entry_dict(id="../x"), entry_dict(device="cd" * 16)],
    }
    batch, notes = decode_batch(orjson.dumps(document), kind="log", device=DEVICE, seq=3)
    assert [e.id for e in batch.entries] == ["s1"] and batch.entries[0].seq == 3
    assert len(notes) == 2
    with pytest.raises(BadRemoteDataError, match="does not match"):
        decode_batch(orjson.dumps(document), kind="log", device=DEVICE, seq=4)
    with pytest.raises(BadRemoteDataError, match="not valid JSON"):
        decode_batch(b"garbage", kind="log", device=DEVICE, seq=3)


def test_a_batch_of_a_newer_format_stops_the_sync() -> None:
    document = {
        "format": PACKED_FORMAT + 1,
        "kind": "log",
        "device": DEVICE,
        "seq": 1,
        "entries": [],
    }
    with pytest.raises(SyncFormatError, match="upgrade opencode"):
        decode_batch(orjson.dumps(document), kind="log", device=DEVICE, seq=1)


def test_batches_round_trip_and_sort_in_sequence_order() -> None:
    entry = Entry.from_dict(entry_dict())
    batch = Batch("log", DEVICE, "laptop", 12, "2026-01-01T00:00:00+00:00", (entry,))
    decoded, notes = decode_batch(batch.encode(), kind="log", device=DEVICE, seq=12)
    assert notes == [] and decoded.entries == (entry.with_seq(12),)
    layout = Layout("team/a")
    keys = [layout.log_key(DEVICE, n) for n in (9, 10, 100)]
    assert sorted(keys) == keys  # S3 lists lexicographically
    assert [seq_of_log_key(k) for k in keys] == [9, 10, 100]
    assert keys[0].startswith("team/a/opencode-sync/v1/devices/")


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def packed_entry_dict(**changes: object) -> dict[str, object]:
    pack = f"devices/{DEVICE}/packs/{'c' * 64}"
    place = {"object": pack, "offset": 4096, "object_bytes": 100, "sha": "d" * 64}
    return {**entry_dict(), **place, **changes}


def test_a_packed_entry_round_trips_in_a_batch_of_the_packed_format() -> None:
    entry = Entry.from_dict(packed_entry_dict())
    assert entry.is_packed and entry.object_offset == 4096 and entry.sha == "d" * 64
    assert entry.object_id == f"devices/{DEVICE}/packs/{'c' * 64}@4096:{'d' * 64}"
    batch = Batch("log", DEVICE, "laptop", 3, "2026-01-01T00:00:00+00:00", (entry,))
    assert orjson.loads(batch.encode())["format"] == PACKED_FORMAT
    decoded, notes = decode_batch(batch.encode(), kind="log", device=DEVICE, seq=3)
    assert notes == [] and decoded.entries == (entry.with_seq(3),)


def test_a_batch_without_packs_keeps_the_first_format() -> None:
    entry = Entry.from_dict(entry_dict())
    assert not entry.is_packed and entry.sha == str(entry_dict()["object"]).rsplit("/", 1)[-1]
    batch = Batch("log", DEVICE, "laptop", 3, "2026-01-01T00:00:00+00:00", (entry,))
    document = orjson.loads(batch.encode())
    assert document["format"] == 1
    assert "offset" not in document["entries"][0] and "sha" not in document["entries"][0]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"offset": None}, "not a count"),
        ({"offset": -1}, "not a count"),
        ({"sha": None}, "without its place"),
        ({"sha": "not a sha"}, "without its place"),
        ({"object_bytes": 0}, "empty range"),
    ],
)
def test_a_malformed_place_in_a_pack_is_refused(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(BadRemoteDataError, match=problem):
        Entry.from_dict(packed_entry_dict(**changes))


def test_a_pack_entry_needs_both_offset_and_sha() -> None:
    missing_offset = packed_entry_dict()
    del missing_offset["offset"]
    with pytest.raises(BadRemoteDataError, match="without its place"):
        Entry.from_dict(missing_offset)


def test_a_byte_range_outside_a_pack_is_refused() -> None:
    with pytest.raises(BadRemoteDataError, match="outside a pack"):
        Entry.from_dict({**entry_dict(), "offset": 0, "sha": "d" * 64})
