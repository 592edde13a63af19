"""``kill -9`` in the middle of an answer loses nothing the user sent."""

from __future__ import annotations

import stub_chat_server as helper  # on sys.path via tests/cli/conftest.py


def test_sigkill_mid_answer_then_resume(stub, tmp_path):
    stub.reply("noted", usage={"prompt_tokens": 7, "completion_tokens": 1})
    stub.slow("Let me think", rest=" about that")
    process = helper.PipedProcess([], helper.chat_env(stub))
    try:
        process.send("first, a finished exchange\n")
        process.wait_for_stdout("noted\n")
        process.send("remember the milk\n")
        process.wait_for_stdout("Let me think")  # the answer is streaming right now
    finally:
        process.kill()  # SIGKILL: no handler, no atexit, no flush
    assert process.proc.returncode == -9
    session_id = helper.session_id_from(process.err.decode())

    result = helper.run_opencode(["--resume", session_id], "/quit\n", helper.chat_env(stub))

    assert result.returncode == 0, result.stderr
    assert "(first, a finished exchange - 3 messages)" in result.stderr
    assert "You: remember the milk" in result.stderr  # shown where the user left off
    session = helper.load_session(session_id)
    assert helper.contents(session) == [
        ("user", "first, a finished exchange"),
        ("assistant", "noted"),
        ("user", "remember the milk"),
    ]
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (7, 1)


def test_sigterm_mid_answer_saves_the_session(stub, data_dir):
    stub.slow("Working on it")
    process = helper.PipedProcess([], helper.chat_env(stub))
    try:
        process.send("a long job\n")
        process.wait_for_stdout("Working on it")
        process.proc.terminate()
        assert process.proc.wait(timeout=helper.WAIT) == 128 + 15
    finally:
        process.kill()
    session_id = helper.session_id_from(process.err.decode())
    assert "Traceback" not in process.err.decode()
    journal = data_dir / "sessions" / f"{session_id}.jsonl"
    assert not journal.exists() or journal.stat().st_size == 0  # closed cleanly, not recovered
    assert helper.contents(helper.load_session(session_id)) == [("user", "a long job")]
