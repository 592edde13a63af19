"""``opencode session export ID --redact`` through the installed command: secrets replaced in
JSON (which still loads) and Markdown, the count on stderr, the stored session unchanged, and
the detector library never loaded by listing or by a plain export."""

from __future__ import annotations

import json

from cli_helpers import ago, modules_loaded_by, run_opencode, sessions_dir

from opencode.sessions import Session, SessionIndex, SessionMessage, SessionStorage

# Assembled at run time so this file holds nothing a secret scanner would flag.
GITHUB = "gh" + "p_" + "A1b2C3d4E5f6G7h8" * 2 + "I9j0"
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
BEARER = "0123456789" + "abcdefABCDEF" * 2
SECRETS = [GITHUB, AWS_KEY_ID, "hunter2", BEARER, "s3cr3t-Pa55"]


def saved(session: Session) -> Session:
    """``session`` written through the library (snapshot and index), as the CLI finds it."""
    storage = SessionStorage()
    storage.save(session)
    index = SessionIndex(storage)
    index.add(session)
    index.save_if_dirty()
    return session


def secret_session() -> Session:
    when = ago(minutes=1)
    session = Session(title=f"push with {GITHUB}", working_dir="/work/app", created_at=when)
    session.messages += [
        SessionMessage(role="user", content=f"my AWS key id is {AWS_KEY_ID}", timestamp=when),
        SessionMessage(
            role="assistant",
            content="",
            timestamp=when,
            tool_calls=[
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "bash",
                        "arguments": json.dumps(
                            {"cmd": f"curl -H 'Authorization: Bearer {BEARER}' https://api"}
                        ),
                    },
                }
            ],
        ),
        SessionMessage(role="tool", tool_call_id="call_1", content="PASSWORD=hunter2\n"),
    ]
    session.record_tool_call("env", {"db": {"password": "s3cr3t-Pa55"}}, "ok")
    return saved(session)


def test_json_export_is_redacted_counted_and_still_loads() -> None:
    session = secret_session()
    r = run_opencode("session", "export", session.id, "--format", "json", "--redact")
    assert r.returncode == 0, r.stderr
    assert r.stderr == "Redacted 5 secret-shaped values\n"
    for secret in SECRETS:
        assert secret not in r.stdout
    exported = Session.from_json(r.stdout)
    assert exported.id == session.id
    assert exported.title == "push with [REDACTED:github-token]"
    assert exported.messages[0].content == "my AWS key id is [REDACTED:aws-key]"
    arguments = exported.messages[1].tool_calls[0]["function"]["arguments"]  # type: ignore[index]
    assert json.loads(arguments) == {
        "cmd": "curl -H 'Authorization: Bearer [REDACTED:bearer-token]' https://api"
    }
    assert exported.messages[2].content == "PASSWORD=[REDACTED:password]\n"
    assert exported.tool_history[0].arguments == {"db": {"password": "[REDACTED:password]"}}


def test_markdown_export_to_a_file_is_redacted() -> None:
    session = secret_session()
    target = sessions_dir().parent / "shared.md"
    r = run_opencode("session", "export", session.id[:8], "--redact", "-o", str(target))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == "Redacted 5 secret-shaped values"
    assert lines[1].startswith("Exported ") and lines[1].endswith(str(target))
    text = target.read_text(encoding="utf-8")
    assert "# push with [REDACTED:github-token]" in text
    assert "[REDACTED:bearer-token]" in text
    for secret in SECRETS:
        assert secret not in text


def test_the_stored_session_keeps_its_values_and_a_plain_export_is_faithful() -> None:
    session = secret_session()
    path = sessions_dir() / f"{session.id}.json"
    before = path.read_bytes()
    assert run_opencode("session", "export", session.id, "--redact").returncode == 0
    assert path.read_bytes() == before
    r = run_opencode("session", "export", session.id, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert "Redacted" not in r.stderr
    assert Session.from_json(r.stdout).to_dict() == Session.from_json(before).to_dict()


def test_a_session_without_secrets_exports_unchanged_with_a_count_of_zero() -> None:
    session = Session(title="Refactor the parser", working_dir="/w", created_at=ago(hours=1))
    session.messages.append(SessionMessage(role="user", content="password: str = ''"))
    saved(session)
    plain = run_opencode("session", "export", session.id, "-f", "json")
    redacted = run_opencode("session", "export", session.id, "-f", "json", "--redact")
    assert redacted.returncode == 0, redacted.stderr
    assert redacted.stderr == "Redacted 0 secret-shaped values\n"
    assert redacted.stdout == plain.stdout


def test_one_value_is_reported_in_the_singular() -> None:
    session = Session(title="t", working_dir="/w", created_at=ago(hours=1))
    session.messages.append(SessionMessage(role="user", content=f"key {AWS_KEY_ID}"))
    saved(session)
    r = run_opencode("session", "export", session.id, "--redact")
    assert r.returncode == 0, r.stderr
    assert r.stderr == "Redacted 1 secret-shaped value\n"


def _modules_after(argv: list[str]) -> list[str]:
    """Which of detect-secrets and requests ``opencode ARGV`` loads, run in-process."""
    return modules_loaded_by(argv, {"detect_secrets", "requests"})


def test_listing_and_plain_exports_never_import_the_detector() -> None:
    session = secret_session()
    assert _modules_after(["--list-sessions"]) == []
    assert _modules_after(["session", "list"]) == []
    assert _modules_after(["session", "export", session.id]) == []
    # The probe sees the import when it happens.
    assert _modules_after(["session", "export", session.id, "--redact"]) == [
        "detect_secrets",
        "requests",
    ]
