"""A large push packs small sessions into shared objects; pulls read each one's byte range."""

from __future__ import annotations

import io
import math
from typing import Any

import orjson
from sync_helpers import Machine, S3Server, contents, moved

from opencode.sessions.models import Session
from opencode.sessions.trash import Trash
from opencode.sync.engine import PACK_FROM, PACK_MAX_SESSIONS
from opencode.sync.layout import Layout
from opencode.sync.manifest import PACKED_FORMAT, Entry
from opencode.sync.store import ObjectStore

# Enough sessions for a packed push, and more than one pack.
MANY = max(PACK_FROM, PACK_MAX_SESSIONS + 10)


def many_sessions(machine: Machine, count: int = MANY) -> list[Session]:
    return [
        machine.new_session(f"session {n}", f"question {n}", f"answer {n}") for n in range(count)
    ]


def pushed_and_pulled(machines: tuple[Machine, Machine], count: int = PACK_FROM) -> list[Session]:
    """``count`` sessions made on A, pushed in packs and pulled by B."""
    a, b = machines
    made = many_sessions(a, count)
    a.sync()
    b.sync()
    return made


def keys(s3_server: S3Server, bucket: str, part: str) -> list[str]:
    pages = s3_server.admin.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(
        item["Key"] for page in pages for item in page.get("Contents", []) if part in item["Key"]
    )


def test_a_large_push_uploads_packs_and_the_other_machine_gets_every_session(
    machines: tuple[Machine, Machine], s3_server: S3Server, bucket: str
) -> None:
    a, b = machines
    made = many_sessions(a)

    pushed = a.sync()

    packs = math.ceil(MANY / PACK_MAX_SESSIONS)
    assert sorted(moved(pushed, "push")) == sorted((s.id, "new") for s in made)
    assert pushed["summary"]["objects_up"] == packs
    assert len(keys(s3_server, bucket, "/packs/")) == packs
    assert keys(s3_server, bucket, "/objects/") == []
    (log,) = keys(s3_server, bucket, "/log/")
    batch = orjson.loads(s3_server.admin.get_object(Bucket=bucket, Key=log)["Body"].read())
    assert batch["format"] == PACKED_FORMAT
    assert {(e["offset"] == 0) for e in batch["entries"]} == {True, False}

    pulled = b.sync()

    assert sorted(moved(pulled, "pull")) == sorted((s.id, "new") for s in made)
    assert pulled["summary"]["objects_down"] == packs  # neighbours come in one ranged GET
    pack_bytes = sum(e["object_bytes"] for e in batch["entries"])
    assert pulled["summary"]["bytes_down"] < pack_bytes + 2 * len(orjson.dumps(batch))
    for session in made:
        assert contents(b.load(session.id)) == contents(session)
    assert b.index_ids() == {s.id for s in made}
    assert b.sync()["moved"] == []


def test_after_a_packed_push_a_change_travels_alone(
    machines: tuple[Machine, Machine], s3_server: S3Server, bucket: str
) -> None:
    a, b = machines
    made = pushed_and_pulled(machines)

    changed, renamed = made[3], made[7]
    a.add_messages(changed.id, "one more")
    a.manager().update_session(renamed.id, title="Renamed")
    pushed = a.sync()

    assert sorted(moved(pushed)) == sorted([(changed.id, "update"), (renamed.id, "metadata")])
    assert pushed["summary"]["objects_up"] == 1  # an object of its own; the rename needs none
    assert len(keys(s3_server, bucket, "/objects/")) == 1
    pulled = b.sync()
    assert sorted(moved(pulled)) == sorted([(changed.id, "update"), (renamed.id, "metadata")])
    assert pulled["summary"]["objects_down"] == 1
    assert b.load(changed.id).messages[-1].content == "one more"
    assert b.load(renamed.id).title == "Renamed"


def test_a_cut_pack_loses_only_its_missing_sessions_and_warns_once(
    machines: tuple[Machine, Machine], s3_server: S3Server, bucket: str
) -> None:
    a, b = machines
    made = many_sessions(a, PACK_FROM)
    a.sync()
    (pack,) = keys(s3_server, bucket, "/packs/")
    whole = s3_server.admin.get_object(Bucket=bucket, Key=pack)["Body"].read()
    (log,) = keys(s3_server, bucket, "/log/")
    entries = orjson.loads(s3_server.admin.get_object(Bucket=bucket, Key=log)["Body"].read())[
        "entries"
    ]
    cut_at = len(whole) // 2
    kept = {e["id"] for e in entries if e["offset"] + e["object_bytes"] <= cut_at}
    s3_server.admin.put_object(Bucket=bucket, Key=pack, Body=whole[:cut_at])

    r = b.run("sync")

    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning: ")]
    assert 0 < len(kept) < len(made)
    assert len(warnings) == len(made) - len(kept), r.stderr
    assert all("corrupt or foreign" in w for w in warnings)
    assert b.ids() == kept  # no partial session for any range that was cut
    for session in made:
        if session.id in kept:
            assert contents(b.load(session.id)) == contents(session)
    again = b.run("sync")
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr


