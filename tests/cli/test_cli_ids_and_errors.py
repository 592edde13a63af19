"""Ids, prefixes and titles; every error path is one clear line on stderr and an exit code."""

from __future__ import annotations

import pytest
from cli_helpers import CliRunnerHelper, ago, make_session, run_opencode, sessions_dir

from opencode.sessions import (
    AmbiguousSessionIdError,
    InvalidSessionIdError,
    InvalidSessionValueError,
    SessionIndex,
    SessionManager,
    SessionNotFoundError,
    SessionStorage,
)
from opencode.sessions.lookup import resolve_session_id

A = "3f2a1b4c-0000-4000-8000-000000000001"
B = "3f2a9999-0000-4000-8000-000000000002"
C = "7c000000-0000-4000-8000-000000000003"


@pytest.fixture
def three() -> None:
    make_session("Refactoring API client", session_id=A, updated=ago(hours=2))
    make_session("Implementing auth", session_id=B, updated=ago(days=1, hours=1))
    make_session("implementing AUTH", session_id=C, updated=ago(days=3, hours=1))


def index() -> SessionIndex:
    return SessionIndex(SessionStorage())


# -- resolve_session_id -----------------------------------------------------------------------


@pytest.mark.usefixtures("three")
def test_resolve_full_id_prefix_and_title() -> None:
    assert resolve_session_id(index(), A) == A
    assert resolve_session_id(index(), "3f2a1") == A
    assert resolve_session_id(index(), "7") == C
    assert resolve_session_id(index(), "refactoring api CLIENT") == A
    manager = SessionManager(storage=SessionStorage(), fire_shell_hooks=False)
    assert resolve_session_id(manager.index, "3f2a9") == B  # the library takes an index


@pytest.mark.usefixtures("three")
def test_resolve_ambiguous_prefix_lists_candidates_most_recent_first() -> None:
    with pytest.raises(AmbiguousSessionIdError) as caught:
        resolve_session_id(index(), "3f2a")
    assert [s.id for s in caught.value.candidates] == [A, B]


@pytest.mark.usefixtures("three")
def test_resolve_ambiguous_title() -> None:
    with pytest.raises(AmbiguousSessionIdError) as caught:
        resolve_session_id(index(), "Implementing Auth")
    assert [s.id for s in caught.value.candidates] == [B, C]


@pytest.mark.usefixtures("three")
def test_resolve_unknown_and_invalid() -> None:
    with pytest.raises(SessionNotFoundError):
        resolve_session_id(index(), "ffff")
    with pytest.raises(SessionNotFoundError):
        resolve_session_id(index(), "no such title")
    with pytest.raises(InvalidSessionValueError, match=r"^no session id given$"):
        resolve_session_id(index(), "   ")
    with pytest.raises(InvalidSessionIdError):
        resolve_session_id(index(), "../x")


def test_resolve_refresh_sees_sessions_created_later() -> None:
    idx = index()
    assert idx.count() == 0
    session = make_session("Later")
    assert resolve_session_id(idx, session.id[:6], refresh=True) == session.id


# -- the command line -------------------------------------------------------------------------


@pytest.mark.usefixtures("three")
def test_ambiguous_prefix_is_an_error_listing_candidates(cli: CliRunnerHelper) -> None:
    r = cli("session", "title", "3f2a", "New title")
    assert r.exit_code == 1
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == "error: '3f2a' matches 2 sessions; use more of the id"
    assert lines[1].split()[0] == "3f2a1b4c" and "Refactoring API client" in lines[1]
    assert "2 hours ago" in lines[1]
    assert lines[2].split()[0] == "3f2a9999" and "a day ago" in lines[2]
    titles = {s.title for s in index().list()}
    assert "New title" not in titles  # nothing changed


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize(
    "args",
    [
        ["session", "show", "nope"],
        ["session", "resume", "nope"],
        ["session", "title", "nope", "x"],
        ["session", "tag", "nope", "x"],
        ["session", "delete", "nope", "--yes"],
        ["session", "export", "nope"],
        ["--resume", "nope"],
    ],
)
def test_unknown_id_is_one_error_line(cli: CliRunnerHelper, args: list[str]) -> None:
    r = cli(*args)
    assert r.exit_code == 1
    assert r.stderr == "error: session not found: nope\n"
    assert r.stdout == ""


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_id_says_no_id_was_given(cli: CliRunnerHelper, blank: str) -> None:
    make_session("Something")
    for args in (["session", "show", blank], ["session", "delete", blank, "--yes"]):
        r = cli(*args)
        assert r.exit_code == 1
        assert r.stderr.splitlines()[0] == "error: no session id given"
        assert r.stderr.splitlines()[1].startswith("hint: ")
        assert r.stdout == ""


