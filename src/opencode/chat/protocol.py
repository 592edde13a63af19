"""The chat-completions wire format: request bodies, SSE framing and reply parsing.

Pure functions and small state objects with no HTTP in them, so the client module stays about
transport and errors while this one is about what the bytes mean.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from opencode.chat.config import ChatConfig
from opencode.chat.errors import ChatResponseError, ChatServerError, ChatUsageError
from opencode.chat.models import ChatDelta, ChatReply, ChatUsage

DONE_SENTINEL: Final = "[DONE]"
MAX_TOKEN_COUNT: Final = 2**63 - 1
# A server's own explanation is shown whole up to this many characters (a validation error
# listing every bad field can be long); beyond it a flood is cut.
SERVER_MESSAGE_LIMIT: Final = 2000
_USAGE_FIELDS: Final = ("prompt_tokens", "completion_tokens", "total_tokens")
_ONE_LINE_LIMIT: Final = 200
# Servers name the model's thinking differently: DeepSeek, vLLM and llama.cpp say
# ``reasoning_content``, OpenRouter, Ollama and newer vLLM ``reasoning``.
_REASONING_FIELDS: Final = ("reasoning_content", "reasoning")


def one_line(text: str, limit: int = _ONE_LINE_LIMIT) -> str:
    """Collapse whitespace and cut long text so an error stays a single readable line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def build_request_body(
    config: ChatConfig,
    messages: Sequence[Mapping[str, Any]],
    *,
    stream: bool,
    max_tokens: int | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body for ``POST /chat/completions``; ``extra_body`` adds e.g. tools."""
    body: dict[str, Any] = {
        "model": config.model,
        "messages": [dict(message) for message in messages],
        "stream": stream,
    }
    if stream and config.stream_usage:
        # Without this OpenAI-style servers never report usage for a streamed answer.
        body["stream_options"] = {"include_usage": True}
    limit = max_tokens if max_tokens is not None else config.max_tokens
    if limit is not None:
        body["max_tokens"] = limit
    if extra_body:
        body.update(extra_body)
    return body


def iter_sse_events(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Yield ``(event name, data)`` for each server-sent event in ``lines``.

    Follows the SSE rules that matter here: an event ends at a blank line, several ``data:``
    lines join with newlines, ``:`` lines are comments (keep-alives), the name defaults to
    ``message`` and other fields (``id:``, ``retry:``) are ignored. An event cut off by the
    end of the stream still counts.
    """
    data: list[str] = []
    event = "message"
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield event, "\n".join(data)
            data, event = [], "message"
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value or "message"
    if data:
        yield event, "\n".join(data)


def iter_sse_data(lines: Iterable[str]) -> Iterator[str]:
    """Yield the ``data`` payload of each server-sent event in ``lines``."""
    for _, data in iter_sse_events(lines):
        yield data


def decode_json(text: str | bytes, what: str) -> Any:
    """Parse JSON from the server, turning garbage into ``ChatResponseError``."""
    try:
        return json.loads(text)
    except ValueError:
        snippet = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        raise ChatResponseError(
            f"model server sent a malformed response: {what} is not JSON: {one_line(snippet, 60)!r}"
        ) from None


def _malformed(detail: str) -> ChatResponseError:
    return ChatResponseError(f"model server sent a malformed response: {detail}")


def error_message_from_payload(payload: Mapping[str, Any]) -> str | None:
    """The human message in the error shapes servers use.

    OpenAI and vLLM send ``{"error": {"message": ...}}``, Ollama ``{"error": "..."}``,
    FastAPI-based servers ``{"detail": "..."}``.
    """
    error = payload.get("error")
    if isinstance(error, Mapping):
        message = error.get("message")
        if isinstance(message, str) and message.strip():
            return one_line(message, SERVER_MESSAGE_LIMIT)
    if isinstance(error, str) and error.strip():
        return one_line(error, SERVER_MESSAGE_LIMIT)
    for key in ("message", "detail"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return one_line(value, SERVER_MESSAGE_LIMIT)
    return None


def error_message_from_body(body: bytes, content_type: str) -> str | None:
    """The server's explanation in an error response body, if it gave a readable one."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, Mapping):
        return error_message_from_payload(payload)
    if payload is not None or "html" in content_type.lower():
        return None  # a proxy's HTML error page says nothing a status line does not
    text = body.decode("utf-8", "replace").strip()
    return one_line(text, SERVER_MESSAGE_LIMIT) if text else None


def in_band_error(payload: Mapping[str, Any]) -> ChatServerError:
    """The error a server reported inside a 200 answer (a body or a stream event)."""
    message = error_message_from_payload(payload) or one_line(
        json.dumps(payload.get("error", payload), default=str), SERVER_MESSAGE_LIMIT
    )
    return ChatServerError(f"model server reported an error: {message}", server_message=message)


def error_event(data: str) -> ChatServerError:
    """An SSE ``event: error``: its data is usually an error object, sometimes plain text."""
    try:
        payload = json.loads(data)
    except ValueError:
        payload = None
    if isinstance(payload, Mapping):
        return in_band_error(payload)
    text = one_line(data, SERVER_MESSAGE_LIMIT) or "no details"
    return ChatServerError(f"model server reported an error: {text}", server_message=text)


def _raise_if_error(payload: Mapping[str, Any]) -> None:
    if payload.get("error"):
        raise in_band_error(payload)


def parse_usage(value: object) -> ChatUsage | None:
    """Usage exactly as reported, or ``None`` when the server reported no counts.

    Raises ``ChatUsageError`` for a count no server can honestly report: negative, not a
    whole number (``true`` and ``5.0`` are not) or 2**63 and beyond. Refused here, where it
    enters, such a number never reaches a session file, the index or a 64-bit column.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _invalid_usage(f"usage is {_shown(value)}, not an object")
    prompt, completion, total = (_count(value, key) for key in _USAGE_FIELDS)
    if prompt is None and completion is None and total is None:
        return None
    return ChatUsage(prompt, completion, total)


def _count(usage: Mapping[str, Any], key: str) -> int | None:
    number = usage.get(key)
    if number is None:
        return None
    if isinstance(number, bool) or not isinstance(number, int):
        raise _invalid_usage(f"{key} is {_shown(number)}, not a whole number")
    if not 0 <= number <= MAX_TOKEN_COUNT:
        raise _invalid_usage(f"{key} is {_shown(number)}, out of range")
    return number


def _invalid_usage(detail: str) -> ChatUsageError:
    return ChatUsageError(f"model server reported invalid token usage ({detail})")


def _shown(value: object) -> str:
    """A bad value as the server wrote it, short (a huge number is described, not printed)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a {value.bit_length()}-bit number"
    return one_line(json.dumps(value), 40)


def _text_or_none(value: object, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _malformed(f"{what} is {type(value).__name__}, not text")


def _first_choice(payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    choices = payload.get("choices")
    if choices is None:
        return None
    if not isinstance(choices, list):
        raise _malformed("'choices' is not a list")
    for choice in choices:
        if not isinstance(choice, Mapping):
            raise _malformed("a choice is not an object")
        if choice.get("index", 0) == 0:
            return choice
    return None


def parse_completion(payload: object, fallback_model: str) -> ChatReply:
    """A non-streamed ``chat.completion`` object as a ``ChatReply``."""
    if not isinstance(payload, Mapping):
        raise _malformed("expected a JSON object")
    _raise_if_error(payload)
    choice = _first_choice(payload)
    if choice is None:
        raise _malformed("the reply has no choices")
    message = choice.get("message")
    if not isinstance(message, Mapping):
        raise _malformed("the reply's choice has no message")
    text = _text_or_none(message.get("content"), "the message content") or ""
    reasoning = _reasoning(message, "the message")
    raw_calls = message.get("tool_calls") or []
    if not isinstance(raw_calls, list) or not all(isinstance(c, Mapping) for c in raw_calls):
        raise _malformed("'tool_calls' is not a list of objects")
    model = payload.get("model")
    usage, usage_error = _usage_or_error(payload.get("usage"))
    return ChatReply(
        text=text,
        model=model if isinstance(model, str) and model else fallback_model,
        finish_reason=_text_or_none(choice.get("finish_reason"), "finish_reason"),
        usage=usage,
        tool_calls=tuple(dict(call) for call in raw_calls),
        usage_error=usage_error,
        reasoning=reasoning,
    )


def _reasoning(message: Mapping[str, Any], what: str) -> str:
    """The model's thinking in a message or delta: the first reasoning field that has text."""
    for key in _REASONING_FIELDS:
        value = _text_or_none(message.get(key), f"{what}'s {key}")
        if value:
            return value
    return ""


def _usage_or_error(value: object) -> tuple[ChatUsage | None, str | None]:
    """The reported usage, or ``None`` and why it was refused: bad counts spoil no answer."""
    try:
        return parse_usage(value), None
    except ChatUsageError as exc:
        return None, str(exc)


class ReplyBuilder:
    """Accumulates ``chat.completion.chunk`` objects into text deltas and a final reply."""

    def __init__(self, fallback_model: str) -> None:
        self._parts: list[str] = []
        self._reasoning: list[str] = []
        self._model = fallback_model
        self.finish_reason: str | None = None
        self.usage: ChatUsage | None = None
        self.usage_error: str | None = None
        self._tool_calls: dict[int, dict[str, Any]] = {}

    @property
    def text(self) -> str:
        """Everything received so far (the partial answer if the stream is cut short)."""
        return "".join(self._parts)

    @property
    def reasoning(self) -> str:
        """The model's thinking received so far."""
        return "".join(self._reasoning)

    def add_chunk(self, chunk: object) -> ChatDelta:
        """Take one chunk; return its text and reasoning (empty for role, usage or tools)."""
        if not isinstance(chunk, Mapping):
            raise _malformed("a stream chunk is not a JSON object")
        _raise_if_error(chunk)
        model = chunk.get("model")
        if isinstance(model, str) and model:
            self._model = model
        if chunk.get("usage") is not None:
            # Some servers repeat running usage on every chunk; the last report wins, even
            # when it is one to refuse.
            usage, error = _usage_or_error(chunk["usage"])
            if usage is not None or error is not None:
                self.usage, self.usage_error = usage, error
        choice = _first_choice(chunk)
        if choice is None:
            return ChatDelta()
        finish = _text_or_none(choice.get("finish_reason"), "finish_reason")
        if finish:
            self.finish_reason = finish
        delta = choice.get("delta")
        if delta is None:
            return ChatDelta()
        if not isinstance(delta, Mapping):
            raise _malformed("a stream chunk's delta is not an object")
        self._add_tool_calls(delta.get("tool_calls"))
        text = _text_or_none(delta.get("content"), "a stream chunk's content") or ""
        reasoning = _reasoning(delta, "a stream chunk")
        return self.add(text, reasoning)

    def add(self, text: str, reasoning: str = "") -> ChatDelta:
        """Append answer text and reasoning that arrived some other way (a whole reply)."""
        if text:
            self._parts.append(text)
        if reasoning:
            self._reasoning.append(reasoning)
        return ChatDelta(text, reasoning)

    def _add_tool_calls(self, deltas: object) -> None:
        if deltas is None:
            return
        if not isinstance(deltas, list):
            raise _malformed("a stream chunk's tool_calls is not a list")
        for position, delta in enumerate(deltas):
            if not isinstance(delta, Mapping):
                raise _malformed("a streamed tool call is not an object")
            index = delta.get("index", position)
            call = self._tool_calls.setdefault(
                index if isinstance(index, int) else position,
                {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
            )
            for key in ("id", "type"):
                if isinstance(delta.get(key), str):
                    call[key] = delta[key]
            function = delta.get("function")
            if isinstance(function, Mapping):
                # Name and arguments arrive as fragments to be concatenated.
                for key in ("name", "arguments"):
                    if isinstance(function.get(key), str):
                        call["function"][key] += function[key]

    def build(self) -> ChatReply:
        """The finished reply, with usage only if the server sent it."""
        return ChatReply(
            text=self.text,
            model=self._model,
            finish_reason=self.finish_reason,
            usage=self.usage,
            tool_calls=tuple(self._tool_calls[index] for index in sorted(self._tool_calls)),
            usage_error=self.usage_error,
            reasoning=self.reasoning,
        )
