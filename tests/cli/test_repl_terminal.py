"""The interactive loop on a pseudo-terminal: the prompt, Ctrl-C and Ctrl-D.

``opencode`` runs with a pty as its controlling terminal, so writing ``\\x03`` makes the
terminal send SIGINT exactly as a keyboard would.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
import stub_chat_server as helper  # on sys.path via tests/cli/conftest.py

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


@pytest.fixture
def terminal(stub: helper.StubChatServer) -> Iterator[helper.PtyProcess]:
    process = helper.PtyProcess([], helper.chat_env(stub))
    yield process
    process.close()


def test_prompt_shows_session_status_once_there_is_content(stub, terminal, data_dir):
    stub.reply("Hi", " there", usage={"prompt_tokens": 40, "completion_tokens": 6})

    banner = terminal.expect("You: ")
    assert "Starting new session..." in banner
    session_id = helper.session_id_from(banner.replace("\r\n", "\n"))
    terminal.write(b"hello\r")
    terminal.expect("Assistant: Hi there")
    terminal.expect("[2 msgs | 46 tokens] You: ")
    terminal.write(b"/quit\r")
    terminal.expect("Session saved. Goodbye!")

    assert terminal.wait() == 0
    assert helper.contents(helper.load_session(session_id)) == [
        ("user", "hello"),
        ("assistant", "Hi there"),
    ]
    history = data_dir / "repl_history"  # line editing keeps what was typed, privately
    assert history.read_text().splitlines()[-2:] == ["hello", "/quit"]
    assert history.stat().st_mode & 0o777 == 0o600


def test_ctrl_c_cancels_the_answer_and_keeps_the_session(stub, terminal):
    stub.slow("The first part", rest=" never shown")
    stub.reply("still here", usage={"prompt_tokens": 3, "completion_tokens": 2})

    session_id = helper.session_id_from(terminal.expect("You: ").replace("\r\n", "\n"))
    terminal.write(b"tell me a long story\r")
    terminal.expect("The first part")
    terminal.write(b"\x03")
    assert "never shown" not in terminal.expect("(answer interrupted")
    terminal.expect("[2 msgs | 0 tokens] You: ")  # back at the prompt, nothing lost
    terminal.write(b"are you there?\r")
    terminal.expect("Assistant: still here")
    terminal.expect("[4 msgs | 5 tokens] You: ")
    terminal.write(b"\x04")  # Ctrl-D
    terminal.expect("Session saved. Goodbye!")

    assert terminal.wait() == 0
    assert helper.contents(helper.load_session(session_id)) == [
        ("user", "tell me a long story"),
        ("assistant", "The first part"),  # what was on screen is what was kept
        ("user", "are you there?"),
        ("assistant", "still here"),
    ]


def test_ctrl_c_at_the_prompt_clears_the_line_and_twice_exits(terminal):
    session_id = helper.session_id_from(terminal.expect("You: ").replace("\r\n", "\n"))
    terminal.write(b"half a thought")
    terminal.expect("half a thought")
    terminal.interrupt_at_prompt()  # clears the typed text, no exit
    terminal.expect("You: ")
    terminal.interrupt_at_prompt()  # on an empty line: explain how to leave
    terminal.expect("press Ctrl-C again")
    terminal.expect("You: ")
    terminal.interrupt_at_prompt()
    terminal.expect("Nothing was said, so no session was kept. Goodbye!")

    assert terminal.wait() == 0
    # Nothing half-typed was sent, so the new session was never written.
    from opencode.sessions import SessionStorage

    assert not SessionStorage().has_files(session_id)


def test_tab_completes_slash_commands(terminal):
    session_id = helper.session_id_from(terminal.expect("You: ").replace("\r\n", "\n"))
    terminal.write(b"hello\r")  # a session is written at its first message
    terminal.expect("Assistant: ok")
    terminal.expect("You: ")
    terminal.write(b"/ses\tti\tBy tab\r")
    terminal.expect("Title set: By tab")
    terminal.write(b"/qu\t\r")
    terminal.expect("Session saved. Goodbye!")
    assert terminal.wait() == 0
    assert helper.load_session(session_id).title == "By tab"