@pytest.mark.usefixtures("three")
def test_long_text_is_cut_in_error_messages(cli: CliRunnerHelper) -> None:
    pasted = "please find the session where we talked about " + "x" * 500
    r = cli("session", "show", pasted)
    assert r.exit_code == 1
    line = r.stderr.splitlines()[0]
    assert line.startswith("error: session not found: please find the session")
    assert line.endswith("...")
    assert len(line) == len("error: session not found: ") + 60


def test_invalid_id_is_one_error_line(cli: CliRunnerHelper) -> None:
    r = cli("session", "show", "../x")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: invalid session id '../x'")
    assert len(r.stderr.splitlines()) == 1


def test_corrupt_file_names_the_file_and_suggests_recovery(cli: CliRunnerHelper) -> None:
    session = make_session("Soon corrupt")
    path = sessions_dir() / f"{session.id}.json"
    path.write_text("{ this is not json")

    for args in (["session", "show", session.id[:8]], ["--resume", session.id[:8]]):
        r = cli(*args)
        assert r.exit_code == 1
        lines = r.stderr.splitlines()
        # The index may first warn that it found the session damaged (listings mark it).
        at = next(n for n, line in enumerate(lines) if line.startswith("error: "))
        assert all(line.startswith("warning: ") for line in lines[:at]), lines
        assert lines[at].startswith(f"error: {path}: not valid JSON")
        assert lines[at + 1].startswith("hint: ")
        assert "Traceback" not in r.output


def test_corrupt_file_not_in_the_index_can_still_be_named(cli: CliRunnerHelper) -> None:
    make_session("Fine")
    sid = "0badf11e-0000-4000-8000-000000000000"
    (sessions_dir() / f"{sid}.json").write_text("[]")
    r = cli("session", "show", "0badf1")
    assert r.exit_code == 1
    assert f"{sid}.json" in r.stderr.splitlines()[0]
    assert f"opencode session delete {sid}" in r.stderr
    r = cli("session", "delete", "0badf1", "--yes")
    assert r.exit_code == 0, r.output
    assert not (sessions_dir() / f"{sid}.json").exists()


def test_newer_format_is_refused_clearly(cli: CliRunnerHelper) -> None:
    session = make_session("From the future")
    path = sessions_dir() / f"{session.id}.json"
    path.write_text(path.read_text().replace('"version": 1', '"version": 99'))
    r = cli("session", "show", session.id)
    assert r.exit_code == 1
    assert "newer than this opencode supports" in r.stderr
    assert "recover" not in r.stderr


def test_resume_of_a_session_open_elsewhere(cli: CliRunnerHelper) -> None:
    session = make_session("Busy")
    other = SessionManager(storage=SessionStorage(), fire_shell_hooks=False)
    other.resume(session.id)
    try:
        r = cli("--resume", session.id)
    finally:
        other.close()
    assert r.exit_code == 1
    assert r.stderr.startswith(f"error: session {session.id} is open in another process")


def test_usage_errors_exit_2(cli: CliRunnerHelper) -> None:
    r = cli("--resume", "--list-sessions")
    assert r.exit_code == 2
    assert "cannot be used together" in r.output
    r = cli("--list-sessions", "session", "list")
    assert r.exit_code == 2
    r = cli("session", "frobnicate")
    assert r.exit_code == 2
    r = cli("session", "list", "--limit", "-1")
    assert r.exit_code == 2
    assert "Traceback" not in r.output


@pytest.mark.usefixtures("three")
def test_errors_through_the_installed_command_have_no_traceback() -> None:
    for args in (
        ["session", "show", "3f2a"],
        ["session", "show", "nope"],
        ["session", "show", "../x"],
        ["--resume", "nope"],
        ["session", "cleanup", "--keep", "0", "--max-age-days", "0"],
    ):
        r = run_opencode(*args)
        assert r.returncode == 1, (args, r.stderr)
        assert r.stderr.startswith("error: "), r.stderr
        assert "Traceback" not in r.stderr
