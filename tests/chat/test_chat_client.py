"""The client against a real stub server: replies, streams, usage, errors, timeouts, closing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from opencode.chat import (
    ChatClient,
    ChatConfig,
    ChatConnectionError,
    ChatError,
    ChatHTTPError,
    ChatReply,
    ChatResponseError,
    ChatServerError,
    ChatTimeoutError,
    ChatUsage,
)

if TYPE_CHECKING:
    from conftest import StubChatServer  # the fixture's type; pytest loads conftest itself

MakeClient = Callable[..., ChatClient]
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "hello"},
]


def chunk(content: str | None = None, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "served-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def usage_chunk(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "served-model",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def completion(text: str | None, usage: dict[str, int] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "served-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
    }
    if usage is not None:
        payload["usage"] = usage
    return payload


STREAM = [
    chunk(role="assistant", content=""),
    chunk("Hel"),
    chunk("lo"),
    chunk(" world"),
    chunk(finish="stop"),
]


# --- successful replies -------------------------------------------------------------------


def test_complete_returns_text_usage_and_served_model(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_json(completion("Hi there", {"prompt_tokens": 12, "completion_tokens": 5}))

    reply = make_client().complete(MESSAGES)

    assert reply == ChatReply(
        text="Hi there",
        model="served-model",
        finish_reason="stop",
        usage=ChatUsage(prompt_tokens=12, completion_tokens=5, total_tokens=None),
    )


def test_complete_without_usage_reports_none(stub: StubChatServer, make_client: MakeClient) -> None:
    stub.reply_json(completion("Hi"))

    assert make_client().complete(MESSAGES).usage is None


def test_complete_sends_model_and_messages_without_auth(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_json(completion("ok"))

    make_client(max_tokens=64).complete(MESSAGES)

    [request] = stub.requests
    assert request.path == "/v1/chat/completions"
    assert request.body == {
        "model": "stub-model",
        "messages": MESSAGES,
        "stream": False,
        "max_tokens": 64,
    }
    assert "authorization" not in request.headers


def test_stream_yields_deltas_then_reply_with_reported_usage(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_sse([*STREAM, usage_chunk(21, 3), "[DONE]"])

    with make_client().stream_chat(MESSAGES) as stream:
        deltas = list(stream)

    assert deltas == ["Hel", "lo", " world"]
    assert stream.text == "Hello world"
    assert stream.reply == ChatReply(
        text="Hello world",
        model="served-model",
        finish_reason="stop",
        usage=ChatUsage(prompt_tokens=21, completion_tokens=3, total_tokens=24),
    )
    assert stream.closed


def test_stream_request_asks_for_usage_and_sends_bearer_key(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_sse([*STREAM, "[DONE]"])

    make_client(api_key="sk-test").stream_chat(MESSAGES).collect()

    [request] = stub.requests
    assert request.body == {
        "model": "stub-model",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert request.headers["authorization"] == "Bearer sk-test"


def test_stream_options_can_be_turned_off(stub: StubChatServer, make_client: MakeClient) -> None:
    stub.reply_sse([*STREAM, "[DONE]"])

    make_client(stream_usage=False).stream_chat(MESSAGES).collect()

    assert "stream_options" not in stub.requests[0].body
    assert stub.requests[0].body["stream"] is True


def test_stream_without_usage_leaves_usage_none(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_sse([*STREAM, "[DONE]"])

    reply = make_client().stream_chat(MESSAGES).collect()

    assert reply.text == "Hello world"
    assert reply.finish_reason == "stop"
    assert reply.usage is None


def test_stream_ending_without_done_after_finish_reason_is_complete(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_sse([chunk("Hi"), chunk(finish="length")])

    reply = make_client().stream_chat(MESSAGES).collect()

    assert (reply.text, reply.finish_reason) == ("Hi", "length")


def test_stream_from_server_that_ignores_stream_flag(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_json(completion("all at once", {"prompt_tokens": 7, "completion_tokens": 3}))

    with make_client().stream_chat(MESSAGES) as stream:
        deltas = list(stream)

    assert deltas == ["all at once"]
    assert stream.reply is not None
    assert stream.reply.usage == ChatUsage(7, 3)


def test_streamed_tool_calls_are_assembled(stub: StubChatServer, make_client: MakeClient) -> None:
    call_start = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "read"}}
    stub.reply_sse(
        [
            chunk(role="assistant", tool_calls=[call_start]),
            chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"path": '}}]),
            chunk(tool_calls=[{"index": 0, "function": {"arguments": '"a.txt"}'}}]),
            chunk(finish="tool_calls"),
            "[DONE]",
        ]
    )

    reply = make_client().stream_chat(MESSAGES).collect()

    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "read", "arguments": '{"path": "a.txt"}'},
    }
    assert reply.tool_calls == (call,)
    assert reply.to_message() == {"role": "assistant", "content": None, "tool_calls": [call]}


def test_client_reuses_its_connection_across_turns(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_sse([*STREAM, "[DONE]"])
    client = make_client()

    first = client.stream_chat(MESSAGES).collect()
    second = client.stream_chat([*MESSAGES, first.to_message()]).collect()

    assert second.text == "Hello world"
    assert stub.requests[1].body["messages"][-1] == {"role": "assistant", "content": "Hello world"}


# --- closing early ------------------------------------------------------------------------


def test_closing_a_stream_early_closes_the_connection(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.stream_then_watch_client([chunk("first ")])
    client = make_client()

    stream = client.stream_chat(MESSAGES)
    assert next(stream) == "first "
    stream.close()

    assert stub.client_went_away.wait(5), "server never saw the client close the connection"
    assert stream.closed
    assert list(stream) == []
    assert stream.reply is None
    assert stream.text == "first "
    with pytest.raises(RuntimeError):
        stream.collect()
    # The client stays usable for the next turn.
    stub.reply_json(completion("still here"))
    assert client.complete(MESSAGES).text == "still here"


def test_ctrl_c_inside_with_block_closes_the_connection(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.stream_then_watch_client([chunk("partial")])

    with pytest.raises(KeyboardInterrupt), make_client().stream_chat(MESSAGES) as stream:
        for _delta in stream:
            raise KeyboardInterrupt

    assert stub.client_went_away.wait(5), "server never saw the client close the connection"
    assert stream.text == "partial"


# --- HTTP errors --------------------------------------------------------------------------


def _call(client: ChatClient, streaming: bool) -> ChatReply:
    if streaming:
        return client.stream_chat(MESSAGES).collect()
    return client.complete(MESSAGES)


@pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            401,
            {"error": {"message": "invalid api key", "type": "auth"}},
            "model server returned HTTP 401: invalid api key",
        ),
        (
            500,
            {"error": {"message": "CUDA out of\nmemory"}},
            "model server returned HTTP 500: CUDA out of memory",
        ),
        (
            400,
            {"detail": "max_tokens too large"},
            "model server returned HTTP 400: max_tokens too large",
        ),
    ],
)
def test_http_errors_carry_the_server_message(
    stub: StubChatServer,
    make_client: MakeClient,
    streaming: bool,
    status: int,
    body: dict[str, Any],
    expected: str,
) -> None:
    stub.reply_json(body, status=status)

    with pytest.raises(ChatHTTPError) as caught:
        _call(make_client(), streaming)

    assert str(caught.value) == expected
    assert caught.value.status_code == status


def test_http_404_with_ollama_error_points_at_the_base_url(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_json({"error": "model 'llama9' not found"}, status=404)

    with pytest.raises(ChatHTTPError) as caught:
        make_client().complete(MESSAGES)

    assert str(caught.value) == (
        f"model server returned HTTP 404: model 'llama9' not found "
        f"(is {stub.base_url} the right base URL?)"
    )
    assert caught.value.server_message == "model 'llama9' not found"


def test_http_error_with_html_body_uses_the_status_phrase(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_raw(b"<html><body><h1>502</h1>\n</body></html>", 502, "text/html")

    with pytest.raises(ChatHTTPError) as caught:
        make_client().stream_chat(MESSAGES)

    assert str(caught.value) == "model server returned HTTP 502: Bad Gateway"
    assert caught.value.server_message is None


def test_http_error_with_plain_text_body_uses_its_first_line(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_raw(b"upstream overloaded\ntry later\n", 503)

    with pytest.raises(ChatHTTPError) as caught:
        make_client().complete(MESSAGES)

    assert str(caught.value) == "model server returned HTTP 503: upstream overloaded try later"


# --- network errors and timeouts ----------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
def test_connection_refused(unused_port: int, streaming: bool) -> None:
    base_url = f"http://127.0.0.1:{unused_port}/v1"

    with (
        ChatClient(ChatConfig(model="m", base_url=base_url)) as client,
        pytest.raises(ChatConnectionError) as caught,
    ):
        _call(client, streaming)

    assert str(caught.value) == f"model server at {base_url} refused the connection"
    assert caught.value.base_url == base_url


@pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
# A server that answers after 3 s catches a client that ignores its 0.5 s limit; one that
# never answers checks the client cannot hang and the stub still shuts down.
@pytest.mark.parametrize("answer_after", [3.0, None], ids=["late", "never"])
def test_silent_server_times_out(
    stub: StubChatServer, make_client: MakeClient, streaming: bool, answer_after: float | None
) -> None:
    stub.hang(answer_after)
    client = make_client(read_timeout=0.5)

    started = time.monotonic()
    with pytest.raises(ChatTimeoutError) as caught:
        _call(client, streaming)

    assert time.monotonic() - started < 10
    assert str(caught.value) == f"model server at {stub.base_url} did not answer within 0.5 s"
    assert caught.value.timeout == 0.5


def test_server_that_stalls_mid_stream_times_out_keeping_the_partial_text(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.stream_then_hang([chunk("so far")])
    stream = make_client(read_timeout=0.5).stream_chat(MESSAGES)

    assert next(stream) == "so far"
    with pytest.raises(ChatTimeoutError):
        next(stream)

    assert stream.text == "so far"
    assert stream.reply is None
    assert stream.closed


def test_stream_cut_short_is_an_error_not_a_short_answer(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_sse([chunk("Hel")])

    stream = make_client().stream_chat(MESSAGES)
    with pytest.raises(ChatResponseError, match="before the answer was complete"):
        stream.collect()
    assert stream.text == "Hel"


# --- malformed answers --------------------------------------------------------------------


def test_malformed_json_reply(stub: StubChatServer, make_client: MakeClient) -> None:
    stub.reply_raw(b'{"choices": [', 200, "application/json")

    with pytest.raises(ChatResponseError) as caught:
        make_client().complete(MESSAGES)

    assert str(caught.value).startswith("model server sent a malformed response:")
    assert "\n" not in str(caught.value)


def test_malformed_json_in_stream(stub: StubChatServer, make_client: MakeClient) -> None:
    stub.reply_sse([chunk("ok"), "{not json", "[DONE]"])

    stream = make_client().stream_chat(MESSAGES)
    assert next(stream) == "ok"
    with pytest.raises(ChatResponseError, match="stream chunk is not JSON"):
        next(stream)
    assert stream.closed


@pytest.mark.parametrize(
    "payload",
    [
        {"object": "chat.completion", "choices": []},
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": 42}}]},
        ["not", "an", "object"],
    ],
    ids=["no-choices", "content-not-text", "not-an-object"],
)
def test_reply_that_is_json_but_not_a_completion(
    stub: StubChatServer, make_client: MakeClient, payload: Any
) -> None:
    stub.reply_json(payload)

    with pytest.raises(ChatResponseError):
        make_client().complete(MESSAGES)


def test_error_event_inside_a_stream(stub: StubChatServer, make_client: MakeClient) -> None:
    stub.reply_sse([chunk("Hi"), {"error": {"message": "provider overloaded", "code": 502}}])

    with pytest.raises(ChatServerError) as caught:
        make_client().stream_chat(MESSAGES).collect()

    assert str(caught.value) == "model server reported an error: provider overloaded"
    assert not isinstance(caught.value, ChatHTTPError)


def test_every_failure_is_a_chat_error_with_one_line(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_raw(b"\n\n  boom \n\n with   spaces\n", 500)

    with pytest.raises(ChatError) as caught:
        make_client().complete(MESSAGES)

    assert str(caught.value) == "model server returned HTTP 500: boom with spaces"
