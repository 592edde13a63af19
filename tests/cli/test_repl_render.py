"""How answers look: Markdown on a terminal, the exact text on a pipe, reasoning dimmed.

Terminal tests run the installed ``opencode`` on a pseudo-terminal (see ``PtyProcess``) with
the stub chat server answering; what the terminal shows is read back with escape sequences
removed, and the raw bytes are checked for what the model must never be able to send.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import stub_chat_server as helper  # on sys.path via tests/cli/conftest.py
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

ANSWER = (
    "Run this:\n\n```python\nprint('hi')\n```\n\n"
    "- first *point*\n- second **point**\n\n"
    "See [the docs](https://example.org/docs) or <b>this</b>."
)
PROMPT = "[2 msgs | 0 tokens] You: "


@pytest.fixture
def terminal(stub: helper.StubChatServer) -> Iterator[helper.PtyProcess]:
    process = helper.PtyProcess([], helper.chat_env(stub))
    yield process
    process.close()


def ask(terminal: helper.PtyProcess, question: bytes) -> tuple[str, bytes]:
    """Type ``question``; what the screen showed up to the next prompt, and the raw bytes."""
    terminal.expect("You: ")
    raw_start = len(terminal.raw)
    terminal.write(question + b"\r")
    shown = terminal.expect(PROMPT)
    return shown, terminal.raw[raw_start:]


def chunks(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_markdown_is_rendered_as_it_streams(stub, terminal):
    stub.reply(*chunks(ANSWER))

    shown, _ = ask(terminal, b"how?")

    assert "Assistant: Run this:" in shown
    assert "print('hi')" in shown
    assert "```" not in shown  # the fence is drawn as a code block, not printed
    assert "• first point" in shown and "• second point" in shown
    assert "*point*" not in shown and "**" not in shown
    assert "the docs (https://example.org/docs)" in shown  # a link shows where it goes
    assert "<b>this</b>" in shown  # HTML is text, not swallowed
    terminal.write(b"/quit\r")
    assert terminal.wait() == 0


def test_piped_output_is_the_answer_byte_for_byte(stub, tmp_path: Path):
    stub.reply(*chunks(ANSWER))

    result = helper.run_opencode([], "how?\n", helper.chat_env(stub), tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER + "\n"


def test_model_text_cannot_drive_the_terminal_through_markdown(stub, terminal):
    stub.reply(
        "# Title \x1b]0;pwned\x07\n\n", "```\n\x1b[2Jcode\x9b31m\n```\n", "bell\x07 \u202eevil"
    )

    shown, raw = ask(terminal, b"be nasty")

    assert b"\x1b]0;" not in raw and b"\x07" not in raw and b"\x1b[2J" not in raw
    assert "\u202e".encode() not in raw and "\x9b".encode() not in raw
    assert "\\x1b]0;pwned\\x07" in shown
    assert "\\x1b[2Jcode\\x9b31m" in shown
    assert "\\u202eevil" in shown


def test_reasoning_is_shown_dimmed_before_the_answer(stub, terminal):
    stub.reply_reasoning(["Two and two ", "make four."], "Four.")

    shown, raw = ask(terminal, b"2+2?")

    assert shown.index("Thinking: Two and two make four.") < shown.index("Assistant: Four.")
    dim = b"\x1b[2m"
    assert raw.index(dim) < raw.index(b"Two and two")  # dimmed, not plain text
    terminal.write(b"/quit\r")
    assert terminal.wait() == 0


def test_ctrl_c_before_any_output_puts_the_notice_on_its_own_line(stub, terminal):
    stub.slow("")  # the server accepts and says nothing yet

    terminal.expect("You: ")
    terminal.write(b"hello\r")
    assert stub.received.wait(helper.WAIT)  # the request is out: opencode waits for words
    terminal.write(b"\x03")
    before = terminal.expect("(answer interrupted")

    assert before.endswith("\n"), repr(before)  # never "^C(answer interrupted..."
    terminal.expect("You: ")


def test_ctrl_c_mid_answer_puts_the_notice_on_its_own_line(stub, terminal):
    stub.slow("Some **bold** words and", rest=" never shown")

    terminal.expect("You: ")
    terminal.write(b"hello\r")
    terminal.expect("words and")
    terminal.write(b"\x03")
    before = terminal.expect("(answer interrupted")

    assert before.rstrip(" ").endswith("\n"), repr(before)
    assert "never shown" not in before
    terminal.expect("You: ")


# -- the live region, on an emulated screen ------------------------------------------------------

_CONTROL = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def screen(output: str) -> list[str]:
    """What a terminal shows after ``output``, down to the cursor: enough of a VT100 for what
    Rich's Live sends (cursor up, erase line, carriage return, newline), on a screen that
    never scrolls away."""
    lines, row, column = [""], 0, 0
    position = 0
    while position < len(output):
        control = _CONTROL.match(output, position)
        if control:
            argument, command = control.groups()
            if command == "A":
                row = max(0, row - int(argument or 1))
            elif command == "K":
                lines[row] = "" if argument == "2" else lines[row][:column]
            position = control.end()
            continue
        char = output[position]
        position += 1
        if char == "\r":
            column = 0
        elif char == "\n":
            row, column = row + 1, 0
            if row == len(lines):
                lines.append("")
        else:
            line = lines[row].ljust(column)
            lines[row] = line[:column] + char + line[column + 1 :]
            column += 1
    below = [line for line in lines[row + 1 :] if line.strip()]
    assert not below, f"left below the cursor: {below}"  # debris from an earlier redraw
    return [line.rstrip() for line in lines[: row + 1]]


def streamed(text: str, pieces: list[int], *, interrupt: bool = False) -> list[str]:
    """The screen after ``text`` streamed in pieces of the given sizes to a 60x12 terminal."""
    from rich.console import Console

    from opencode.cli.repl.markdown_stream import MarkdownAnswer

    output = io.StringIO()
    console = Console(
        file=output, force_terminal=True, width=60, height=12, color_system=None, markup=False
    )
    view = MarkdownAnswer(console, refresh_seconds=0)  # draw on every piece
    position = 0
    for size in pieces:
        view.text(text[position : position + size])
        position += size
    view.text(text[position:])
    view.abort() if interrupt else view.finish()
    return screen(output.getvalue())


LONG = (
    ANSWER
    + "\n\n## Steps\n\n1. one\n2. two\n\n```\n"
    + "".join(f"line {n}\n" for n in range(30))
    + "```\n\nThe end."
)


@settings(max_examples=25, deadline=None)
@given(pieces=st.lists(st.integers(1, 40), max_size=60))
def test_the_screen_is_the_same_however_the_answer_was_streamed(pieces: list[int]) -> None:
    at_once = streamed(LONG, [])

    assert streamed(LONG, pieces) == at_once
    assert at_once.count("Assistant: Run this:") == 1  # nothing is left over from redraws
    assert sum(line.strip() == "line 0" for line in at_once) == 1
    assert "```" not in "\n".join(at_once)


def test_an_answer_that_starts_with_a_heading_has_its_own_prefix_line() -> None:
    shown = streamed("# Plan\n\nDo it.", [3, 3])

    assert shown[0] == "Assistant:"
    assert "Plan" in shown[1]
    assert "Do it." in shown


def test_an_interrupted_answer_leaves_what_arrived_on_screen_once() -> None:
    shown = streamed("Para one.\n\n```\n" + "x\n" * 40, [5] * 40, interrupt=True)

    assert shown.count("Assistant: Para one.") == 1
    assert sum(line.strip() == "x" for line in shown) == 40  # the whole block, not the cropped view