def test_downloads_group_only_neighbouring_sessions_of_one_pack() -> None:
    from opencode.sync.engine import PACK_MAX_BYTES, RUN_GAP_BYTES, _runs
    from opencode.sync.manifest import Entry

    device = "ab" * 16

    def entry(name: str, path: str, offset: int | None = None, size: int = 1000) -> Entry:
        return Entry(
            id=name,
            device=device,
            host="h",
            written_at="2026-01-01T00:00:00+00:00",
            content="c" * 64,
            object_path=f"devices/{device}/{path}",
            object_bytes=size,
            object_offset=offset,
            object_sha=None if offset is None else "d" * 64,
        )

    pack, other = "packs/" + "1" * 64, "packs/" + "2" * 64
    alone = entry("alone", "objects/" + "3" * 64)
    near = [entry(f"n{k}", pack, offset) for k, offset in enumerate((5000, 0, 1000))]
    far = entry("far", pack, 6000 + RUN_GAP_BYTES + 1)
    big = [entry("b1", other, 0, PACK_MAX_BYTES // 2), entry("b2", other, PACK_MAX_BYTES // 2, 10)]
    big.append(entry("b3", other, PACK_MAX_BYTES // 2 + 10, PACK_MAX_BYTES // 2))

    runs = _runs([alone, *near, far, *big])

    assert sorted([e.id for e in run] for run in runs) == sorted(
        [["alone"], ["n1", "n2", "n0"], ["far"], ["b1", "b2"], ["b3"]]
    )


def log_entries(s3_server: S3Server, bucket: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for key in keys(s3_server, bucket, "/log/"):
        body = s3_server.admin.get_object(Bucket=bucket, Key=key)["Body"].read()
        found += orjson.loads(body)["entries"]
    return found


def test_a_false_claim_on_a_pack_slot_never_hides_the_session_there(
    machines: tuple[Machine, Machine], s3_server: S3Server, bucket: str
) -> None:
    """Another device's entries naming the same byte range (a wrong hash; the right hash
    with another session's id) are skipped, and the real session still arrives."""
    a, b = machines
    made = many_sessions(a, PACK_FROM)
    a.sync()
    victim = log_entries(s3_server, bucket)[5]
    liar = "00" * 16  # listed before A's device, so its claims are read first
    claims = [
        {**victim, "id": "0-forged-sha", "device": liar, "sha": "0" * 64},
        {**victim, "id": "0-forged-id", "device": liar},
    ]
    batch = {
        "format": PACKED_FORMAT,
        "kind": "log",
        "device": liar,
        "host": "mallory",
        "seq": 1,
        "written_at": "2030-01-01T00:00:00+00:00",
        "entries": claims,
    }
    key = Layout("team").log_key(liar, 1)
    s3_server.admin.put_object(Bucket=bucket, Key=key, Body=orjson.dumps(batch))

    claimed = b.run("sync", "0-forged-sha", "0-forged-id")  # the false claims alone, first

    assert claimed.returncode == 0, claimed.stderr
    warnings = [line for line in claimed.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2 and all("corrupt or foreign" in w for w in warnings), claimed.stderr
    assert b.ids() == set()
    r = b.run("sync")
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    assert b.ids() == {s.id for s in made}
    assert contents(b.load(victim["id"])) == contents(next(s for s in made if s.id == victim["id"]))


def test_a_dry_run_of_a_large_push_writes_nothing(
    machines: tuple[Machine, Machine], s3_server: S3Server, bucket: str
) -> None:
    a, _ = machines
    made = many_sessions(a, PACK_FROM)

    report = a.sync("--dry-run")

    assert sorted(moved(report, "push")) == sorted((s.id, "new") for s in made)
    assert keys(s3_server, bucket, "/devices/") == []


def test_a_deleted_packed_session_lands_in_the_other_trash(
    machines: tuple[Machine, Machine], s3_server: S3Server, bucket: str
) -> None:
    a, b = machines
    made = pushed_and_pulled(machines)
    doomed = made[9]

    assert a.run("session", "delete", doomed.id, "--yes").returncode == 0
    assert moved(a.sync()) == [(doomed.id, "delete")]
    tombstone = log_entries(s3_server, bucket)[-1]
    assert tombstone["deleted_at"] and "offset" not in tombstone and tombstone["object"] is None

    assert moved(b.sync()) == [(doomed.id, "trash")]
    assert [e.id for e in Trash(b.storage).entries()] == [doomed.id]


class _WholeBody(io.BytesIO):
    """A response body, as botocore's streaming body reads and closes."""


class _RangeIgnoringClient:
    """An S3 client of a store that ignores ``Range``: every GET sends the whole object.
    No server at hand does this (moto and rclone honour ranges), hence this stand-in."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.ranges: list[str | None] = []

    def get_object(self, *, Bucket: str, Key: str, Range: str | None = None) -> dict[str, Any]:  # noqa: N803
        self.ranges.append(Range)
        return {"Body": _WholeBody(self.data), "ContentLength": len(self.data)}


def test_a_store_that_ignores_ranges_still_gives_each_span() -> None:
    data = bytes(range(256)) * 40  # 10,240 bytes
    client = _RangeIgnoringClient(data)
    store = ObjectStore(client, "bucket", label="plain")

    assert store.get("k", limit=1000, span=(0, 1000)) == data[:1000]
    assert store.get("k", limit=1000, span=(5000, 100)) == data[5000:5100]
    assert store.get("k", limit=240, span=(10000, 240)) == data[10000:]
    assert store.get("k", limit=10, span=(20000, 10)) == b""  # past the end: nothing
    assert client.ranges[:2] == ["bytes=0-999", "bytes=5000-5099"]


def test_an_empty_range_is_never_asked_for() -> None:
    client = _RangeIgnoringClient(b"x" * 100)
    store = ObjectStore(client, "bucket", label="plain")

    assert store.get("k", limit=10, span=(5, 0)) is None
    assert client.ranges == []
