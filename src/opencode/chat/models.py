"""Plain data the client hands back: streamed deltas, usage counts and one finished reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

ChatMessage: TypeAlias = dict[str, Any]
"""An OpenAI-shaped message: ``role``, ``content``, optional ``tool_calls``/``tool_call_id``/
``name``. Kept as a plain dict because it goes to the server as JSON unchanged."""


@dataclass(frozen=True)
class ChatUsage:
    """Token counts exactly as the server reported them; a field it left out stays ``None``.

    Each count is a whole number from 0 to 2**63-1: the parser refuses anything else.
    """

    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None = None


@dataclass(frozen=True)
class ChatDelta:
    """One piece of a streamed answer: answer text, reasoning text, or both.

    Reasoning models (DeepSeek, Qwen, gpt-oss on vLLM or llama.cpp) stream their thinking as
    ``reasoning_content`` or ``reasoning`` before the answer; it is shown apart and never sent
    back to the model as the answer.
    """

    text: str = ""
    reasoning: str = ""


@dataclass(frozen=True)
class ChatReply:
    """One complete assistant answer.

    ``usage`` is ``None`` when the server reported none: numbers are never estimated here,
    so a session records only what the server actually counted. When the server reported
    counts that cannot be true (negative, fractional, beyond 63 bits), ``usage`` is ``None``
    too and ``usage_error`` says what was wrong, in one line; the text is still good.
    ``reasoning`` is the model's thinking, if the server sent it apart from the answer;
    ``finish_reason == "length"`` means the answer was cut off at the token limit.
    """

    text: str
    model: str
    finish_reason: str | None = None
    usage: ChatUsage | None = None
    tool_calls: tuple[dict[str, Any], ...] = field(default=())
    usage_error: str | None = None
    reasoning: str = ""

    @property
    def cut_off(self) -> bool:
        """True when the server stopped the answer at its length limit."""
        return self.finish_reason == "length"

    def to_message(self) -> ChatMessage:
        """The assistant message to append to the history for the next request.

        Reasoning is left out: servers document that it must not be sent back as content.
        """
        # The API wants ``content: null`` rather than "" on a pure tool-call turn.
        content = self.text if self.text or not self.tool_calls else None
        message: ChatMessage = {"role": "assistant", "content": content}
        if self.tool_calls:
            message["tool_calls"] = [dict(call) for call in self.tool_calls]
        return message
