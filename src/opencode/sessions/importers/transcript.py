"""Building an opencode session from another tool's conversation, one event at a time.

Every format reader feeds the same ``TranscriptBuilder``: user and assistant text, tool
calls, tool results, reasoning and token usage, each with its time. The builder turns them
into messages in the OpenAI shape our sessions use (an assistant message carries its
``tool_calls``; each result is a ``tool`` message with the call's id), pairs calls with
results into the session's ``tool_history``, and adds up the usage.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from opencode.sessions.models import Session, SessionMessage, ToolInvocation
from opencode.sessions.validate import MAX_COUNT, MAX_NESTING, nesting_depth, utc_now

REASONING_KEY: Final = "reasoning"
USAGE_KEY: Final = "usage"
INCOMPLETE_KEY: Final = "incomplete"


@dataclass
class ParsedSession:
    """A conversation read from another format, checked, not yet written anywhere."""

    session: Session
    tool: str
    source_id: str | None
    unknown: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Call:
    name: str
    arguments: str
    at: datetime


class TranscriptBuilder:
    """Collects a conversation's events in order and makes a ``Session`` of them.

    ``key`` ties events to one assistant turn of the source (Claude Code writes one API
    message over several lines; sst/opencode groups parts by message): text, reasoning and
    tool calls with the key of the current assistant message join it. Without a key, text
    starts a new message and a tool call joins the assistant message just before it.
    """

    def __init__(self) -> None:
        self.messages: list[SessionMessage] = []
        self.tools: list[ToolInvocation] = []
        self.first: datetime | None = None
        self.last: datetime | None = None
        self._calls: dict[str, _Call] = {}
        self._key: object | None = None
        self._pending_reasoning: list[str] = []
        self._usage: dict[int, tuple[int, int]] = {}
        self._loose: dict[object, tuple[int, int]] = {}

    # -- events -------------------------------------------------------------------------

    def note_time(self, when: datetime | None) -> datetime:
        """Track the conversation's first and last moments; a missing time is the last."""
        if when is None:
            return self.last or self.first or utc_now()
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)
        return when

    def add(
        self, role: str, content: str, when: datetime | None, metadata: dict[str, Any] | None = None
    ) -> SessionMessage:
        """A message that stands on its own (user, system)."""
        message = SessionMessage(
            role=role, content=content, timestamp=self.note_time(when), metadata=metadata
        )
        self.messages.append(message)
        self._key = None
        return message

    def assistant_text(self, content: str, when: datetime | None, key: object = None) -> None:
        """Text the assistant wrote."""
        message = self._assistant(when, key, join=key is not None)
        message.content = f"{message.content}\n\n{content}" if message.content else content

    def reasoning(self, content: str, when: datetime | None, key: object = None) -> None:
        """The assistant's reasoning: kept in its message's metadata, never sent to a model.

        Without a key it waits for the next assistant message.
        """
        if not content:
            return
        if key is None:
            self._pending_reasoning.append(content)
            return
        _append_reasoning(self._assistant(when, key, join=True), content)

    def tool_call(
        self, call_id: str, name: str, arguments: str, when: datetime | None, key: object = None
    ) -> None:
        """The assistant asked for a tool run (``arguments`` as the JSON text it sent)."""
        at = self.note_time(when)
        message = self._assistant(at, key, join=True)
        calls = message.tool_calls if message.tool_calls is not None else []
        calls.append(
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        )
        message.tool_calls = calls
        self._calls[call_id] = _Call(name, arguments, at)

    def tool_result(
        self, call_id: str, output: str, when: datetime | None, *, failed: bool = False
    ) -> None:
        """What a tool run returned (``failed``: it reported an error)."""
        at = self.note_time(when)
        call = self._calls.get(call_id)
        metadata = {"is_error": True} if failed else None
        self.messages.append(
            SessionMessage(
                role="tool",
                content=output,
                tool_call_id=call_id,
                name=call.name if call is not None else None,
                timestamp=at,
                metadata=metadata,
            )
        )
        self._key = None
        if call is not None:
            self.tools.append(_invocation(call, output, at, failed))

    def usage(
        self, prompt: int, completion: int, message: SessionMessage | None, key: object = None
    ) -> None:
        """Token usage of one model call, kept on ``message`` (an assistant message); a later
        report for the same message (or, without one, the same ``key``) replaces the
        earlier one. Usage with no message still counts in the totals."""
        usage = (prompt, completion)
        if message is None:
            self._loose[key if key is not None else object()] = usage
            return
        self._usage[id(message)] = usage
        metadata = dict(message.metadata or {})
        metadata[USAGE_KEY] = {"prompt_tokens": prompt, "completion_tokens": completion}
        message.metadata = metadata

    def mark_incomplete(self, reason: str, message: SessionMessage | None) -> None:
        """The assistant's answer did not finish (``interrupted``, ``length``, ``error``)."""
        if message is not None:
            message.metadata = {**(message.metadata or {}), INCOMPLETE_KEY: reason}

    def current_assistant(self, key: object) -> SessionMessage | None:
        """The assistant message events with ``key`` are joining now, if any."""
        last = self.messages[-1] if self.messages else None
        if last is not None and last.role == "assistant" and key == self._key:
            return last
        return None

    def last_assistant(self, since: int = 0) -> SessionMessage | None:
        """The newest assistant message of the current turn (only tool results after it),
        at position ``since`` or later."""
        for message in reversed(self.messages[since:]):
            if message.role == "assistant":
                return message
            if message.role != "tool":
                return None
        return None

    # -- the result ----------------------------------------------------------------------

    def usage_totals(self) -> tuple[int, int]:
        """Prompt and completion tokens over every message that reported usage."""
        counted = [*self._usage.values(), *self._loose.values()]
        prompt = sum(p for p, _ in counted)
        completion = sum(c for _, c in counted)
        return min(prompt, MAX_COUNT), min(completion, MAX_COUNT)

    def build(
        self,
        *,
        title: str = "",
        working_dir: str = "",
        model: str | None = None,
        usage: tuple[int, int] | None = None,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> Session:
        """The session: messages in order, times from the events unless given."""
        from opencode.sessions.titles import generate_title

        prompt, completion = usage if usage is not None else self.usage_totals()
        created = created_at or self.first or utc_now()
        session = Session(
            title=title,
            working_dir=foreign_dir(working_dir),
            model=model or None,
            created_at=created,
            updated_at=max(updated_at or self.last or created, created),
            messages=self.messages,
            tool_history=self.tools,
            total_prompt_tokens=prompt,
            total_completion_tokens=completion,
        )
        if not session.title and self.messages:
            session.title = generate_title(session)
        return session

    # -- helpers -------------------------------------------------------------------------

    def _assistant(self, when: datetime | None, key: object, *, join: bool) -> SessionMessage:
        last = self.messages[-1] if self.messages else None
        joinable = last is not None and last.role == "assistant"
        if join and joinable and (key is None or key == self._key):
            assert last is not None
            self.note_time(when)
            return last
        message = SessionMessage(role="assistant", content="", timestamp=self.note_time(when))
        for pending in self._pending_reasoning:
            _append_reasoning(message, pending)
        self._pending_reasoning.clear()
        self.messages.append(message)
        self._key = key
        return message


def _append_reasoning(message: SessionMessage, content: str) -> None:
    metadata = dict(message.metadata or {})
    before = metadata.get(REASONING_KEY)
    metadata[REASONING_KEY] = f"{before}\n\n{content}" if isinstance(before, str) else content
    message.metadata = metadata


def _invocation(call: _Call, output: str, at: datetime, failed: bool) -> ToolInvocation:
    arguments = arguments_object(call.arguments)
    if nesting_depth(arguments) > MAX_NESTING:  # too deep to store as an object: as text
        arguments = {"input": call.arguments}
    return ToolInvocation(
        tool_name=call.name,
        arguments=arguments,
        result=None if failed else output,
        timestamp=at,
        duration=max(0.0, (at - call.at).total_seconds()),
        success=not failed,
        error=output if failed else None,
    )


def arguments_object(arguments: str) -> dict[str, Any]:
    """A tool call's arguments as an object: parsed JSON, else ``{"input": <text>}``."""
    try:
        parsed = json.loads(arguments)
    except (ValueError, RecursionError):
        return {"input": arguments}
    return parsed if isinstance(parsed, dict) else {"input": parsed}


def arguments_text(value: Any) -> str:
    """A tool input object as the JSON text a chat-completions tool call carries."""
    return json.dumps(value, ensure_ascii=False)


def source_title(text: str | None) -> str:
    """A title from another tool's summary or name: one line, at most ``MAX_TITLE`` long."""
    from opencode.sessions.titles import MAX_TITLE, clean_title, shorten

    if not text:
        return ""
    return clean_title(shorten(" ".join(text.split()), MAX_TITLE))


def foreign_dir(path: str) -> str:
    """Another machine's folder as a working directory: an absolute path normalised, anything
    else (a Windows path on POSIX, say) kept as written; never made relative to our cwd."""
    if not path:
        return ""
    return os.path.normpath(path) if os.path.isabs(path) else path
