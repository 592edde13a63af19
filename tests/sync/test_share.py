"""``session share`` and ``session import URL``: a redacted copy by link, imported elsewhere."""

from __future__ import annotations

import json

import httpx
import pytest
from sync_helpers import Machine, S3Server, contents

from opencode.sync.errors import ShareError
from opencode.sync.share import parse_expiry

# Shaped like an AWS access key pair; the redactor must catch it.
SECRET = "AKIAQWERTYUIOPASDFGH"
SECRET_LINE = f"export AWS_ACCESS_KEY_ID={SECRET}"


def share(machine: Machine, session_id: str, *extra: str) -> str:
    r = machine.run("session", "share", session_id, *extra)
    assert r.returncode == 0, r.stderr
    url = r.stdout.strip()
    assert url.startswith("http://127.0.0.1:") and "\n" not in url
    return url


def test_a_shared_link_imports_as_a_new_session_that_says_where_it_came_from(
    machines: tuple[Machine, Machine],
) -> None:
    a, b = machines
    original = a.new_session("Worth sharing", "how do I do this?", "like this")
    url = share(a, original.id)

    r = b.run("session", "import", url, "--json")

    assert r.returncode == 0, r.stderr
    outcome = r.json()
    assert outcome["status"] == "imported" and outcome["id"] != original.id
    imported = b.load(outcome["id"])
    assert [m.content for m in imported.messages] == ["how do I do this?", "like this"]
    assert imported.title == "Worth sharing"
    link = url.split("?", 1)[0]
    assert imported.metadata["imported_from"] == {"tool": "share", "url": link}
    assert "Signature" not in json.dumps(imported.metadata)
    assert "Imported shared session" in r.stderr
    assert outcome["id"] in b.index_ids()


def test_shared_copies_are_redacted_unless_asked_otherwise(
    machines: tuple[Machine, Machine],
) -> None:
    a, _ = machines
    session = a.new_session("Setup", "how do I configure it?", SECRET_LINE)

    r = a.run("session", "share", session.id)
    assert r.returncode == 0, r.stderr
    assert "1 value redacted" in r.stderr
    shared = httpx.get(r.stdout.strip()).text
    assert SECRET not in shared and "[REDACTED:" in shared
    assert SECRET in contents(a.load(session.id))[1][2]  # the local session is unchanged

    plain = httpx.get(share(a, session.id, "--no-redact")).text
    assert SECRET in plain


def test_a_link_can_expire_sooner(machines: tuple[Machine, Machine]) -> None:
    a, _ = machines
    session = a.new_session("Short-lived", "hi")
    url = share(a, session.id, "--expires", "30m")
    assert "X-Amz-Expires=1800" in url
    r = a.run("session", "share", session.id, "--expires", "8d")
    assert r.returncode == 1
    assert r.error_lines == ["error: a shared link expires after 1 minute to 7 days (S3's limit)"]


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("12h", 43200), ("7d", 604800)])
def test_expiry_durations(text: str, seconds: int) -> None:
    assert parse_expiry(text) == seconds


def test_bad_expiry_is_refused() -> None:
    with pytest.raises(ShareError):
        parse_expiry("soon")


def test_importing_a_url_that_is_not_a_session_writes_nothing(
    machines: tuple[Machine, Machine], s3_server: S3Server, bucket: str
) -> None:
    _, b = machines
    admin = s3_server.admin
    admin.put_object(Bucket=bucket, Key="not-a-session.json", Body=b'{"hello": "world"}')
    url = admin.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "not-a-session.json"}, ExpiresIn=60
    )
    r = b.run("session", "import", url)
    assert r.returncode == 1
    assert len(r.stderr.splitlines()) == 1 and "not an opencode session" in r.stderr
    assert "Signature" not in r.stderr and "X-Amz" not in r.stderr
    missing = url.replace("not-a-session", "missing")
    r = b.run("session", "import", missing)
    assert r.returncode == 1 and "HTTP 40" in r.stderr
    assert b.files() == []
