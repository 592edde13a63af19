"""``session delete`` and ``session cleanup`` asking on a real terminal (a pseudo-terminal).

The test acts while the question waits for an answer: Ctrl-C, or another process changing
the sessions, exactly as a person or a second terminal would.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
import stub_chat_server as helper  # on sys.path via tests/cli/conftest.py
from cli_helpers import ago, make_session, sessions_dir

from opencode.sessions import SessionManager, SessionStorage

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


@pytest.fixture
def processes() -> Iterator[list[helper.PtyProcess]]:
    started: list[helper.PtyProcess] = []
    yield started
    for process in started:
        process.close()


def run_on_terminal(processes: list[helper.PtyProcess], *args: str) -> helper.PtyProcess:
    process = helper.PtyProcess(list(args), helper.chat_env(None))
    processes.append(process)
    return process


def test_ctrl_c_at_the_question_exits_130_and_deletes_nothing(
    processes: list[helper.PtyProcess],
) -> None:
    session = make_session("Keep me")
    terminal = run_on_terminal(processes, "session", "delete", session.id)

    terminal.expect("Move to the trash 1 session? [y/N]:")
    terminal.interrupt_at_prompt()
    rest = terminal.expect("interrupted")

    assert terminal.wait() == 130
    assert "Traceback" not in rest and "Aborted" not in rest
    assert (sessions_dir() / f"{session.id}.json").exists()
    assert not (sessions_dir().parent / "trash" / f"{session.id}.json").exists()


def test_ctrl_c_at_the_cleanup_question_exits_130(processes: list[helper.PtyProcess]) -> None:
    old = make_session("Old", updated=ago(days=90))
    terminal = run_on_terminal(processes, "session", "cleanup", "--keep", "0")

    terminal.expect("Move 1 session to the trash? [y/N]:")
    terminal.interrupt_at_prompt()
    terminal.expect("interrupted")

    assert terminal.wait() == 130
    assert (sessions_dir() / f"{old.id}.json").exists()
    assert not (sessions_dir().parent / "trash" / f"{old.id}.json").exists()


def test_delete_says_when_a_session_went_away_while_asking(
    processes: list[helper.PtyProcess],
) -> None:
    session = make_session("Deleted elsewhere")
    terminal = run_on_terminal(processes, "session", "delete", session.id)

    terminal.expect("Move to the trash 1 session? [y/N]:")
    SessionManager(storage=SessionStorage(), fire_shell_hooks=False).delete(session.id)
    terminal.write(b"y\r")
    said = terminal.expect("Deleted elsewhere")

    assert terminal.wait() == 0
    assert "Already gone: " in said
    assert "Moved to the trash: " + session.id[:8] not in said
    assert not (sessions_dir().parent / "trash" / f"{session.id}.json").exists()


def test_cleanup_keeps_a_session_used_while_asking(processes: list[helper.PtyProcess]) -> None:
    used = make_session("Old but used again", updated=ago(days=90))
    unused = make_session("Old and unused", updated=ago(days=80))
    terminal = run_on_terminal(processes, "session", "cleanup", "--keep", "0")

    terminal.expect("Move 2 sessions to the trash? [y/N]:")
    manager = SessionManager(storage=SessionStorage(), fire_shell_hooks=False)
    manager.update_session(used.id, title="Back in use")  # touched: updated just now
    terminal.write(b"y\r")
    said = terminal.expect("restore with")

    assert terminal.wait() == 0
    assert f"Kept {used.id[:8]}: it changed after the list above was made" in said
    assert "Moved 1 of 2 sessions to the trash" in said
    assert (sessions_dir() / f"{used.id}.json").exists()
    assert not (sessions_dir() / f"{unused.id}.json").exists()
    assert (sessions_dir().parent / "trash" / f"{unused.id}.json").exists()
