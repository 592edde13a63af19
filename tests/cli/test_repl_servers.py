"""The interactive loop against real servers: a strict one and a third-party one.

* A stub that refuses, as llama.cpp's and vLLM's strict chat templates do, any request whose
  roles do not alternate: a session must survive a failed turn, an interrupted turn,
  trimming and resume against it, because every request is made valid first.
* LLMock, a third-party OpenAI-compatible server from PyPI, started once per test session:
  real turns, its own error bodies, ``Retry-After`` and stream faults.
* Every way a stream ends, through the installed ``opencode``: one ``error:`` line for a
  failure, the partial text kept and marked incomplete in the message's metadata.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stub_chat_server as helper  # on sys.path via tests/cli/conftest.py

from opencode.chat import ChatClient, ChatConfig

USAGE = {"prompt_tokens": 5, "completion_tokens": 2}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def strict() -> Iterator[helper.StubChatServer]:
    with helper.StubChatServer(strict_roles=True) as server:
        yield server


def run(
    stdin: str, env: dict[str, str], cwd: Path, *args: str, failed_turns: int = 0
) -> tuple[str, str, Any]:
    """``opencode ARGS`` with piped stdin: stdout, stderr and the session it announced.

    A scripted run exits 1 when ``failed_turns`` of its turns failed (and says how many on
    its last line), else 0.
    """
    result = helper.run_opencode(list(args), stdin, env, cwd)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == (1 if failed_turns else 0), result.stderr
    if failed_turns:
        summary = f"error: {failed_turns} of the turns failed"
        assert result.stderr.splitlines()[-1] == summary, result.stderr
    session = helper.load_session(helper.session_id_from(result.stderr))
    return result.stdout, result.stderr, session


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def sent(stub: helper.StubChatServer, number: int = -1) -> list[tuple[str, Any]]:
    return [(m["role"], m["content"]) for m in stub.requests[number].body["messages"]]


def seed(project: Path, *messages: tuple[str, str] | dict[str, Any]) -> str:
    """A stored session holding ``messages`` (role and content, or add_message keywords)."""
    from opencode.sessions import SessionManager

    manager = SessionManager(fire_shell_hooks=False)
    session = manager.create(working_dir=project)
    for message in messages:
        if isinstance(message, tuple):
            manager.add_message(*message)
        else:
            manager.add_message(**message)
    manager.close()
    return session.id


# -- a strict chat template --------------------------------------------------------------------


def test_a_failed_turn_does_not_lock_the_session_out_of_a_strict_server(strict, project):
    strict.fail(500, "the model fell over")
    strict.reply("fine now", usage=USAGE)
    strict.reply("still fine")

    out, err, session = run(
        "first\nsecond\nthird\n", helper.chat_env(strict), project, failed_turns=1
    )

    assert out == "fine now\nstill fine\n"
    assert error_lines(err) == [
        "error: model server returned HTTP 500: the model fell over",
        "error: 1 of the turns failed",
    ]
    assert strict.refused == []
    assert sent(strict, 1) == [("user", "first\n\nsecond")]  # both questions, as one
    assert sent(strict, 2) == [
        ("user", "first\n\nsecond"),
        ("assistant", "fine now"),
        ("user", "third"),
    ]
    # The session keeps what was typed, as typed.
    assert helper.contents(session) == [
        ("user", "first"),
        ("user", "second"),
        ("assistant", "fine now"),
        ("user", "third"),
        ("assistant", "still fine"),
    ]


def test_the_strict_stub_refuses_what_a_strict_template_refuses(strict):
    """The stub is as strict as llama.cpp: the tests above would catch a regression."""
    import httpx

    body = {"model": "m", "messages": [{"role": "user", "content": "a"}] * 2}
    with httpx.Client(trust_env=False) as client:
        response = client.post(strict.base_url + "/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == helper.ROLES_MUST_ALTERNATE
    assert helper.alternation_problem([{"role": "assistant", "content": "a"}])
    assert helper.alternation_problem([{"role": "tool", "content": "r", "tool_call_id": "c"}])
    assert helper.alternation_problem(
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": None}]
    )
    assert helper.alternation_problem([{"role": "system", "content": "s"}] * 2)
    ok = [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]
    assert helper.alternation_problem(ok) is None


def test_trimming_never_sends_an_answer_without_its_question(strict, project):
    session_id = seed(project, ("user", "q" * 2000), ("assistant", "short answer"))

    out, _, _ = run(
        "latest\n",
        helper.chat_env(strict),
        project,
        "--resume",
        session_id,
        "--history-tokens",
        "100",
    )

    assert out == "ok\n"
    assert strict.refused == []
    assert sent(strict) == [("user", "latest")]  # the old turn did not fit, so none of it went


def test_resuming_a_session_with_every_kind_of_leftover(strict, project):
    orphan_call = {"id": "call_9", "type": "function"}
    orphan_call["function"] = {"name": "get_weather", "arguments": "{}"}
    session_id = seed(
        project,
        ("user", "first"),
        ("user", "second"),  # a turn that failed
        {"role": "assistant", "content": "Half an", "metadata": {"incomplete": "interrupted"}},
        ("user", "third"),
        {"role": "assistant", "content": "", "tool_calls": [orphan_call]},  # never answered
        {"role": "assistant", "content": "", "metadata": {"reasoning": "hmm"}},
    )

    out, err, session = run("next\n", helper.chat_env(strict), project, "--resume", session_id)

    assert out == "ok\n", err
    assert strict.refused == []
    assert sent(strict) == [
        ("user", "first\n\nsecond"),
        ("assistant", "Half an"),
        ("user", "third\n\nnext"),
    ]
    assert session.message_count == 8


def test_tool_calls_are_recorded_and_never_sent_back(strict, project):
    strict.reply_tool_call("get_weather", '{"city": "Paris"}')
    strict.reply_tool_call("search", text="Let me look that up.")
    strict.reply("Sunny.")

    out, err, session = run("weather?\nand?\nso?\n", helper.chat_env(strict), project)

    assert out == "Let me look that up.\nSunny.\n"  # no blank line for a tool-call-only answer
    notices = [line for line in err.splitlines() if "asked to run" in line]
    assert notices == [
        "(the model asked to run a tool: get_weather; opencode runs no tools, so none was run)",
        "(the model asked to run a tool: search; opencode runs no tools, so none was run)",
    ]
    assert strict.refused == []
    assert sent(strict) == [
        ("user", "weather?\n\nand?"),
        ("assistant", "Let me look that up."),
        ("user", "so?"),
    ]
    calls = [m.tool_calls for m in session.messages if m.role == "assistant"]
    assert calls[0][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert calls[1][0]["function"]["name"] == "search"
    assert calls[2] is None


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_interrupted_turns_keep_a_strict_server_happy(strict, project):
    strict.slow("The first part", rest=" never shown")
    strict.slow("")  # interrupted before a word arrives
    strict.reply("Here again.")
    terminal = helper.PtyProcess([], helper.chat_env(strict))
    try:
        session_id = helper.session_id_from(terminal.expect("You: ").replace("\r\n", "\n"))
        terminal.write(b"tell me a story\r")
        terminal.expect("The first part")
        terminal.write(b"\x03")
        terminal.expect("(answer interrupted")
        terminal.expect("You: ")
        terminal.write(b"shorter please\r")
        wait_for_requests(strict, 2)
        terminal.write(b"\x03")
        terminal.expect("(answer interrupted")
        terminal.expect("You: ")
        terminal.write(b"hello?\r")
        terminal.expect("Here again.")
        terminal.expect("You: ")
        terminal.write(b"/quit\r")
        assert terminal.wait() == 0
    finally:
        terminal.close()

    assert strict.refused == []
    assert sent(strict) == [
        ("user", "tell me a story"),
        ("assistant", "The first part"),
        ("user", "shorter please\n\nhello?"),
    ]
    messages = helper.load_session(session_id).messages
    assert [(m.role, m.content, m.metadata) for m in messages] == [
        ("user", "tell me a story", None),
        ("assistant", "The first part", {"incomplete": "interrupted"}),
        ("user", "shorter please", None),  # nothing arrived, so no answer is recorded
        ("user", "hello?", None),
        ("assistant", "Here again.", None),
    ]


def wait_for_requests(stub: helper.StubChatServer, count: int) -> None:
    """Until the server has the ``count``-th request (polling under a deadline)."""
    import time

    deadline = time.monotonic() + helper.WAIT
    while len(stub.requests) < count:
        assert time.monotonic() < deadline, f"only {len(stub.requests)} requests"
        time.sleep(0.01)  # polling a condition under a deadline


# -- every way a stream ends -------------------------------------------------------------------


def _chunk(**delta: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def _finish(reason: str = "stop") -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}


@pytest.mark.parametrize(
    "ending",
    [
        [_finish(), {"choices": [], "usage": {**USAGE, "total_tokens": 7}}, "[DONE]"],
        [_finish(), {"choices": [{"index": 0, "delta": {}}], "usage": USAGE}],
        [_finish(), "[DONE]"],
        [_finish()],
    ],
    ids=["usage-last-then-done", "usage-last-no-done", "no-usage", "no-usage-no-done"],
)
def test_a_complete_answer_in_any_shape(stub, project, ending):
    stub.stream(_chunk(role="assistant", content=""), _chunk(content="Hi"), *ending)

    out, err, session = run("hello\n", helper.chat_env(stub), project)

    assert out == "Hi\n"
    assert error_lines(err) == []
    # The answer's usage is kept with it too, so a fork carries exactly what it copies.
    has_usage = "usage" in str(ending)
    metadata = {"usage": {"prompt_tokens": 5, "completion_tokens": 2}} if has_usage else None
    assert [(m.content, m.metadata) for m in session.messages[1:]] == [("Hi", metadata)]
    assert session.total_tokens == (7 if has_usage else 0)


@pytest.mark.parametrize(
    ("behave", "error"),
    [
        (
            lambda stub: stub.stream(
                _chunk(content="Par"),
                _chunk(content="tial"),
                {"error": {"message": "upstream overloaded\nplease retry", "code": 529}},
            ),
            "error: model server reported an error: upstream overloaded please retry",
        ),
        (
            lambda stub: stub.cut("Par", "tial"),
            "dropped the connection",
        ),
        (
            lambda stub: stub.stream(_chunk(content="Par"), _chunk(content="tial")),
            "error: model server ended the stream before the answer was complete",
        ),
    ],
    ids=["error-event", "cut-mid-stream", "ends-early"],
)
def test_a_failed_stream_is_one_error_line_and_the_partial_answer_is_kept(
    stub, project, behave, error
):
    behave(stub)
    stub.reply("Whole.")

    out, err, session = run("hello\nagain\n", helper.chat_env(stub), project, failed_turns=1)

    assert out == "Partial\nWhole.\n"
    line, summary = error_lines(err)
    assert summary == "error: 1 of the turns failed"
    assert line.startswith("error: ") and error in line
    assert [(m.role, m.content, m.metadata) for m in session.messages] == [
        ("user", "hello", None),
        ("assistant", "Partial", {"incomplete": "error"}),
        ("user", "again", None),
        ("assistant", "Whole.", None),
    ]
    # What the user saw goes back to the model as it is.
    assert sent(stub) == [("user", "hello"), ("assistant", "Partial"), ("user", "again")]


def test_an_answer_cut_off_at_the_length_limit_says_so(stub, project):
    stub.reply_cut_off("Once upon", " a")

    out, err, session = run("story\n", helper.chat_env(stub), project)

    assert out == "Once upon a\n"
    assert "(answer cut off: the model reached its length limit; ask it to go on)" in (
        err.splitlines()
    )
    assert session.messages[-1].metadata == {"incomplete": "length"}


def test_reasoning_is_kept_apart_and_never_sent_back(stub, project):
    stub.reply_reasoning(["Two and ", "two..."], "Four.")
    stub.reply("Yes.")

    out, _, session = run("2+2?\nsure?\n", helper.chat_env(stub), project)

    assert out == "Four.\nYes.\n"  # a pipe carries the answer only
    assert session.messages[1].content == "Four."
    assert session.messages[1].metadata == {"reasoning": "Two and two..."}
    assert sent(stub) == [("user", "2+2?"), ("assistant", "Four."), ("user", "sure?")]


def test_a_reasoning_only_answer_is_not_a_blank_line(stub, project):
    stub.reply_reasoning(["thinking hard"])

    out, err, session = run("hm\n", helper.chat_env(stub), project)

    assert out == ""
    assert "(the model sent reasoning but no answer)" in err.splitlines()
    assert session.messages[-1].metadata == {"reasoning": "thinking hard"}


def test_an_empty_answer_is_said_on_stderr_not_as_a_blank_line(stub, project):
    stub.reply()

    out, err, _ = run("hm\n", helper.chat_env(stub), project)

    assert out == ""
    assert "(the model sent an empty answer)" in err.splitlines()


def test_retry_after_is_shown_in_the_error_line(stub, project):
    stub.fail(429, "Rate limit reached for requests", headers={"Retry-After": "17"})

    _, err, _ = run("hi\n", helper.chat_env(stub), project, failed_turns=1)

    assert error_lines(err) == [
        "error: model server returned HTTP 429: Rate limit reached for requests (retry after 17 s)",
        "error: 1 of the turns failed",
    ]


def test_a_long_server_message_is_shown_whole_on_one_line(stub, project):
    detail = "\n".join(f"messages[{i}].content: field required" for i in range(40))
    stub.fail(422, detail + "\x1b[2J")

    _, err, _ = run("hi\n", helper.chat_env(stub), project, failed_turns=1)

    line, _ = error_lines(err)
    assert line == (
        "error: model server returned HTTP 422: " + detail.replace("\n", " ") + "\\x1b[2J"
    )
    assert len(line) > 1000


# -- a third-party server: LLMock ----------------------------------------------------------------


@pytest.fixture(scope="session")
def llmock_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[helper.LLMockProcess]:
    """One LLMock process for the test session, ready before the first test uses it."""
    server = helper.LLMockProcess(tmp_path_factory.mktemp("llmock") / "llmock.log").start()
    yield server
    server.stop()


@pytest.fixture
def third_party(llmock_process: helper.LLMockProcess) -> helper.LLMockProcess:
    """The shared LLMock, with no earlier requests and nothing queued."""
    llmock_process.reset()
    return llmock_process


def llmock_env(server: helper.LLMockProcess) -> dict[str, str]:
    return helper.chat_env(None, OPENCODE_BASE_URL=server.base_url, OPENCODE_MODEL="gpt-4o-mini")


def test_real_turns_against_a_third_party_server(third_party, project):
    third_party.script(
        {"type": "reply", "text": "Hello from **LLMock**."},
        {"type": "reply", "text": "Second answer."},
    )

    out, err, session = run("hello\nand again\n", llmock_env(third_party), project)

    assert out == "Hello from **LLMock**.\nSecond answer.\n"  # a pipe gets the text as sent
    assert error_lines(err) == []
    assert helper.contents(session) == [
        ("user", "hello"),
        ("assistant", "Hello from **LLMock**."),
        ("user", "and again"),
        ("assistant", "Second answer."),
    ]
    assert session.total_completion_tokens > 0  # it reports usage when asked to
    first, second = third_party.chat_requests()
    assert first["stream"] is True and first["stream_options"] == {"include_usage": True}
    assert [m["content"] for m in second["messages"]] == [
        "hello",
        "Hello from **LLMock**.",
        "and again",
    ]


def test_a_whole_reply_from_a_third_party_server(third_party):
    """The non-streamed request: ``ChatClient.complete``."""
    third_party.script({"type": "reply", "text": "In one piece."})
    config = ChatConfig(model="gpt-4o-mini", base_url=third_party.base_url)
    with ChatClient(config) as client:
        reply = client.complete([{"role": "user", "content": "hi"}])

    assert (reply.text, reply.finish_reason) == ("In one piece.", "stop")
    assert reply.usage is not None and reply.usage.completion_tokens
    assert third_party.chat_requests()[0]["stream"] is False


def test_third_party_rate_limit_and_stream_faults(third_party, project):
    # Each request takes the first queued behaviour of each kind (a failure ends it).
    third_party.script(
        {"type": "fail", "status": 429, "retry_after": 2, "message": "Slow down"},
        {"type": "stream_fault", "kind": "disconnect", "after_chunks": 3},
        {"type": "reply", "text": "This answer breaks off somewhere in the middle."},
        {"type": "reply", "text": "Recovered."},
    )

    out, err, session = run("one\ntwo\nthree\n", llmock_env(third_party), project, failed_turns=2)

    lines = error_lines(err)
    assert lines[0] == "error: model server returned HTTP 429: Slow down (retry after 2 s)"
    assert "dropped the connection" in lines[1] and len(lines) == 3
    assert out.endswith("Recovered.\n")
    partial = session.messages[2]
    assert partial.role == "assistant" and partial.metadata == {"incomplete": "error"}
    assert partial.content and out == partial.content + "\nRecovered.\n"
    last = third_party.chat_requests()[-1]["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "user"]
    assert last[0]["content"] == "one\n\ntwo"


def test_third_party_length_limit_and_tool_calls(third_party, project):
    third_party.script(
        {"type": "reply", "text": "Once upon a", "finish_reason": "length"},
        {"type": "reply", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
        {"type": "reply", "text": "Done."},
    )

    out, err, session = run("story\nweather\nthanks\n", llmock_env(third_party), project)

    assert out == "Once upon a\nDone.\n"
    assert "(answer cut off: the model reached its length limit; ask it to go on)" in err
    assert "(the model asked to run a tool: get_weather;" in err
    cut_off = session.messages[1].metadata
    assert cut_off["incomplete"] == "length"
    assert set(cut_off) <= {"incomplete", "usage"}  # LLMock reports usage; it is kept too
    assert session.messages[3].tool_calls
    last = third_party.chat_requests()[-1]["messages"]
    assert all("tool_calls" not in m for m in last)
    assert [m["role"] for m in last] == ["user", "assistant", "user"]


def test_third_party_resume(third_party, project):
    third_party.script({"type": "reply", "text": "First."}, {"type": "reply", "text": "Again."})
    _, _, session = run("hello\n", llmock_env(third_party), project)

    out, _, resumed = run("more\n", llmock_env(third_party), project, "--resume", session.id)

    assert out == "Again.\n"
    assert resumed.id == session.id
    assert [m["content"] for m in third_party.chat_requests()[-1]["messages"]] == [
        "hello",
        "First.",
        "more",
    ]
