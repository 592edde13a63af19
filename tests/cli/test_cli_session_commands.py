"""``opencode session new|show|title|tag|delete|cleanup|export|recover``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from cli_helpers import CliRunnerHelper, ago, make_session, run_opencode, sessions_dir

from opencode.cli import console, render
from opencode.sessions import Session, SessionIndex, SessionMessage, SessionStorage, ToolInvocation


def stored(session_id: str) -> Session:
    return SessionStorage().load(session_id)


def trashed_ids(cli: CliRunnerHelper) -> set[str]:
    r = cli("session", "trash", "list", "--json")
    assert r.exit_code == 0, r.output
    return {entry["id"] for entry in json.loads(r.stdout)}


# -- new --------------------------------------------------------------------------------------


def test_session_new_prints_only_the_id_when_piped(cli: CliRunnerHelper) -> None:
    r = cli("session", "new")
    assert r.exit_code == 0, r.output
    session_id = r.stdout.strip()
    assert r.stdout == f"{session_id}\n"
    assert r.stderr == ""
    session = stored(session_id)
    assert session.title == ""  # named later by the first user message
    assert session.working_dir == os.getcwd()


def test_session_new_with_options(cli: CliRunnerHelper, tmp_path: Path) -> None:
    r = cli(
        "session", "new", "--title", "Refactor", "--tag", "a", "--tag", "b",
        "--model", "gpt-x", "--dir", str(tmp_path),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    session = stored(r.stdout.strip())
    assert (session.title, session.tags, session.model) == ("Refactor", ["a", "b"], "gpt-x")
    assert session.working_dir == str(tmp_path)

    r = cli("session", "list")
    assert "Refactor" in r.stdout


def test_session_new_on_a_terminal_adds_a_hint(
    cli: CliRunnerHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "stdout_is_tty", lambda: True)
    monkeypatch.setattr("opencode.cli.console.stdout_is_tty", lambda: True)
    r = cli("session", "new")
    assert r.exit_code == 0, r.output
    session_id = r.stdout.strip()
    assert f"opencode --resume {session_id[:8]}" in r.stderr


def test_session_new_rejects_bad_values(cli: CliRunnerHelper, tmp_path: Path) -> None:
    r = cli("session", "new", "--tag", "two words")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: tag 'two words'")
    assert "Traceback" not in r.output

    r = cli("session", "new", "--dir", str(tmp_path / "missing"))
    assert r.exit_code == 2


# -- show -------------------------------------------------------------------------------------


def _rich_session() -> Session:
    session = make_session("Refactoring API client", tags=["api"], model="claude")
    storage = SessionStorage()
    session.messages = [
        SessionMessage(role="system", content="You are a helpful coding assistant."),
        SessionMessage(role="user", content="Help me refactor the API client"),
        SessionMessage(
            role="assistant",
            content="I'll help you refactor...",
            tool_calls=[
                {
                    "id": "call_abc123",
                    "type": "function",
                    "function": {"name": "read", "arguments": '{"file_path": "/p/api.py"}'},
                }
            ],
        ),
        SessionMessage(
            role="tool",
            content="class APIClient:\n    ...",
            tool_call_id="call_abc123",
            name="read",
        ),
    ]
    session.tool_history = [
        ToolInvocation(tool_name="read", arguments={"file_path": "/p/api.py"}, duration=0.05),
        ToolInvocation(tool_name="bash", success=False, error="exit status 2"),
    ]
    session.total_prompt_tokens, session.total_completion_tokens = 1500, 800
    storage.save(session)
    index = SessionIndex(storage)
    index.update(session)
    index.save_if_dirty()
    return session


def test_session_show_prints_metadata_usage_and_transcript(cli: CliRunnerHelper) -> None:
    session = _rich_session()

    r = cli("session", "show", session.id[:6])

    assert r.exit_code == 0, r.output
    out = r.stdout
    assert session.id in out
    assert "Refactoring API client" in out
    assert "2,300 (1,500 prompt, 800 completion)" in out
    assert "Tags:" in out and "api" in out and "claude" in out
    for text in (
        "System",
        "You are a helpful coding assistant.",
        "User",
        "Help me refactor the API client",
        "Assistant",
        "-> read",
        '"file_path": "/p/api.py"',
        "call_abc123",
        "Tool read",
        "class APIClient:",
        "Tool runs:",
        "failed: exit status 2",
    ):
        assert text in out, text
    assert r.stderr == ""


def test_session_show_json_is_the_session_file_object(cli: CliRunnerHelper) -> None:
    session = _rich_session()
    r = cli("session", "show", session.id, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data == session.to_dict()
    assert data["messages"][2]["tool_calls"][0]["function"]["name"] == "read"


def test_long_tool_results_are_shortened_in_show_but_not_in_export(cli: CliRunnerHelper) -> None:
    long = "\n".join(f"line {n}" for n in range(100))
    session = make_session("Long", messages=[("tool", long)])
    r = cli("session", "show", session.id)
    assert "line 19" in r.stdout and "line 20\n" not in r.stdout
    assert "80 more lines" in r.stdout
    r = cli("session", "export", session.id)
    assert "line 99" in r.stdout


# -- title and tag ----------------------------------------------------------------------------


def test_session_title_renames(cli: CliRunnerHelper) -> None:
    session = make_session("Old name")
    r = cli("session", "title", session.id[:8], "A", "brand", "new", "name")
    assert r.exit_code == 0, r.output
    assert stored(session.id).title == "A brand new name"
    assert "A brand new name" in r.stderr
    assert "A brand new name" in cli("session", "list").stdout


def test_session_title_can_name_a_session_by_its_title(cli: CliRunnerHelper) -> None:
    session = make_session("Old name")
    r = cli("session", "title", "old NAME", "Better")
    assert r.exit_code == 0, r.output
    assert stored(session.id).title == "Better"


def test_session_tag_adds_and_removes(cli: CliRunnerHelper) -> None:
    session = make_session("Tag me", tags=["keep"])
    r = cli("session", "tag", session.id[:8], "bug", "urgent")
    assert r.exit_code == 0, r.output
    assert stored(session.id).tags == ["keep", "bug", "urgent"]
    r = cli("session", "tag", session.id[:8], "urgent", "keep", "--remove")
    assert r.exit_code == 0, r.output
    assert stored(session.id).tags == ["bug"]
    assert "Tags of" in r.stderr and "bug" in r.stderr
    assert json.loads(cli("session", "list", "--json").stdout)[0]["tags"] == ["bug"]


# -- delete -----------------------------------------------------------------------------------


def test_delete_without_terminal_or_yes_refuses(cli: CliRunnerHelper) -> None:
    session = make_session("Precious")
    r = cli("session", "delete", session.id[:8])
    assert r.exit_code == 1
    assert r.stderr.startswith("error: refusing to delete 1 session without confirmation")
    assert "--yes" in r.stderr
    assert (sessions_dir() / f"{session.id}.json").exists()


def test_delete_with_yes(cli: CliRunnerHelper) -> None:
    a = make_session("First")
    b = make_session("Second")
    keep = make_session("Third")
    r = cli("session", "delete", a.id[:8], "second", "--yes")
    assert r.exit_code == 0, r.output
    assert not (sessions_dir() / f"{a.id}.json").exists()
    assert not (sessions_dir() / f"{b.id}.json").exists()
    assert cli("session", "list", "-q").stdout.split() == [keep.id]
    # Deleting moves to the trash (--permanent deletes for good).
    assert "Moved to the trash: " in r.stderr and "First" in r.stderr
    assert trashed_ids(cli) == {a.id, b.id}


def test_delete_asks_on_a_terminal(cli: CliRunnerHelper, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("opencode.cli.console.stdin_is_tty", lambda: True)
    session = make_session("Ask first")

    r = cli("session", "delete", session.id, input="n\n")
    assert r.exit_code == 1
    assert "Ask first" in r.stderr and "Move to the trash 1 session?" in r.stderr
    assert "Nothing deleted." in r.stderr
    assert (sessions_dir() / f"{session.id}.json").exists()
    assert trashed_ids(cli) == set()

    r = cli("session", "delete", session.id, input="y\n")
    assert r.exit_code == 0, r.output
    assert not (sessions_dir() / f"{session.id}.json").exists()
    assert trashed_ids(cli) == {session.id}


def test_delete_resolves_every_id_before_deleting_any(cli: CliRunnerHelper) -> None:
    session = make_session("Survivor")
    r = cli("session", "delete", session.id, "nope-not-here", "--yes")
    assert r.exit_code == 1
    assert "session not found: nope-not-here" in r.stderr
    assert (sessions_dir() / f"{session.id}.json").exists()


def test_delete_a_session_open_in_another_process_is_refused(cli: CliRunnerHelper) -> None:
    from opencode.sessions import SessionManager

    session = make_session("Busy")
    other = SessionManager(storage=SessionStorage(), fire_shell_hooks=False)
    other.resume(session.id)
    try:
        r = cli("session", "delete", session.id, "--yes")
    finally:
        other.close()
    assert r.exit_code == 1
    assert "is open in another process" in r.stderr
    assert (sessions_dir() / f"{session.id}.json").exists()


# -- cleanup ----------------------------------------------------------------------------------


def _aged_sessions() -> tuple[list[Session], list[Session]]:
    old = [make_session(f"Old {n}", updated=ago(days=40 + n)) for n in range(3)]
    recent = [make_session(f"Recent {n}", updated=ago(days=n)) for n in range(2)]
    return old, recent


def test_cleanup_dry_run_lists_and_deletes_nothing(cli: CliRunnerHelper) -> None:
    old, _ = _aged_sessions()
    r = cli("session", "cleanup", "--keep", "1", "--dry-run")
    assert r.exit_code == 0, r.output
    for session in old:
        assert session.id[:8] in r.stdout and session.title in r.stdout
    assert "a month ago" in r.stdout
    assert "Recent" not in r.stdout
    assert "3 sessions" in r.stdout and "bytes" in r.stdout
    assert "would move 3 sessions to the trash" in r.stderr
    assert len(cli("session", "list", "-q").stdout.split()) == 5
    assert trashed_ids(cli) == set()


def test_cleanup_without_terminal_or_yes_refuses(cli: CliRunnerHelper) -> None:
    _aged_sessions()
    r = cli("session", "cleanup", "--keep", "1")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: refusing to clean up 3 sessions without confirmation")
    assert "--yes" in r.stderr
    assert len(cli("session", "list", "-q").stdout.split()) == 5
    assert trashed_ids(cli) == set()


def test_cleanup_with_yes_deletes_old_sessions_and_reports_bytes(cli: CliRunnerHelper) -> None:
    old, recent = _aged_sessions()
    sizes = sum(SessionStorage().session_size(s.id) for s in old)
    r = cli("session", "cleanup", "--keep", "1", "--yes")
    assert r.exit_code == 0, r.output
    assert f"{sizes:,} bytes" in r.stdout
    assert f"Moved 3 of 3 sessions to the trash ({render.size(sizes)})" in r.stderr
    left = set(cli("session", "list", "-q").stdout.split())
    assert left == {s.id for s in recent}
    assert trashed_ids(cli) == {s.id for s in old}


def test_cleanup_keeps_the_newest_and_respects_max_age(cli: CliRunnerHelper) -> None:
    _aged_sessions()
    r = cli("session", "cleanup", "--keep", "4", "--dry-run")
    assert r.stdout.count("Old ") == 1
    r = cli("session", "cleanup", "--max-age-days", "100", "--keep", "0", "--dry-run")
    assert "Nothing to clean up" in r.stderr
    assert r.stdout == ""


def test_cleanup_asks_on_a_terminal(cli: CliRunnerHelper, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("opencode.cli.console.stdin_is_tty", lambda: True)
    _aged_sessions()
    r = cli("session", "cleanup", "--keep", "0", input="n\n")
    assert r.exit_code == 1
    assert len(cli("session", "list", "-q").stdout.split()) == 5
    r = cli("session", "cleanup", "--keep", "0", input="y\n")
    assert r.exit_code == 0, r.output
    assert len(cli("session", "list", "-q").stdout.split()) == 2


@pytest.mark.parametrize("age", ["nan", "inf", "1e10"])
def test_cleanup_rejects_ages_that_are_not_a_number_of_days(cli: CliRunnerHelper, age: str) -> None:
    _aged_sessions()
    r = cli("session", "cleanup", "--max-age-days", age, "--keep", "0", "--yes")
    assert r.exit_code == 1, r.output
    assert r.stderr.splitlines() == [
        f"error: max_age_days must be between 0 and 36500, got {float(age)}"
    ]
    assert r.stdout == ""
    assert len(cli("session", "list", "-q").stdout.split()) == 5


def test_cleanup_goes_on_after_a_failed_deletion_and_tidies_up(cli: CliRunnerHelper) -> None:
    broken = make_session("Undeletable", updated=ago(days=90))
    old = make_session("Old", updated=ago(days=60))
    recent = make_session("Recent", updated=ago(days=1))
    # A folder where the session file should be: unlinking it fails, as on a read-only disk.
    path = sessions_dir() / f"{broken.id}.json"
    path.unlink()
    path.mkdir()
    (path / "keep").write_text("x")
    stale = sessions_dir() / f".{old.id}.json.abc123.tmp"  # left by a crash mid-save
    stale.write_text("half")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))

    r = cli("session", "cleanup", "--keep", "0", "--max-age-days", "30", "--yes")

    assert r.exit_code == 1, r.output
    lines = r.stderr.splitlines()
    # The broken session is also listed as damaged, with a warning of its own.
    failed = [n for n, line in enumerate(lines) if line.startswith("warning: could not clean")]
    assert len(failed) == 1, r.stderr
    assert lines[failed[0]].startswith(f"warning: could not clean up {broken.id[:8]}: ")
    assert "Moved 1 of 2 sessions to the trash" in lines[failed[0] + 1]
    assert lines[-1] == "error: could not clean up 1 of 2 sessions"
    assert not (sessions_dir() / f"{old.id}.json").exists()  # the next one was still moved
    assert trashed_ids(cli) == {old.id}
    assert not stale.exists()  # temp files swept all the same
    listed = json.loads(cli("session", "list", "--json").stdout)
    assert {row["id"] for row in listed} == {broken.id, recent.id}  # ... and the index saved


# -- export -----------------------------------------------------------------------------------


def test_export_json_loads_back(cli: CliRunnerHelper, tmp_path: Path) -> None:
    session = _rich_session()
    target = tmp_path / "out.json"
    r = cli("session", "export", session.id[:8], "--format", "json", "-o", str(target))
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    assert str(target) in r.stderr
    loaded = Session.from_json(target.read_text(encoding="utf-8"))
    assert loaded.to_dict() == session.to_dict()

    r = cli("session", "export", session.id[:8], "--format", "json")
    assert Session.from_json(r.stdout).id == session.id


def test_export_markdown_is_a_readable_transcript(cli: CliRunnerHelper) -> None:
    session = _rich_session()
    r = cli("session", "export", session.id)
    assert r.exit_code == 0, r.output
    md = r.stdout
    assert md.startswith("# Refactoring API client\n")
    assert f"`{session.id}`" in md
    assert "## User" in md and "Help me refactor the API client" in md
    assert "## Assistant" in md
    assert "**Tool call:** `read` (`call_abc123`)" in md
    assert "## Tool result: read (`call_abc123`)" in md
    assert "```\nclass APIClient:\n    ...\n```" in md
    assert "## Tool runs" in md and "failed: exit status 2" in md


def test_export_to_an_unwritable_place_is_one_error_line(
    cli: CliRunnerHelper, tmp_path: Path
) -> None:
    session = make_session("X")
    r = cli("session", "export", session.id, "-o", str(tmp_path / "no" / "such" / "dir.md"))
    assert r.exit_code == 1
    assert r.stderr.startswith("error: ")
    assert len(r.stderr.splitlines()) == 1
    assert "Traceback" not in r.output


def test_export_dash_is_stdout(
    cli: CliRunnerHelper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    session = make_session("To stdout")
    r = cli("session", "export", session.id, "-f", "json", "-o", "-")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["id"] == session.id
    assert not Path("-").exists()


def test_export_replaces_the_file_atomically(cli: CliRunnerHelper, tmp_path: Path) -> None:
    session = make_session("Atomic")
    target = tmp_path / "out.md"
    target.write_text("old export\n")
    other_name = tmp_path / "same-file.md"
    os.link(target, other_name)  # a second name for the old file's contents

    r = cli("session", "export", session.id, "-o", str(target))

    assert r.exit_code == 0, r.output
    assert target.read_text().startswith("# Atomic\n")
    # A new file was renamed into place: the old one was never opened and truncated, so
    # its other name still holds it whole (a crash mid-write could not have left half).
    assert other_name.read_text() == "old export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["out.md", "same-file.md"]


# -- recover ----------------------------------------------------------------------------------


def _two_versions() -> tuple[Session, Path]:
    """A session saved with 1 message, then with 2 (the first version is its .backup)."""
    session = make_session("Will break", messages=[("user", "first")])
    session.title = "Will break, second version"
    session.messages.append(SessionMessage(role="assistant", content="second"))
    storage = SessionStorage()
    storage.save(session)
    index = SessionIndex(storage)
    index.update(session)
    index.save_if_dirty()
    return session, sessions_dir() / f"{session.id}.json"


def _listed(cli: CliRunnerHelper, session_id: str) -> dict[str, object]:
    r = cli("session", "list", "--json")
    assert r.exit_code == 0, r.output
    return next(row for row in json.loads(r.stdout) if row["id"] == session_id)


def test_recover_restores_the_backup(cli: CliRunnerHelper) -> None:
    session, path = _two_versions()
    path.write_text('{"truncated": ')

    r = cli("session", "show", session.id[:8])
    assert r.exit_code == 1
    # Looking the prefix up lists the sessions, which warns about the damaged one first.
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, r.stderr
    assert errors[0].startswith(f"error: {path}: ")
    assert f"opencode session recover {session.id}" in r.stderr

    r = cli("session", "recover", session.id[:8])
    assert r.exit_code == 0, r.output
    assert r.stderr == f"Restored {session.id[:8]} (1 message) from its backup\n"
    assert stored(session.id).title == "Will break"
    assert cli("session", "show", session.id).exit_code == 0
    listed = _listed(cli, session.id)  # the index entry is the backup's, not the newer one's
    assert (listed["message_count"], listed["title"]) == (1, "Will break")


def test_recover_refuses_a_session_that_still_loads(cli: CliRunnerHelper) -> None:
    session, _ = _two_versions()

    r = cli("session", "recover", session.id)

    assert r.exit_code == 1
    error, hint = r.stderr.splitlines()
    assert error.startswith(f"error: session {session.id} is not damaged")
    assert hint.startswith("hint: ") and "--force" in hint
    assert stored(session.id).message_count == 2  # nothing lost
    assert _listed(cli, session.id)["message_count"] == 2

    r = cli("session", "recover", session.id, "--force")
    assert r.exit_code == 0, r.output
    assert stored(session.id).message_count == 1
    assert _listed(cli, session.id)["message_count"] == 1


def test_recover_without_backup_fails_cleanly(cli: CliRunnerHelper) -> None:
    session = make_session("Only version")
    (sessions_dir() / f"{session.id}.json").write_text("garbage")
    r = cli("session", "recover", session.id)
    assert r.exit_code == 1
    assert "no usable backup" in r.stderr


# -- the real executable ----------------------------------------------------------------------


def test_session_commands_through_the_installed_command() -> None:
    r = run_opencode("session", "new", "--title", "Real process", "--tag", "cli")
    assert r.returncode == 0, r.stderr
    session_id = r.stdout.strip()
    assert r.stdout == f"{session_id}\n"

    r = run_opencode("session", "show", session_id[:8], "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["title"] == "Real process"

    r = run_opencode("session", "delete", session_id[:8])
    assert r.returncode == 1
    assert "refusing" in r.stderr

    r = run_opencode("session", "delete", session_id[:8], "--yes")
    assert r.returncode == 0, r.stderr
    assert run_opencode("session", "list", "-q").stdout == ""
