"""The chat loop: drafts that leave nothing behind, multi-line messages, editing and history
with a piped stdout, and ``--continue`` from inside a git project.

Terminal behaviour runs ``opencode`` on a pseudo-terminal (``PtyProcess``); what was sent is
read back from the session on disk and from the stub server's requests.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import stub_chat_server as helper  # on sys.path via tests/cli/conftest.py
from cli_helpers import ago, make_session, sessions_dir

from opencode.cli.repl.loop import GOODBYE_UNSAID

POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def session_files() -> list[str]:
    """Every session file (snapshot, journal, backup...) in the data folder."""
    folder = sessions_dir()
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def sent_contents(stub: helper.StubChatServer) -> list[str]:
    """The newest user message of each request the server received."""
    return [request.body["messages"][-1]["content"] for request in stub.requests]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def terminal(stub: helper.StubChatServer) -> Iterator[helper.PtyProcess]:
    process = helper.PtyProcess([], helper.chat_env(stub))
    yield process
    process.close()


def first_prompt(terminal: helper.PtyProcess) -> str:
    """Wait for the first ``You:`` prompt; the id the loop announced."""
    return helper.session_id_from(terminal.expect("You: ").replace("\r\n", "\n"))


# -- drafts: nothing is written until the first message ------------------------------------------


def test_quitting_at_once_leaves_no_session(stub, project):
    result = helper.run_opencode([], "/quit\n", helper.chat_env(stub), project)

    assert result.returncode == 0, result.stderr
    assert "Starting new session..." in result.stderr
    assert result.stderr.splitlines()[-1] == GOODBYE_UNSAID
    assert session_files() == []
    assert stub.requests == []


@POSIX_ONLY
def test_ctrl_d_at_once_leaves_no_session(terminal):
    first_prompt(terminal)
    terminal.write(b"\x04")
    terminal.expect(GOODBYE_UNSAID)

    assert terminal.wait() == 0
    assert session_files() == []


def test_session_new_then_resume_leaves_no_draft_behind(stub, project):
    kept = make_session("Kept", updated=ago(hours=1), messages=[("user", "hi")])

    stdin = "/session new\n/session resume\n/quit\n"
    result = helper.run_opencode([], stdin, helper.chat_env(stub), project)

    assert result.returncode == 0, result.stderr
    assert "New session: " in result.stdout
    assert "Resumed: Kept" in result.stdout
    # Neither draft was written: every file belongs to the session resumed.
    assert session_files() and all(name.startswith(kept.id) for name in session_files())


def test_the_first_message_writes_the_draft(stub, project):
    stub.reply("hello back")
    result = helper.run_opencode([], "/session new\nhello\n/quit\n", helper.chat_env(stub), project)

    assert result.returncode == 0, result.stderr
    new_id = next(
        line.removeprefix("New session: ")
        for line in result.stdout.splitlines()
        if line.startswith("New session: ")
    )
    assert result.stderr.splitlines()[-1] == "Session saved. Goodbye!"
    assert f"{new_id}.json" in session_files()
    announced = helper.session_id_from(result.stderr)
    assert not any(name.startswith(announced) for name in session_files())  # left unsaid
    assert helper.contents(helper.load_session(new_id)) == [
        ("user", "hello"),
        ("assistant", "hello back"),
    ]


def test_a_title_and_tags_given_to_a_draft_are_kept_with_the_first_message(stub, project):
    stdin = "/session title Named early\n/session tag alpha beta\nhello\n/quit\n"
    result = helper.run_opencode([], stdin, helper.chat_env(stub), project)

    assert result.returncode == 0, result.stderr
    assert "Title set: Named early" in result.stdout
    session = helper.load_session(helper.session_id_from(result.stderr))
    assert (session.title, session.tags) == ("Named early", ["alpha", "beta"])
    assert helper.contents(session) == [("user", "hello"), ("assistant", "ok")]


def test_session_new_command_still_creates_one_at_once(project):
    result = helper.run_opencode(
        ["session", "new", "--title", "Made now"], "", helper.chat_env(None), project
    )

    assert result.returncode == 0, result.stderr
    session_id = result.stdout.strip()
    assert f"{session_id}.json" in session_files()
    session = helper.load_session(session_id)
    assert (session.title, session.message_count) == ("Made now", 0)


# -- several lines in one message ----------------------------------------------------------------


@POSIX_ONLY
def test_a_bracketed_paste_is_one_message(stub, terminal):
    session_id = first_prompt(terminal)
    terminal.write(b"\x1b[200~line one\nline two\x1b[201~\r")
    terminal.expect("Assistant: ok")
    terminal.expect("You: ")
    terminal.write(b"/quit\r")
    terminal.expect("Goodbye!")

    assert terminal.wait() == 0
    assert sent_contents(stub) == ["line one\nline two"]
    assert helper.contents(helper.load_session(session_id)) == [
        ("user", "line one\nline two"),
        ("assistant", "ok"),
    ]


@POSIX_ONLY
def test_alt_enter_inserts_a_newline(stub, terminal):
    session_id = first_prompt(terminal)
    terminal.write(b"first line\x1b\rsecond line\r")
    terminal.expect("Assistant: ok")
    terminal.expect("You: ")
    terminal.write(b"\x04")
    terminal.expect("Goodbye!")

    assert terminal.wait() == 0
    assert sent_contents(stub) == ["first line\nsecond line"]
    assert helper.load_session(session_id).messages[0].content == "first line\nsecond line"


@POSIX_ONLY
def test_a_trailing_backslash_continues_the_message(stub, terminal):
    session_id = first_prompt(terminal)
    terminal.write(b"first part \\\r")
    terminal.expect("... ")
    terminal.write(b"second part\\\r")
    terminal.expect("... ")
    terminal.write(b"last part\r")
    terminal.expect("Assistant: ok")
    terminal.expect("You: ")
    terminal.write(b"ends in two \\\\\r")  # an escaped backslash: sent at once
    terminal.expect("Assistant: ok")
    terminal.expect("You: ")
    terminal.write(b"/quit\r")
    terminal.expect("Goodbye!")

    assert terminal.wait() == 0
    assert sent_contents(stub) == ["first part \nsecond part\nlast part", "ends in two \\\\"]
    user = [m.content for m in helper.load_session(session_id).messages if m.role == "user"]
    assert user == sent_contents(stub)


@POSIX_ONLY
def test_edit_sends_what_the_editor_saved(stub, tmp_path):
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nprintf ' and the editor\\nsecond line\\n' >> \"$1\"\n")
    editor.chmod(0o755)
    drafts = tmp_path / "tmp"
    drafts.mkdir()
    env = helper.chat_env(stub, EDITOR=str(editor), VISUAL="", TMPDIR=str(drafts))
    terminal = helper.PtyProcess([], env)
    try:
        session_id = first_prompt(terminal)
        terminal.write(b"/edit typed first\r")
        terminal.expect("Assistant: ok")
        terminal.expect("You: ")
        terminal.write(b"/quit\r")
        terminal.expect("Goodbye!")
        assert terminal.wait() == 0
    finally:
        terminal.close()

    expected = "typed first and the editor\nsecond line"
    assert sent_contents(stub) == [expected]
    assert helper.contents(helper.load_session(session_id)) == [
        ("user", expected),
        ("assistant", "ok"),
    ]
    assert list(drafts.iterdir()) == []  # the draft file is removed


@POSIX_ONLY
def test_edit_with_an_editor_that_fails_sends_nothing(stub, tmp_path):
    terminal = helper.PtyProcess([], helper.chat_env(stub, EDITOR="false", VISUAL=""))
    try:
        first_prompt(terminal)
        terminal.write(b"/edit\r")
        terminal.expect("Cannot edit the message: the editor exited with status 1")
        terminal.expect("You: ")
        terminal.write(b"/quit\r")
        terminal.expect(GOODBYE_UNSAID)
        assert terminal.wait() == 0
    finally:
        terminal.close()
    assert stub.requests == []


def test_help_explains_multi_line_input(project):
    result = helper.run_opencode([], "/help\n", helper.chat_env(None), project)

    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "/edit" in text and "$EDITOR" in text
    assert "paste" in text
    assert "Alt-Enter" in text
    assert "end a line with \\ to continue it" in text


# -- line editing and history with stdout piped (``opencode | cat``) ---------------------------


@POSIX_ONLY
def test_line_editing_and_history_work_with_stdout_piped(stub):
    stub.reply("first answer")
    stub.reply("second answer")
    terminal = helper.PtyProcess([], helper.chat_env(stub), stdout_pipe=True)
    try:
        session_id = first_prompt(terminal)  # the prompt is on the terminal
        terminal.write(b"world")
        terminal.expect("world")
        terminal.write(b"\x01hello \r")  # Ctrl-A: to the start of the line
        terminal.expect("You: ")
        terminal.write(b"\x1b[A")  # Up: the line typed before
        terminal.expect("hello world")
        terminal.write(b" again\r")
        terminal.expect("You: ")
        terminal.write(b"/quit\r")
        terminal.expect("Goodbye!")
        assert terminal.wait() == 0
        out = terminal.read_stdout()
    finally:
        terminal.close()

    assert out == "first answer\nsecond answer\n"  # answers on the pipe, nothing else
    assert helper.contents(helper.load_session(session_id)) == [
        ("user", "hello world"),
        ("assistant", "first answer"),
        ("user", "hello world again"),
        ("assistant", "second answer"),
    ]


# -- --continue from inside a git project --------------------------------------------------------


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_continue_from_a_subfolder_finds_the_project_session(tmp_path):
    root = tmp_path / "repo"
    deep = root / "src" / "pkg"
    deep.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True)
    at_root = make_session("At the root", working_dir=str(root), updated=ago(days=1))
    make_session("Elsewhere, newer", working_dir=str(tmp_path / "other"), updated=ago(hours=1))

    result = helper.run_opencode(["--continue"], "/quit\n", helper.chat_env(None), deep)

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert f"Continuing the latest session under {root}" in lines
    assert f"Resuming session: {at_root.id}" in lines
    assert "(At the root - 0 messages)" in lines


def test_continue_from_a_subfolder_without_a_project_session_says_where_it_looked(tmp_path):
    root = tmp_path / "repo"
    deep = root / "src"
    deep.mkdir(parents=True)
    (root / ".git").mkdir()  # what marks a work tree's top
    make_session("Elsewhere", working_dir=str(tmp_path / "other"))

    result = helper.run_opencode(["-c"], "", helper.chat_env(None), deep)

    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == f"error: no session was started under {root}"
