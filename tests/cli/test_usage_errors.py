"""Usage mistakes: one ``error:`` line and a ``Try`` line on a piped stderr, exit 2.

On a terminal Typer's framed message is allowed. Usage lines (in ``--help`` and in errors)
name arguments plainly: ``ID``, ``TITLE...``, never ``{ID}``.
"""

from __future__ import annotations

import sys

import pytest
import stub_chat_server as helper  # on sys.path via tests/cli/conftest.py
from cli_helpers import make_session, run_opencode

from opencode.cli.argv import ID_COMMANDS

# argv, the start of the error line, the command whose help the Try line names
USAGE_ERRORS = [
    (["session", "show"], "error: Missing argument 'ID'.", "session show"),
    (["session", "title", "abc"], "error: Missing argument 'TITLE...'.", "session title"),
    (["session", "tag", "abc"], "error: Missing argument 'TAG...'.", "session tag"),
    (["session", "delete"], "error: Missing argument 'ID...'.", "session delete"),
    (["session", "list", "--bogus"], "error: No such option: --bogus", "session list"),
    (["--bogus"], "error: No such option: --bogus", ""),
    (["session", "nope"], "error: No such command 'nope'.", "session"),
    (
        ["session", "list", "--sort", "size"],
        "error: Invalid value for '--sort': 'size' is not one of 'updated', 'changed', "
        "'created', 'title', 'messages', 'tokens'.",
        "session list",
    ),
    (
        ["session", "export", "abc", "--format", "pdf"],
        "error: Invalid value for '--format' / '-f': 'pdf' is not one of 'markdown', 'json'.",
        "session export",
    ),
    (
        ["session", "list", "--limit", "-1"],
        "error: Invalid value for '--limit' / '-n': -1 is not in the range x>=0.",
        "session list",
    ),
    (
        ["session", "list", "--here", "--dir", "."],
        "error: --here and --dir cannot be used together",
        "session list",
    ),
    (["--resume", "x", "--continue"], "error: --resume and --continue cannot be used together", ""),
    (
        ["session", "list", "--json", "-q"],
        "error: --json and --quiet cannot be used together",
        "session list",
    ),
]


@pytest.mark.parametrize(
    ("args", "first_line", "command"),
    USAGE_ERRORS,
    ids=[" ".join(args) for args, _, _ in USAGE_ERRORS],
)
def test_a_usage_error_is_one_line_and_a_hint_on_a_piped_stderr(
    args: list[str], first_line: str, command: str
) -> None:
    make_session("Some session")  # errors must not depend on an empty store
    r = run_opencode(*args)

    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == first_line
    path = f"opencode {command}".strip()
    assert lines[1:] == [f"Try '{path} --help' for help."]
    assert not any(char in r.stderr for char in "╭│╰"), r.stderr  # no frame
    assert "Traceback" not in r.stderr and "Usage:" not in r.stderr


def test_a_failed_usage_check_changes_nothing() -> None:
    session = make_session("Keep")
    r = run_opencode("session", "delete", session.id, "--no-such-flag")
    assert r.returncode == 2
    r = run_opencode("session", "list", "-q")
    assert r.stdout.split() == [session.id]


# -- usage lines ----------------------------------------------------------------------------------

PLAIN_USAGE = {
    "show": "ID",
    "resume": "[ID]",
    "title": "ID TITLE...",
    "tag": "ID TAG...",
    "delete": "ID...",
    "export": "ID",
    "recover": "ID",
    "fork": "ID",
    "archive": "ID...",
    "unarchive": "ID...",
    "pin": "ID...",
    "unpin": "ID...",
    "resolve": "ID",
    "share": "ID",
}


def test_every_id_command_is_covered() -> None:
    assert set(PLAIN_USAGE) == set(ID_COMMANDS)


@pytest.mark.parametrize("name", sorted(PLAIN_USAGE))
def test_help_usage_lines_name_arguments_plainly(name: str) -> None:
    r = run_opencode("session", name, "--help", env={"COLUMNS": "200"})

    assert r.returncode == 0, r.stderr
    (usage,) = [line.strip() for line in r.stdout.splitlines() if "Usage:" in line]
    assert usage == f"Usage: opencode session {name} [OPTIONS] {PLAIN_USAGE[name]}"
    assert "{" not in r.stdout and "}" not in r.stdout


def test_trash_restore_usage_is_plain_too() -> None:
    r = run_opencode("session", "trash", "restore", "--help", env={"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    assert "Usage: opencode session trash restore [OPTIONS] ID..." in r.stdout
    assert "{" not in r.stdout


# -- on a terminal ---------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_on_a_terminal_the_framed_message_is_allowed() -> None:
    terminal = helper.PtyProcess(["session", "title", "abc"], helper.chat_env(None))
    try:
        before = terminal.expect("Missing argument 'TITLE...'.")
        assert terminal.wait() == 2
    finally:
        terminal.close()
    assert "opencode session title [OPTIONS] ID TITLE..." in before
    assert "{" not in before
    assert "Traceback" not in before
