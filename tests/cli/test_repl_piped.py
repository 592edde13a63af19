"""The interactive loop driven through the real ``opencode`` executable with piped stdin.

A stub chat-completions server on 127.0.0.1 answers; the session is read back from disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stub_chat_server as helper  # on sys.path via tests/cli/conftest.py

from opencode.chat import NO_MODEL_HINT

USAGE = {"prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def run(args: list[str], stdin: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    result = helper.run_opencode(args, stdin, env, cwd)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout, result.stderr


def test_reply_streams_to_stdout_and_usage_is_recorded_exactly(stub, project):
    stub.reply("Hel", "lo", " world", usage=USAGE)
    stub.reply("Second", usage={"prompt_tokens": 50, "completion_tokens": 6})

    code, out, err = run([], "hello\nand again\n/quit\n", helper.chat_env(stub), project)

    assert code == 0, err
    assert out == "Hello world\nSecond\n"
    lines = err.splitlines()
    assert lines[0].startswith("OpenCode v")
    assert lines[1] == "Starting new session..."
    assert lines[-1] == "Session saved. Goodbye!"
    assert "You:" not in out + err  # no prompt when stdin is not a terminal
    session = helper.load_session(helper.session_id_from(err))
    assert helper.contents(session) == [
        ("user", "hello"),
        ("assistant", "Hello world"),
        ("user", "and again"),
        ("assistant", "Second"),
    ]
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (62, 40)
    assert session.model == helper.MODEL
    assert session.title == "hello"  # the first user message names the session
    assert session.working_dir == str(project)
    first, second = (request.body for request in stub.requests)
    assert first["model"] == helper.MODEL and first["stream"] is True
    assert first["messages"] == [{"role": "user", "content": "hello"}]
    assert [m["content"] for m in second["messages"]] == ["hello", "Hello world", "and again"]


def test_reply_without_usage_adds_no_tokens(stub, project):
    stub.reply("no numbers")
    code, out, err = run([], "count me\n", helper.chat_env(stub), project)
    assert code == 0, err
    assert out == "no numbers\n"
    session = helper.load_session(helper.session_id_from(err))
    assert session.total_tokens == 0
    assert helper.contents(session)[-1] == ("assistant", "no numbers")


def test_http_error_is_one_line_and_the_loop_goes_on(stub, project):
    stub.fail(500, "the model fell over")
    stub.reply("fine now")

    code, out, err = run([], "first\nsecond\n", helper.chat_env(stub), project)

    assert code == 1, err  # a scripted run reports the failed turn in its exit status
    assert out == "fine now\n"
    errors = [line for line in err.splitlines() if "HTTP 500" in line]
    assert errors == ["error: model server returned HTTP 500: the model fell over"]
    assert err.splitlines()[-1] == "error: 1 of the turns failed"
    session = helper.load_session(helper.session_id_from(err))
    assert helper.contents(session) == [
        ("user", "first"),
        ("user", "second"),
        ("assistant", "fine now"),
    ]


def test_a_server_that_hangs_times_out_and_the_loop_goes_on(stub, project):
    stub.hang()
    stub.reply("back again")
    env = helper.chat_env(stub, OPENCODE_TIMEOUT="1")

    code, out, err = run([], "are you there\nnow?\n", env, project)

    assert code == 1, err
    assert err.splitlines()[-1] == "error: 1 of the turns failed"
    assert out == "back again\n"
    timeouts = [line for line in err.splitlines() if "did not answer" in line]
    assert len(timeouts) == 1 and timeouts[0].startswith("error: model server at "), err
    assert "within 1 s" in timeouts[0]
    session = helper.load_session(helper.session_id_from(err))
    assert [m.content for m in session.messages if m.role == "user"] == ["are you there", "now?"]


def test_unreachable_server_is_one_line(project, tmp_path):
    env = helper.chat_env(None, OPENCODE_MODEL="m", OPENCODE_BASE_URL="http://127.0.0.1:9/v1")
    code, out, err = run([], "anyone?\n", env, project)
    assert code == 1, err
    assert out == ""
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        "error: model server at http://127.0.0.1:9/v1 refused the connection",
        "error: 1 of the turns failed",
    ]
    session = helper.load_session(helper.session_id_from(err))
    assert helper.contents(session) == [("user", "anyone?")]


def test_bad_timeout_setting_is_a_usage_error(stub, project):
    code, out, err = run([], "x\n", helper.chat_env(stub, OPENCODE_TIMEOUT="soon"), project)
    assert code == 2
    assert out == ""
    assert "OPENCODE_TIMEOUT must be a positive number of seconds" in err
    # Checked before the session is created: a typo leaves no empty session behind.
    assert "Session:" not in err
    from opencode.sessions import SessionStorage

    assert SessionStorage().list_session_ids() == []


def test_without_a_model_the_loop_is_a_journal(project):
    code, out, err = run([], "note one\nnote two\n", helper.chat_env(None), project)

    assert code == 0, err
    assert out == ""
    assert err.count(NO_MODEL_HINT) == 1
    session = helper.load_session(helper.session_id_from(err))
    assert helper.contents(session) == [("user", "note one"), ("user", "note two")]
    assert session.title == "note one"
    assert session.model is None


def test_slash_commands_work_and_are_never_recorded(stub, project):
    stdin = (
        "/help\n"
        "/session title Release [bold]notes\n"
        "/session tag docs\n"
        "/session tag docs api\n"
        "hello\n"
        "/session\n"
        "/session list\n"
        "/bogus\n"
        "/session frobnicate\n"
        "/quit\n"
        "never sent\n"
    )
    code, out, err = run([], stdin, helper.chat_env(stub), project)

    assert code == 0, err
    session_id = helper.session_id_from(err)
    assert "/session resume [ID]" in out  # /help
    assert "Title set: Release [bold]notes" in out  # literal, not Rich markup
    # Like 'opencode session tag ID docs api': every word is a tag, each added once.
    assert f"Tags of {session_id[:8]}: docs\n" in out
    assert f"Tags of {session_id[:8]}: docs, api\n" in out
    assert session_id in out  # /session shows the current session
    assert "Recent Sessions:" in out and session_id[:8] in out  # the listing's own table
    assert "Unknown command: /bogus (try /help)" in err
    assert "Unknown subcommand: /session frobnicate" in err
    assert err.splitlines()[-1] == "Session saved. Goodbye!"
    session = helper.load_session(session_id)
    assert helper.contents(session) == [("user", "hello"), ("assistant", "ok")]
    assert session.title == "Release [bold]notes"  # a title set by hand is kept
    assert session.tags == ["docs", "api"]
    assert len(stub.requests) == 1


def test_a_path_is_a_message_not_a_command(stub, project):
    code, out, err = run([], "/usr/bin/env is slow\n", helper.chat_env(stub), project)
    assert code == 0, err
    assert out == "ok\n"
    assert "Unknown command" not in err
    session = helper.load_session(helper.session_id_from(err))
    assert helper.contents(session)[0] == ("user", "/usr/bin/env is slow")


def test_model_text_cannot_drive_the_terminal(stub, project):
    stub.reply("\x1b[2Jcleared?", "\x07")
    code, out, err = run([], "be nasty\n", helper.chat_env(stub), project)
    assert code == 0, err
    assert out == "\\x1b[2Jcleared?\\x07\n"
    session = helper.load_session(helper.session_id_from(err))
    assert helper.contents(session)[-1] == ("assistant", "\x1b[2Jcleared?\x07")  # kept as sent


def test_end_of_input_saves_and_exits_zero(project, data_dir):
    code, out, err = run([], "only line", helper.chat_env(None), project)  # no final newline
    assert code == 0, err
    assert out == ""
    assert err.splitlines()[-1] == "Session saved. Goodbye!"
    session_id = helper.session_id_from(err)
    journal = data_dir / "sessions" / f"{session_id}.jsonl"
    assert not journal.exists() or journal.stat().st_size == 0  # folded into the snapshot
    assert helper.contents(helper.load_session(session_id)) == [("user", "only line")]


def test_resume_shows_where_the_user_left_off(stub, project):
    stub.reply("the first answer")
    code, _, err = run([], "first question\n", helper.chat_env(stub), project)
    assert code == 0, err
    session_id = helper.session_id_from(err)

    code, out, err = run(["--resume", session_id[:8]], "/quit\n", helper.chat_env(stub), project)

    assert code == 0, err
    assert out == ""
    lines = err.splitlines()
    assert lines[1] == f"Resuming session: {session_id}"
    assert lines[2] == "(first question - 2 messages)"
    assert "You: first question" in lines
    assert "Assistant: the first answer" in lines
    assert lines[-1] == "Session saved. Goodbye!"


def test_resume_latest_continues_the_same_session(stub, project):
    stub.reply("one")
    stub.reply("two")
    _, _, err = run([], "first\n", helper.chat_env(stub), project)
    session_id = helper.session_id_from(err)

    code, out, err = run(["--resume"], "second\n", helper.chat_env(stub), project)

    assert code == 0, err
    assert out == "two\n"
    assert f"Resuming session: {session_id}" in err
    session = helper.load_session(session_id)
    assert [m.content for m in session.messages] == ["first", "one", "second", "two"]
    assert [m["content"] for m in stub.requests[-1].body["messages"]] == ["first", "one", "second"]


def test_history_sent_to_the_model_fits_the_token_budget(stub, project):
    from opencode.sessions import SessionManager

    manager = SessionManager(fire_shell_hooks=False)
    seeded = manager.create(working_dir=project)
    for number in range(30):
        manager.add_message(
            "user" if number % 2 == 0 else "assistant", f"{number:02d} " + "x" * 400
        )
    manager.close()

    code, _, err = run(
        ["--resume", seeded.id, "--history-tokens", "300"],
        "latest\n",
        helper.chat_env(stub),
        project,
    )

    assert code == 0, err
    sent = stub.requests[0].body["messages"]
    assert sent[-1] == {"role": "user", "content": "latest"}
    assert len(sent) in range(2, 5)  # only the newest messages that fit
    assert sent[0]["content"].startswith("2")  # ... and they are the newest ones
    assert helper.load_session(seeded.id).message_count == 32  # the session keeps everything


def test_session_new_and_resume_switch_sessions(stub, project):
    stub.reply("answer A")
    _, _, err = run([], "in session A\n", helper.chat_env(stub), project)
    first_id = helper.session_id_from(err)

    stdin = f"/session resume {first_id[:8]}\nback in A\n/session new\nin session C\n/quit\n"
    code, out, err = run([], stdin, helper.chat_env(stub), project)

    assert code == 0, err
    second_id = helper.session_id_from(err)
    assert "Resumed: in session A" in out
    assert "(in session A - 2 messages)" in err
    new_lines = [line for line in out.splitlines() if line.startswith("New session: ")]
    assert len(new_lines) == 1
    third_id = new_lines[0].removeprefix("New session: ")
    assert len({first_id, second_id, third_id}) == 3
    first = helper.load_session(first_id)
    assert [m.content for m in first.messages] == ["in session A", "answer A", "back in A", "ok"]
    # The session the run started in was left before anything was said: never written.
    from opencode.sessions import SessionStorage

    assert not SessionStorage().has_files(second_id)
    third = helper.load_session(third_id)
    assert helper.contents(third) == [("user", "in session C"), ("assistant", "ok")]
    assert third.working_dir == str(project) and third.model == helper.MODEL


def test_resume_by_ambiguous_or_unknown_name_is_reported_like_the_cli(project):
    from opencode.sessions import SessionManager

    manager = SessionManager(fire_shell_hooks=False)
    ids = [manager.create(title="twin", working_dir=project).id for _ in range(2)]
    manager.close()

    stdin = "/session resume twin\n/session resume nothing-like-it\n/session resume\n/quit\n"
    code, out, err = run([], stdin, helper.chat_env(None), project)

    assert code == 0, err
    lines = err.splitlines()
    ambiguous = [n for n, line in enumerate(lines) if "matches 2 sessions" in line]
    assert len(ambiguous) == 1, err
    # Reported as 'opencode session ...' reports it: one error line, then the candidates.
    start = ambiguous[0]
    assert lines[start] == "error: 'twin' matches 2 sessions; use more of the id"
    candidates = lines[start + 1 : start + 3]
    assert sorted(line.split()[0] for line in candidates) == sorted(i[:8] for i in ids)
    assert "error: session not found: nothing-like-it" in err
    assert "Resumed: twin" in out  # no argument: the latest other session


def test_hooks_see_prompts_and_session_events(stub, project, tmp_path):
    log = tmp_path / "hooks.log"
    config = Path(helper.chat_env(None)["OPENCODE_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    record = f'echo "$OPENCODE_EVENT $OPENCODE_DATA_PROMPT" >> {log}'
    (config / "hooks.json").write_text(
        json.dumps(
            {
                "hooks": [
                    {"event": "user:prompt_submit", "command": record},
                    {"event": "session:start", "command": record},
                    {"event": "session:end", "command": record},
                ]
            }
        )
    )

    code, _, err = run([], "/help\nhook me\n/quit\n", helper.chat_env(stub), project)

    assert code == 0, err
    events = [line.strip() for line in log.read_text().splitlines()]
    assert events == ["session:start", "user:prompt_submit hook me", "session:end"]


def test_undecodable_input_is_recorded_with_replacement_characters(project):
    import subprocess

    result = subprocess.run(
        [str(helper.OPENCODE)],
        input=b"caf\xe9 au lait\n\xff\xfe\n",
        capture_output=True,
        env=helper.chat_env(None),
        cwd=project,
        timeout=60,
        check=False,
    )
    err = result.stderr.decode()
    assert result.returncode == 0, err
    session = helper.load_session(helper.session_id_from(err))
    assert [m.content for m in session.messages] == ["caf\ufffd au lait", "\ufffd\ufffd"]


def test_session_command_prints_the_details_like_session_show(project):
    code, out, err = run([], "/session title Shown\n/session\n", helper.chat_env(None), project)

    assert code == 0, err
    session_id = helper.session_id_from(err)
    lines = out.splitlines()
    assert "<text" not in out and "[" not in out  # lines, not the repr of a list
    start = next(n for n, line in enumerate(lines) if line.startswith("Session:"))
    assert lines[start].split() == ["Session:", session_id]
    assert lines[start + 1].split() == ["Title:", "Shown"]
    assert lines[start + 4].split() == ["Folder:", str(project)]


def test_model_server_error_text_cannot_drive_the_terminal(stub, project):
    stub.fail(500, "bad \x1b]0;pwned\x07\x1b[2J day")

    code, _, err = run([], "hello\n", helper.chat_env(stub), project)

    assert code == 1, err
    assert "\x1b" not in err and "\x07" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: model server returned HTTP 500: bad \\x1b]0;pwned\\x07\\x1b[2J day",
        "error: 1 of the turns failed",
    ]


def test_slash_errors_carry_the_same_hints_as_the_cli(project, data_dir):
    from opencode.sessions import SessionManager

    manager = SessionManager(fire_shell_hooks=False)
    damaged = manager.create(title="damaged", working_dir=project)
    manager.add_message("user", "one")
    manager.close()  # a second snapshot: the first is now the .backup
    (data_dir / "sessions" / f"{damaged.id}.json").write_text("{")

    code, _, err = run([], f"/session resume {damaged.id}\n", helper.chat_env(None), project)

    assert code == 0, err
    lines = err.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("error: "))
    assert "not valid JSON" in lines[at]
    assert lines[at + 1] == (
        f"hint: the previous version is in {damaged.id}.backup; restore it with "
        f"'opencode session recover {damaged.id}'"
    )


def test_a_message_with_no_open_session_is_not_dropped_silently(project, data_dir):
    """A switch that fails and cannot reopen the old session leaves none open."""
    process = helper.PipedProcess([], helper.chat_env(None))
    try:
        process.send("first\n/session\n")
        process.wait_for_stdout("Session:")
        session_id = helper.session_id_from(process.err.decode())
        # The snapshot's name now holds a folder: saving the old session fails, and so does
        # reopening it (a full disk fails the same way, only less reproducibly).
        snapshot = data_dir / "sessions" / f"{session_id}.json"
        snapshot.unlink()
        snapshot.mkdir()
        (snapshot / "blocker").write_text("x")
        _, err = process.proc.communicate(b"/session new\nare you there?\n/quit\n", timeout=60)
    finally:
        if process.proc.poll() is None:
            process.kill()
    stderr = (process.err + err).decode()
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert any(line.startswith("error: cannot write ") for line in lines), stderr
    assert "error: no session is open; the message was not recorded" in lines
    at = lines.index("error: no session is open; the message was not recorded")
    assert lines[at + 1].startswith("hint: ") and "/session new" in lines[at + 1]
    # The message that could not be recorded is a failed turn: a script must see it.
    assert lines[-1] == "error: 1 of the turns failed"
    assert process.proc.returncode == 1
