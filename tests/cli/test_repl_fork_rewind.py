"""``/fork`` and ``/rewind [N]`` in the chat loop: the original is never changed.

Piped input drives most of it; the numbered list of turns (``/rewind`` alone) needs a
terminal.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import stub_chat_server as helper  # on sys.path via tests/cli/conftest.py
from cli_helpers import run_opencode

FORKED = re.compile(
    r"^Forked into (\S+) \((\d+) messages\); the original stays in (\S+)$", re.MULTILINE
)
REWOUND = re.compile(
    r"^Went back (\d+) turns? \(now (\d+) messages?, in session (\S+)\); "
    r"the full history stays in session (\S+)$",
    re.MULTILINE,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def chat(stub: helper.StubChatServer, project: Path, stdin: str) -> tuple[str, str, str]:
    """Run a scripted chat; stdout, stderr and the id of the session it started in."""
    result = helper.run_opencode([], stdin, helper.chat_env(stub), project)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout, result.stderr, helper.session_id_from(result.stderr)


def parents() -> dict[str, str | None]:
    rows = json.loads(run_opencode("session", "list", "--json").stdout)
    return {row["id"]: row["forked_from"] for row in rows}


def test_fork_switches_to_a_copy_and_says_where_the_original_is(stub, project):
    for answer in ("a1", "a2", "a3"):
        stub.reply(answer)

    out, _, original = chat(stub, project, "one\ntwo\n/fork\nthree\n/quit\n")

    (found,) = FORKED.findall(out)
    fork_id, count, stays_in = found
    assert (count, stays_in) == ("4", original)
    assert fork_id != original
    assert helper.contents(helper.load_session(original)) == [
        ("user", "one"),
        ("assistant", "a1"),
        ("user", "two"),
        ("assistant", "a2"),
    ]
    assert helper.contents(helper.load_session(fork_id)) == [
        ("user", "one"),
        ("assistant", "a1"),
        ("user", "two"),
        ("assistant", "a2"),
        ("user", "three"),  # the next message went to the fork
        ("assistant", "a3"),
    ]
    assert parents() == {original: None, fork_id: original}
    assert [m["content"] for m in stub.requests[-1].body["messages"]] == [
        "one",
        "a1",
        "two",
        "a2",
        "three",
    ]


def test_fork_before_anything_was_said_writes_nothing(stub, project):
    result = helper.run_opencode([], "/fork\n/quit\n", helper.chat_env(stub), project)

    assert result.returncode == 0, result.stderr
    assert "Nothing to fork yet" in result.stderr
    assert "Forked into" not in result.stdout
    assert parents() == {}


def test_rewind_goes_back_into_a_fork_whose_messages_are_a_prefix(stub, project):
    for answer in ("a1", "a2", "a3", "a4"):
        stub.reply(answer)

    out, _, original = chat(stub, project, "one\ntwo\nthree\n/rewind 2\nanother two\n/quit\n")

    (found,) = REWOUND.findall(out)
    turns, count, fork_id, full = found
    assert (turns, count, full) == ("2", "2", original)
    full_history = helper.contents(helper.load_session(original))
    assert [text for role, text in full_history if role == "user"] == ["one", "two", "three"]
    rewound = helper.contents(helper.load_session(fork_id))
    assert rewound[:2] == full_history[:2]  # a prefix of the full history ...
    assert rewound[2:] == [("user", "another two"), ("assistant", "a4")]  # ... then new turns
    assert parents()[fork_id] == original
    # The model sees the rewound conversation, not what was undone.
    assert [m["content"] for m in stub.requests[-1].body["messages"]] == [
        "one",
        "a1",
        "another two",
    ]


def test_rewind_one_turn_by_default_on_a_pipe(stub, project):
    stub.reply("a1")
    stub.reply("a2")

    out, _, original = chat(stub, project, "one\ntwo\n/rewind\n/quit\n")

    (found,) = REWOUND.findall(out)
    assert found[:2] == ("1", "2")
    assert "Went back 1 turn (now 2 messages" in out
    assert helper.contents(helper.load_session(found[2])) == [("user", "one"), ("assistant", "a1")]
    assert helper.load_session(original).message_count == 4


def test_rewind_with_a_bad_count_changes_nothing(stub, project):
    stub.reply("a1")
    result = helper.run_opencode([], "one\n/rewind soon\n", helper.chat_env(stub), project)

    assert result.returncode == 0, result.stderr
    assert "Usage: /rewind [N]" in result.stderr
    assert "Went back" not in result.stdout
    assert len(parents()) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_rewind_alone_on_a_terminal_lists_the_recent_turns(stub):
    terminal = helper.PtyProcess([], helper.chat_env(stub))
    try:
        session_id = helper.session_id_from(terminal.expect("You: ").replace("\r\n", "\n"))
        for text in ("first question", "second question", "third question"):
            terminal.write(text.encode() + b"\r")
            terminal.expect("Assistant: ok")
            terminal.expect("You: ")
        terminal.write(b"/rewind\r")
        terminal.expect("Go back to before which of your messages? Type /rewind N:")
        listed = terminal.expect("You: ")
        terminal.write(b"/quit\r")
        terminal.expect("Goodbye!")
        assert terminal.wait() == 0
    finally:
        terminal.close()

    lines = [line.strip() for line in listed.replace("\r", "").splitlines() if line.strip()]
    assert lines[:3] == ["1  third question", "2  second question", "3  first question"]
    assert helper.load_session(session_id).message_count == 6  # listing changes nothing
    assert list(parents()) == [session_id]
