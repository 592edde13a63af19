"""``opencode -p``: one message, only the answer on stdout, exit 1 when the turn failed.

Also the exit status of a scripted chat (stdin piped): 1 when a turn failed, 0 otherwise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import stub_chat_server as helper  # on sys.path via tests/cli/conftest.py
from cli_helpers import ago, make_session

from opencode.sessions import SessionStorage

USAGE = {"prompt_tokens": 11, "completion_tokens": 7}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def ask(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    result = helper.run_opencode(args, stdin, env, cwd)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def the_only_session() -> str:
    (session_id,) = SessionStorage().list_session_ids()
    return session_id


# -- answers ------------------------------------------------------------------------------------


def test_print_shows_only_the_answer_and_records_both_messages(stub, project):
    stub.reply("The ", "answer.", usage=USAGE)

    result = ask(["-p", "What is it?"], helper.chat_env(stub), project)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "The answer.\n"
    assert result.stderr == ""  # no banner, no goodbye
    session = helper.load_session(the_only_session())
    assert helper.contents(session) == [("user", "What is it?"), ("assistant", "The answer.")]
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (11, 7)
    assert session.working_dir == str(project)
    assert session.model == helper.MODEL
    assert stub.requests[0].body["messages"] == [{"role": "user", "content": "What is it?"}]


STDIN_FORMS = [
    pytest.param(["-p", "-"], id="p-dash"),
    pytest.param(["--print", "-"], id="print-dash"),
    pytest.param(["--print=-"], id="print-equals-dash"),
    pytest.param(["-p"], id="bare-p"),
    pytest.param(["--print"], id="bare-print"),
]


@pytest.mark.parametrize("args", STDIN_FORMS)
def test_print_reads_all_of_stdin_as_one_message(stub, project, args):
    stub.reply("Read it.")
    text = "line one\nline two\n\nline four\n"

    result = ask(args, helper.chat_env(stub), project, stdin=text)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Read it.\n"
    assert [r.body["messages"] for r in stub.requests] == [[{"role": "user", "content": text}]]
    session = helper.load_session(the_only_session())
    assert helper.contents(session) == [("user", text), ("assistant", "Read it.")]


def test_a_prompt_with_piped_stdin_sends_both(stub, project):
    stub.reply("Looks fine.")
    diff = "diff --git a/x b/x\n+added\n"

    result = ask(["-p", "Review this"], helper.chat_env(stub), project, stdin=diff)

    assert result.returncode == 0, result.stderr
    expected = "Review this\n\n" + diff
    assert stub.requests[0].body["messages"] == [{"role": "user", "content": expected}]
    assert helper.load_session(the_only_session()).messages[0].content == expected


def test_print_json_gives_session_answer_and_usage(stub, project):
    stub.reply("Forty-two.", usage=USAGE)

    result = ask(["-p", "Meaning?", "--json"], helper.chat_env(stub), project)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    record = json.loads(result.stdout)
    assert set(record) == {"session_id", "answer", "usage"}
    assert record["session_id"] == the_only_session()
    assert record["answer"] == "Forty-two."
    assert record["usage"] == USAGE


def test_print_json_without_usage_says_null(stub, project):
    stub.reply("Sure.")
    result = ask(["--json", "-p", "Hi"], helper.chat_env(stub), project)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "session_id": the_only_session(),
        "answer": "Sure.",
        "usage": None,
    }


# -- into an existing session -------------------------------------------------------------------


def test_resume_id_with_print_records_in_that_session(stub, project):
    older = make_session("Older", updated=ago(days=2), messages=[("user", "before")])
    make_session("Newer", updated=ago(hours=1))
    stub.reply("Continued.")

    result = ask(["--resume", older.id[:8], "-p", "and now?"], helper.chat_env(stub), project)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Continued.\n"
    assert helper.contents(helper.load_session(older.id)) == [
        ("user", "before"),
        ("user", "and now?"),
        ("assistant", "Continued."),
    ]
    assert len(SessionStorage().list_session_ids()) == 2  # no new session
    sent = stub.requests[0].body["messages"]  # two user turns in a row go as one
    assert [m["content"] for m in sent] == ["before\n\nand now?"]


@pytest.mark.parametrize("args", [["--resume", "-p", "more"], ["-p", "more", "-r"]])
def test_bare_resume_with_print_records_in_the_latest_session(stub, project, args):
    latest = make_session("Latest", updated=ago(hours=1), messages=[("user", "hi")])
    make_session("Older", updated=ago(days=1))

    result = ask([*args, "--json"], helper.chat_env(stub), project)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["session_id"] == latest.id
    assert helper.contents(helper.load_session(latest.id))[1:] == [
        ("user", "more"),
        ("assistant", "ok"),
    ]


def test_continue_with_print_records_in_the_projects_latest_session(stub, project, tmp_path):
    mine = make_session("Mine", working_dir=str(project), updated=ago(days=1))
    make_session("Not this project", working_dir=str(tmp_path / "other"), updated=ago(hours=1))
    stub.reply("Yes.")

    result = ask(["-c", "-p", "still there?", "--json"], helper.chat_env(stub), project)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["session_id"] == mine.id
    assert helper.contents(helper.load_session(mine.id)) == [
        ("user", "still there?"),
        ("assistant", "Yes."),
    ]
    assert result.stderr.splitlines() == [f"Continuing the latest session under {project}"]


# -- failures: one line on stderr and exit 1 (2 for settings) -----------------------------------


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_refused_connection_exits_1(project):
    env = helper.chat_env(None, OPENCODE_MODEL="m", OPENCODE_BASE_URL="http://127.0.0.1:9/v1")
    result = ask(["-p", "anyone?"], env, project)

    assert result.returncode == 1
    assert "refused the connection" in one_error_line(result)


def test_a_timeout_exits_1(stub, project):
    stub.hang()
    result = ask(["-p", "hello?"], helper.chat_env(stub, OPENCODE_TIMEOUT="1"), project)

    assert result.returncode == 1
    line = one_error_line(result)
    assert "did not answer within 1 s" in line


def test_an_http_500_exits_1(stub, project):
    stub.fail(500, "the model fell over")
    result = ask(["-p", "hello?"], helper.chat_env(stub), project)

    assert result.returncode == 1
    assert one_error_line(result) == "error: model server returned HTTP 500: the model fell over"
    # The question is kept, as in the chat loop.
    assert helper.contents(helper.load_session(the_only_session())) == [("user", "hello?")]


def test_a_failure_with_json_still_exits_1_with_one_error_line(stub, project):
    stub.fail(500, "the model fell over")
    result = ask(["-p", "hello?", "--json"], helper.chat_env(stub), project)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: model server returned HTTP 500: the model fell over"
    ]
    record = json.loads(result.stdout)  # still JSON: the session holds the question
    assert record["session_id"] == the_only_session()
    assert record["answer"] == "" and record["usage"] is None


def test_no_model_configured_exits_2_and_writes_nothing(project):
    result = ask(["-p", "hello?"], helper.chat_env(None), project)

    assert result.returncode == 2
    assert "--print needs a model" in one_error_line(result)
    assert SessionStorage().list_session_ids() == []


@pytest.mark.parametrize(
    ("args", "stdin"),
    [(["-p", ""], ""), (["-p", "   "], ""), (["-p"], "\n  \n"), (["--print="], "")],
    ids=["empty", "blank", "blank-stdin", "empty-equals"],
)
def test_an_empty_prompt_is_an_error(stub, project, args, stdin):
    result = ask(args, helper.chat_env(stub), project, stdin=stdin)

    assert result.returncode == 1
    assert one_error_line(result) == "error: the prompt is empty"
    assert stub.requests == []
    assert SessionStorage().list_session_ids() == []


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_reading_the_prompt_from_a_terminal_is_refused(stub):
    terminal = helper.PtyProcess(["-p"], helper.chat_env(stub))
    try:
        terminal.expect("stdin is a terminal")
        assert terminal.wait() == 1
    finally:
        terminal.close()
    assert stub.requests == []


# -- a scripted chat ------------------------------------------------------------------------------


def test_a_scripted_chat_exits_0_when_every_turn_succeeded(stub, project):
    stub.reply("one")
    stub.reply("two")
    result = ask([], helper.chat_env(stub), project, stdin="first\nsecond\n")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "one\ntwo\n"
    assert not [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_a_scripted_chat_exits_1_when_a_turn_failed(stub, project):
    stub.fail(503, "busy")
    stub.reply("fine")
    result = ask([], helper.chat_env(stub), project, stdin="first\nsecond\n/quit\n")

    assert result.returncode == 1
    assert result.stdout == "fine\n"  # the loop went on after the failure
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: model server returned HTTP 503: busy",
        "error: 1 of the turns failed",
    ]
    session = helper.load_session(helper.session_id_from(result.stderr))
    assert helper.contents(session) == [
        ("user", "first"),
        ("user", "second"),
        ("assistant", "fine"),
    ]
