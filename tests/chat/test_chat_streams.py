"""Every shape a streamed answer takes in the wild, and what the client makes of it.

Usage in the last chunk or none, ``[DONE]`` or not, an error inside the stream (as data or as
an ``event: error``), a connection cut mid-answer; reasoning deltas; long error messages and
``Retry-After``. The server is the real stub on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import pytest

from opencode.chat import (
    ChatClient,
    ChatConnectionError,
    ChatDelta,
    ChatHTTPError,
    ChatResponseError,
    ChatServerError,
    ChatUsage,
)
from opencode.chat.client import retry_after_seconds

if TYPE_CHECKING:
    from conftest import StubChatServer

MakeClient = Callable[..., ChatClient]
MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "hello"}]


def chunk(finish: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"model": "served", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def sse(*events: dict[str, Any] | str, name: str | None = None) -> bytes:
    lines = []
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event)
        lines.append((f"event: {name}\n" if name else "") + f"data: {data}\n\n")
    return "".join(lines).encode()


USAGE = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}


# -- how a stream ends ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tail", "usage"),
    [
        ([chunk("stop"), {"choices": [], "usage": USAGE}, "[DONE]"], ChatUsage(9, 2, 11)),
        # LiteLLM repeats an empty choice beside the usage.
        (
            [chunk("stop"), {"choices": [chunk()["choices"][0]], "usage": USAGE}],
            ChatUsage(9, 2, 11),
        ),
        ([chunk("stop", content=""), "[DONE]"], None),
        ([chunk("stop")], None),  # llama.cpp-style: no [DONE] after the finish reason
    ],
    ids=["usage-then-done", "usage-without-done", "no-usage", "no-done"],
)
def test_complete_streams_in_every_shape(
    stub: StubChatServer, make_client: MakeClient, tail: list[Any], usage: ChatUsage | None
) -> None:
    stub.reply_sse([chunk(role="assistant", content=""), chunk(content="Hi"), *tail])

    reply = make_client().stream_chat(MESSAGES).collect()

    assert (reply.text, reply.finish_reason, reply.usage) == ("Hi", "stop", usage)


def test_an_error_object_inside_the_stream_is_one_line_and_keeps_the_partial_text(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_sse([chunk(content="Par"), {"error": {"message": "overloaded\nretry", "code": 529}}])

    stream = make_client().stream_chat(MESSAGES)
    with pytest.raises(ChatServerError) as caught:
        stream.collect()

    assert str(caught.value) == "model server reported an error: overloaded retry"
    assert stream.text == "Par"
    assert stream.closed


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('{"error": {"message": "quota exceeded"}}', "quota exceeded"),
        ('{"message": "bad thing"}', "bad thing"),
        ("plain words", "plain words"),
    ],
)
def test_an_error_event_is_an_error_whatever_its_data(
    stub: StubChatServer, make_client: MakeClient, data: str, expected: str
) -> None:
    stub.reply_sse_bytes(sse(chunk(content="Hi")) + sse(data, name="error"))

    stream = make_client().stream_chat(MESSAGES)
    with pytest.raises(ChatServerError) as caught:
        stream.collect()

    assert str(caught.value) == f"model server reported an error: {expected}"
    assert stream.text == "Hi"


def test_a_connection_cut_mid_answer_is_an_error_keeping_the_partial_text(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_sse_bytes(sse(chunk(content="Half an ans")), complete=False)

    stream = make_client().stream_chat(MESSAGES)
    with pytest.raises(ChatConnectionError, match="dropped the connection"):
        stream.collect()

    assert stream.text == "Half an ans"
    assert stream.reply is None


def test_a_stream_that_simply_stops_is_an_error(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_sse_bytes(sse(chunk(content="And then")))

    stream = make_client().stream_chat(MESSAGES)
    with pytest.raises(ChatResponseError, match="before the answer was complete"):
        stream.collect()
    assert stream.text == "And then"


def test_length_finish_marks_the_reply_cut_off(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_sse([chunk(content="Once upon a"), chunk("length"), "[DONE]"])

    reply = make_client().stream_chat(MESSAGES).collect()

    assert reply.cut_off
    assert reply.text == "Once upon a"


# -- reasoning -------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_deltas_are_kept_apart_from_the_answer(
    stub: StubChatServer, make_client: MakeClient, field: str
) -> None:
    stub.reply_sse(
        [
            chunk(role="assistant", content=None, **{field: "Let me "}),
            chunk(**{field: "think."}),
            chunk(content="Four."),
            chunk("stop"),
            "[DONE]",
        ]
    )

    with make_client().stream_chat(MESSAGES) as stream:
        deltas = list(stream.deltas())

    assert deltas == [
        ChatDelta(reasoning="Let me "),
        ChatDelta(reasoning="think."),
        ChatDelta("Four."),
    ]
    assert stream.reasoning == "Let me think."
    reply = stream.reply
    assert reply is not None
    assert (reply.text, reply.reasoning) == ("Four.", "Let me think.")
    assert reply.to_message() == {"role": "assistant", "content": "Four."}


def test_iterating_a_stream_yields_the_answer_text_only(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_sse([chunk(reasoning_content="hmm"), chunk(content="Yes"), chunk("stop")])

    assert list(make_client().stream_chat(MESSAGES)) == ["Yes"]


def test_a_server_sending_both_reasoning_fields_is_not_shown_twice(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_sse([chunk(reasoning_content="a", reasoning="a"), chunk("stop", content="b")])

    reply = make_client().stream_chat(MESSAGES).collect()

    assert reply.reasoning == "a"


def test_reasoning_in_a_whole_reply(stub: StubChatServer, make_client: MakeClient) -> None:
    message = {"role": "assistant", "content": "42", "reasoning_content": "6 x 7"}
    stub.reply_json({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})

    assert make_client().complete(MESSAGES).reasoning == "6 x 7"
    with make_client().stream_chat(MESSAGES) as stream:  # a server ignoring "stream": true
        assert list(stream.deltas()) == [ChatDelta("42", "6 x 7")]


# -- error text -----------------------------------------------------------------------------------


def test_a_long_server_message_is_shown_whole_up_to_2000_characters(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    words = " ".join(f"field{i} is invalid;" for i in range(60))  # ~1,150 characters
    assert 1000 < len(words) < 2000
    stub.reply_json({"error": {"message": words}}, status=400)

    with pytest.raises(ChatHTTPError) as caught:
        make_client().stream_chat(MESSAGES)

    assert str(caught.value) == f"model server returned HTTP 400: {words}"


def test_a_flood_of_error_text_is_cut_at_2000_characters(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    stub.reply_json({"error": {"message": "x" * 100_000}}, status=500)

    with pytest.raises(ChatHTTPError) as caught:
        make_client().complete(MESSAGES)

    assert caught.value.server_message == "x" * 1999 + "…"


def test_an_endless_error_body_is_not_read_to_the_end(
    stub: StubChatServer, make_client: MakeClient
) -> None:
    """A server that streams garbage with an error status cannot make the client hang."""

    def behave(handler: Any, _stub: Any) -> None:
        handler.send_response(500)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for _ in range(4096):  # 16 MiB, far past what the client reads
            handler.write_chunk(b"y" * 4096)
        handler.end_stream()

    stub.behavior = behave
    with pytest.raises(ChatHTTPError) as caught:
        make_client().stream_chat(MESSAGES)

    assert caught.value.server_message == "y" * 1999 + "…"


@pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
def test_retry_after_is_part_of_the_error_line(
    stub: StubChatServer, make_client: MakeClient, streaming: bool
) -> None:
    stub.reply_json(
        {"error": {"message": "Rate limit reached"}}, status=429, headers={"Retry-After": "20"}
    )

    client = make_client()
    with pytest.raises(ChatHTTPError) as caught:
        client.stream_chat(MESSAGES) if streaming else client.complete(MESSAGES)

    assert str(caught.value) == (
        "model server returned HTTP 429: Rate limit reached (retry after 20 s)"
    )
    assert caught.value.retry_after == 20


def test_retry_after_forms() -> None:
    soon = datetime.now(timezone.utc) + timedelta(seconds=90)
    assert retry_after_seconds({"retry-after": "7"}) == 7
    assert retry_after_seconds({"retry-after": "1.5"}) == 1.5
    assert 80 < (retry_after_seconds({"retry-after": format_datetime(soon)}) or 0) <= 90
    assert retry_after_seconds({"retry-after-ms": "2500"}) == 2.5
    assert retry_after_seconds({"retry-after": "-3"}) is None
    assert retry_after_seconds({"retry-after": "tomorrow-ish"}) is None
    assert retry_after_seconds({"retry-after": "nan"}) is None
    assert retry_after_seconds({}) is None
