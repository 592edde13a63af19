"""``opencode``, ``--resume [ID]``, ``--continue`` and ``session resume``: into the REPL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_helpers import CliRunnerHelper, ago, make_session, run_opencode

from opencode.sessions import SessionStorage


@pytest.fixture
def in_tmp_cwd(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    old = Path.cwd()
    os.chdir(folder)
    yield folder  # type: ignore[misc]
    os.chdir(old)


def test_opencode_alone_starts_a_new_session_here(cli: CliRunnerHelper, in_tmp_cwd: Path) -> None:
    r = cli(input="Help me refactor\n/quit\n")
    assert r.exit_code == 0, r.output
    assert "Starting new session..." in r.stderr
    session_id = r.stderr.split("Session: ")[1].split()[0]
    session = SessionStorage().load(session_id)
    assert session.working_dir == str(in_tmp_cwd)
    assert session.title == "Help me refactor"


def test_resume_without_id_takes_the_latest(cli: CliRunnerHelper) -> None:
    make_session("Older", updated=ago(days=2))
    latest = make_session("Latest one", updated=ago(hours=1), messages=[("user", "hi")] * 3)
    for args in (["--resume"], ["-r"], ["session", "resume"]):
        r = cli(*args, input="")
        assert r.exit_code == 0, (args, r.output)
        assert f"Resuming session: {latest.id}" in r.stderr
        assert "(Latest one - 3 messages)" in r.stderr


def test_resume_with_id_prefix_or_title(cli: CliRunnerHelper) -> None:
    wanted = make_session("Wanted", updated=ago(days=2))
    make_session("Latest", updated=ago(hours=1))
    for args in (
        ["--resume", wanted.id[:8]],
        ["-r", wanted.id[:5]],
        [f"--resume={wanted.id}"],
        ["--resume", "wanted"],
        ["session", "resume", wanted.id[:8]],
    ):
        r = cli(*args, input="/quit\n")
        assert r.exit_code == 0, (args, r.output)
        assert f"Resuming session: {wanted.id}" in r.stderr


def test_bare_resume_followed_by_other_options(cli: CliRunnerHelper, tmp_path: Path) -> None:
    latest = make_session("Latest", updated=ago(hours=1))
    r = cli("--resume", "--history-tokens", "500", input="")
    assert r.exit_code == 0, r.output
    assert f"Resuming session: {latest.id}" in r.stderr


def test_resume_with_no_sessions_is_an_error(cli: CliRunnerHelper) -> None:
    r = cli("--resume")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: no sessions to resume")


def test_continue_takes_the_latest_session_of_this_folder(
    cli: CliRunnerHelper, in_tmp_cwd: Path
) -> None:
    mine = make_session("Mine", working_dir=str(in_tmp_cwd), updated=ago(days=1))
    make_session("Elsewhere, newer", working_dir="/somewhere/else", updated=ago(hours=1))
    for args in (["--continue"], ["-c"]):
        r = cli(*args, input="")
        assert r.exit_code == 0, r.output
        assert f"Resuming session: {mine.id}" in r.stderr


def test_continue_without_a_session_here_is_an_error(
    cli: CliRunnerHelper, in_tmp_cwd: Path
) -> None:
    make_session("Elsewhere", working_dir="/somewhere/else")
    r = cli("--continue")
    assert r.exit_code == 1
    # The project is the git work tree the folder is in, else the folder itself.
    assert r.stderr.startswith(f"error: no session was started under {in_tmp_cwd}")


def test_model_option_is_recorded_in_new_sessions(cli: CliRunnerHelper, in_tmp_cwd: Path) -> None:
    # A new session is written at its first message (nothing reaches this port: the turn
    # fails, so the scripted run exits 1, but the message and the model are kept).
    r = cli("--model", "my-model", "--base-url", "http://127.0.0.1:9/v1", input="hi\n")
    assert r.exit_code == 1, r.output
    session_id = r.stderr.split("Session: ")[1].split()[0]
    session = SessionStorage().load(session_id)
    assert session.model == "my-model"
    assert [m.content for m in session.messages] == ["hi"]


def test_both_resume_forms_through_the_installed_command() -> None:
    first = make_session("First", updated=ago(days=2))
    latest = make_session("Second", updated=ago(hours=2), messages=[("user", "x")])

    r = run_opencode("--resume", input="")
    assert r.returncode == 0, r.stderr
    assert f"Resuming session: {latest.id}" in r.stderr
    assert "(Second - 1 messages)" in r.stderr

    r = run_opencode("--resume", first.id[:8], input="/quit\n")
    assert r.returncode == 0, r.stderr
    assert f"Resuming session: {first.id}" in r.stderr
    assert "(First - 0 messages)" in r.stderr

    r = run_opencode("-r", input="/quit\n")
    assert r.returncode == 0, r.stderr
    assert f"Resuming session: {latest.id}" in r.stderr

    r = run_opencode("--resume", "no-such-session", input="")
    assert r.returncode == 1
    assert r.stderr == "error: session not found: no-such-session\n"


def test_new_session_through_the_installed_command(tmp_path: Path) -> None:
    r = run_opencode(input="First message\n/quit\n", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Starting new session..." in r.stderr
    r = run_opencode("session", "list", "--json")
    assert '"title": "First message"' in r.stdout
