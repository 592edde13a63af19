"""Bad conditions: each is one ``error:`` line (exit 1) and leaves the local store as it was;
bad data from another device is skipped with one warning and never written."""

from __future__ import annotations

import random
import string
from pathlib import Path

import orjson
import pytest
from sync_helpers import (
    CuttingProxy,
    Machine,
    S3Server,
    SilentServer,
    contents,
    free_port,
    make_machine,
    moved,
)

from opencode.sessions import Session, SessionMessage
from opencode.sync.layout import Layout
from opencode.sync.manifest import Entry, encode_session

FAKE_DEVICE = "fe" * 16


def add_remote(machine: Machine, url: str, endpoint: str) -> None:
    added = machine.run("remote", "add", "origin", url, "--endpoint-url", endpoint)
    assert added.returncode == 0, added.stderr


def assert_one_error(machine: Machine, *, contains: str, **env: str) -> None:
    before = machine.files()
    r = machine.run("sync", **env)
    assert r.returncode == 1, r.stderr
    assert len(r.stderr.splitlines()) == 1 and r.error_lines, r.stderr
    assert contains in r.stderr
    assert r.stdout == ""
    assert machine.files() == before  # the local store is untouched
    assert not (machine.data_dir / "sync" / "device.json").exists()


@pytest.fixture
def lone(tmp_path: Path) -> Machine:
    machine = make_machine(tmp_path, "lone")
    machine.new_session("Precious", "do not lose me")
    return machine


def test_wrong_credentials(lone: Machine, s3_server: S3Server, bucket: str) -> None:
    add_remote(lone, f"s3://{bucket}", s3_server.endpoint)
    with s3_server.checking_credentials():
        assert_one_error(
            lone,
            contains="access refused (InvalidAccessKeyId",
            AWS_ACCESS_KEY_ID="AKIAWRONGWRONGWRONG0",
            AWS_SECRET_ACCESS_KEY="wrong",
        )


def test_missing_bucket(lone: Machine, s3_server: S3Server) -> None:
    add_remote(lone, "s3://no-such-bucket-here", s3_server.endpoint)
    assert_one_error(lone, contains="the bucket 'no-such-bucket-here' does not exist")


def test_an_endpoint_that_refuses(lone: Machine) -> None:
    add_remote(lone, "s3://some-bucket", f"http://127.0.0.1:{free_port()}")
    assert_one_error(lone, contains="cannot reach the endpoint")


def test_an_endpoint_that_never_answers_times_out(lone: Machine) -> None:
    server = SilentServer()
    try:
        add_remote(lone, "s3://some-bucket", f"http://127.0.0.1:{server.port}")
        assert_one_error(lone, contains="timed out", OPENCODE_SYNC_TIMEOUT="1")
    finally:
        server.close()


def test_a_bucket_of_a_newer_format_is_refused(
    lone: Machine, s3_server: S3Server, bucket: str
) -> None:
    s3_server.admin.put_object(
        Bucket=bucket,
        Key=Layout("future").format_key,
        Body=orjson.dumps({"version": 2}),
    )
    add_remote(lone, f"s3://{bucket}/future", s3_server.endpoint)
    assert_one_error(lone, contains="sync format version 2; this opencode supports version 1")


def test_no_credentials_at_all(lone: Machine, s3_server: S3Server, bucket: str) -> None:
    add_remote(lone, f"s3://{bucket}", s3_server.endpoint)
    assert_one_error(
        lone, contains="no usable AWS credentials", AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY=""
    )


def test_a_connection_cut_mid_transfer_leaves_no_partial_session_and_the_next_run_resumes(
    tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    a, b = make_machine(tmp_path, "a"), make_machine(tmp_path, "b")
    add_remote(a, f"s3://{bucket}", s3_server.endpoint)
    proxy = CuttingProxy(s3_server.port, min_body=20_000, cut_after=5_000)
    try:
        add_remote(b, f"s3://{bucket}", f"http://127.0.0.1:{proxy.port}")
        noise = "".join(random.Random(7).choices(string.ascii_letters, k=200_000))
        big = a.new_session("Big one", noise, "and a reply")
        small = a.new_session("Small one", "hi")
        a.sync()

        r = b.run("sync")
        assert r.returncode == 1, r.stderr
        assert r.error_lines and "connection was cut" in r.stderr
        assert proxy.cuts >= 1
        assert b.files() == []  # no session at all, let alone half of one

        proxy.armed = False
        report = b.sync()
        assert moved(report) == sorted([(big.id, "new"), (small.id, "new")])
        assert contents(b.load(big.id)) == contents(big)
    finally:
        proxy.close()


def test_corrupt_and_foreign_objects_are_skipped_with_one_warning_each(
    machines: tuple[Machine, Machine], s3_server: S3Server, bucket: str
) -> None:
    a, b = machines
    good = a.new_session("Good", "hello")
    a.sync()
    b.sync()
    layout = Layout("team")
    admin = s3_server.admin

    def put_object(name: str, data: bytes) -> str:
        path = layout.object_path(FAKE_DEVICE, name)
        admin.put_object(Bucket=bucket, Key=layout.absolute(path), Body=data)
        return path

    stranger = Session(title="Stranger", working_dir="/w")
    stranger.add_message(SessionMessage(role="user", content="hi"))
    encoded = encode_session(stranger)
    # A "newer version" of the good session whose object does not hold what it claims.
    newer_good = Session.from_dict(good.to_dict())
    newer_good.add_message(SessionMessage(role="user", content="evil"))
    newer = encode_session(newer_good)
    entries = [
        _entry(good.id, newer.content, put_object(newer.sha, b"not gzip")),  # bad gzip
        _entry("bad-sha", encoded.content, put_object("1" * 64, encoded.data)),  # sha mismatch
        _entry("foreign", encoded.content, put_object(encoded.sha, encoded.data)),  # id mismatch
    ]
    batch = {
        "format": 1,
        "kind": "log",
        "device": FAKE_DEVICE,
        "host": "mallory",
        "seq": 1,
        "written_at": "2030-01-01T00:00:00+00:00",
        "entries": [e.to_dict() for e in entries],
    }
    admin.put_object(Bucket=bucket, Key=layout.log_key(FAKE_DEVICE, 1), Body=orjson.dumps(batch))
    garbage_device = "0f" * 16
    admin.put_object(Bucket=bucket, Key=layout.log_key(garbage_device, 1), Body=b"\x00garbage")

    r = b.run("sync")

    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 4, r.stderr
    assert sum("corrupt or foreign" in w for w in warnings) == 3
    assert any(f"{garbage_device}/log/" in w and "not valid JSON" in w for w in warnings)
    assert b.ids() == {good.id}
    assert contents(b.load(good.id)) == contents(good)  # never written over
    again = b.run("sync")  # warned once: the same bad objects are not reported again
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr


def _entry(session_id: str, content: str, path: str) -> Entry:
    return Entry(
        id=session_id,
        device=FAKE_DEVICE,
        host="mallory",
        written_at="2030-01-01T00:00:00+00:00",
        content=content,
        object_path=path,
        object_bytes=1,
    )
