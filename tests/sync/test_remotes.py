"""``opencode remote add|list|remove``: the remotes file, and no secret ever in it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from sync_helpers import Machine, make_machine

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return make_machine(tmp_path, "m")


def test_add_list_remove(machine: Machine) -> None:
    r = machine.run(
        "remote", "add", "backup", "s3://my-bucket/team/sessions/", "--endpoint-url",
        "https://abc123.r2.cloudflarestorage.com", "--region", "auto",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert "Added remote backup: s3://my-bucket/team/sessions" in r.stderr
    assert (
        machine.run("remote", "add", "aws", "s3://other-bucket", "--profile", "work").returncode
        == 0
    )

    listed = machine.run("remote", "list", "--json").json()
    assert listed == [
        {
            "name": "backup",
            "url": "s3://my-bucket/team/sessions",
            "endpoint_url": "https://abc123.r2.cloudflarestorage.com",
            "region": "auto",
            "profile": None,
        },
        {
            "name": "aws",
            "url": "s3://other-bucket",
            "endpoint_url": None,
            "region": None,
            "profile": "work",
        },
    ]
    table = machine.run("remote", "list").stdout.splitlines()
    assert table[0].split() == ["NAME", "URL", "ENDPOINT", "REGION", "PROFILE"]
    assert table[2].split() == ["aws", "s3://other-bucket", "(AWS)", "-", "work"]

    r = machine.run("remote", "remove", "backup")
    assert r.returncode == 0, r.stderr
    assert [x["name"] for x in machine.run("remote", "list", "--json").json()] == ["aws"]


def test_the_file_is_private_versioned_and_never_holds_a_secret(machine: Machine) -> None:
    r = machine.run(
        "remote", "add", "origin", "s3://my-bucket",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLEEXAMPLE00", AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_SESSION_TOKEN="token-" + SECRET,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    path = machine.config_dir / "remotes.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["version"] == 1
    for file in machine.root.rglob("*"):
        if file.is_file():
            text = file.read_bytes()
            assert SECRET.encode() not in text and b"AKIAEXAMPLE" not in text, file


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["origin", "http://my-bucket"], "expected s3://BUCKET[/PREFIX]"),
        (["origin", "s3://UPPER"], "invalid bucket name"),
        (["origin", "s3://my-bucket/../up"], "invalid key prefix"),
        (["../evil", "s3://my-bucket"], "invalid remote name"),
        (["origin", "s3://my-bucket", "--endpoint-url", "ftp://x"], "invalid endpoint URL"),
    ],
)
def test_bad_remotes_are_one_error(machine: Machine, args: list[str], message: str) -> None:
    r = machine.run("remote", "add", *args)
    assert r.returncode == 1
    assert len(r.error_lines) == 1 and message in r.error_lines[0], r.stderr
    assert not (machine.config_dir / "remotes.json").exists()


def test_names_are_unique_and_removal_needs_a_known_name(machine: Machine) -> None:
    assert machine.run("remote", "add", "origin", "s3://my-bucket").returncode == 0
    r = machine.run("remote", "add", "origin", "s3://other-bucket")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = machine.run("remote", "remove", "nope")
    assert r.returncode == 1 and r.error_lines == [
        "error: no remote named 'nope' (remotes: origin)"
    ]


def test_a_newer_remotes_file_is_refused_not_overwritten(machine: Machine) -> None:
    path = machine.config_dir / "remotes.json"
    machine.config_dir.mkdir(parents=True)
    content = json.dumps({"version": 9, "remotes": {}})
    path.write_text(content)
    r = machine.run("remote", "add", "origin", "s3://my-bucket")
    assert r.returncode == 1 and "newer than this opencode supports" in r.stderr
    assert path.read_text() == content


def test_sync_needs_a_remote_and_names_one_among_several(machine: Machine) -> None:
    r = machine.run("sync")
    assert r.returncode == 1 and "no remote yet" in r.stderr
    machine.run("remote", "add", "one", "s3://bucket-one")
    machine.run("remote", "add", "two", "s3://bucket-two")
    r = machine.run("sync")
    assert r.returncode == 1 and r.error_lines == [
        "error: several remotes (one, two): name the one to use"
    ]
