"""The session data model: what a conversation is, independent of where it is stored.

Field names and the ``to_dict`` layout follow the spec's file format (section 11) exactly;
two extra top-level fields, ``version`` and ``journal_seq``, let a reader refuse files from a
newer opencode and replay the append-only journal without applying a change twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from opencode.sessions.errors import (
    InvalidSessionValueError,
    SessionCorruptedError,
    SessionVersionError,
)
from opencode.sessions.ids import is_valid_session_id, new_session_id
from opencode.sessions.validate import (
    MAX_COUNT,
    as_list,
    as_object,
    check_count,
    check_nesting_on_load,
    check_nesting_on_write,
    format_timestamp,
    nests_deeper_than,
    opt_bool,
    opt_int,
    opt_number,
    opt_object,
    opt_str,
    req_str,
    str_list,
    str_or,
    timestamp,
    utc_now,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, Final

SESSION_FORMAT_VERSION: Final = 1


def _default_working_dir() -> str:
    try:
        return os.getcwd()
    except OSError:  # the current folder was deleted under us
        return ""


def _short_uid(prefix: str) -> str:
    from uuid import uuid4  # on first use: listing never makes ids

    return f"{prefix}_{uuid4().hex[:24]}"


def check_token_counts(prompt_tokens: object, completion_tokens: object) -> None:
    """Reject usage figures that are not whole numbers from 0 to ``MAX_COUNT``.

    Raises ``InvalidSessionValueError`` (a ``ValueError``) before anything changes.
    """
    check_count(prompt_tokens, "prompt_tokens")
    check_count(completion_tokens, "completion_tokens")


def check_token_totals(session: Session, prompt_tokens: int, completion_tokens: int) -> None:
    """Refuse usage that would push a session's totals past ``MAX_COUNT``."""
    check_token_counts(prompt_tokens, completion_tokens)
    if (
        session.total_prompt_tokens + prompt_tokens > MAX_COUNT
        or session.total_completion_tokens + completion_tokens > MAX_COUNT
    ):
        raise InvalidSessionValueError(
            f"token totals would exceed {MAX_COUNT}; this usage cannot be recorded"
        )


@dataclass(slots=True)
class SessionMessage:
    """One chat message in the OpenAI shape (role, content, tool calls, tool results)."""

    role: str
    content: str = ""
    id: str = field(default_factory=lambda: _short_uid("msg"))
    timestamp: datetime = field(default_factory=utc_now)
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    # What the conversation layer knows about the message beyond the chat format (e.g. an
    # answer that was cut short, the model's reasoning); never sent to a model.
    metadata: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The spec's message object; optional fields appear only when set."""
        data: dict[str, Any] = {"id": self.id, "role": self.role, "content": self.content}
        if self.tool_calls is not None:
            check_nesting_on_write(self.tool_calls, "a message's tool_calls")
            data["tool_calls"] = self.tool_calls
        if self.tool_call_id is not None:
            data["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            data["name"] = self.name
        if self.metadata is not None:
            check_nesting_on_write(self.metadata, "a message's metadata")
            data["metadata"] = self.metadata
        data["timestamp"] = format_timestamp(self.timestamp)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "") -> SessionMessage:
        """Build a message, raising ``SessionCorruptedError`` for anything malformed."""
        plain = _plain_message(cls, data)
        if plain is not None:
            return plain
        data = as_object(data, where.rstrip(".") or "message")
        tool_calls = data.get("tool_calls")
        if tool_calls is not None:
            check_nesting_on_load(tool_calls, f"{where}tool_calls")
            calls = as_list(tool_calls, f"{where}tool_calls")
            tool_calls = [
                dict(as_object(c, f"{where}tool_calls[{i}]")) for i, c in enumerate(calls)
            ]
        metadata = data.get("metadata")
        if metadata is not None:
            check_nesting_on_load(metadata, f"{where}metadata")
            metadata = opt_object(data, "metadata", where)
        return cls(
            role=req_str(data, "role", where),
            content=str_or(data, "content", where, ""),
            id=str_or(data, "id", where, "") or _short_uid("msg"),
            timestamp=timestamp(data, "timestamp", where, default=utc_now()),
            tool_calls=tool_calls,
            tool_call_id=opt_str(data, "tool_call_id", where),
            name=opt_str(data, "name", where),
            metadata=metadata,
        )


_PLAIN_ALLOWED: Final = frozenset(
    {"id", "role", "content", "timestamp", "name", "tool_call_id", "tool_calls"}
)


def _plain_message(cls: type[SessionMessage], data: object) -> SessionMessage | None:
    """The common message, built without the general checks: a 100,000-message session
    loads in well under half the time. That is string id, role, content and a UTC
    timestamp as we write it, a tool result's name and call id, and tool calls in their
    usual two-level shape. None for anything else, which the general path reads (and
    reports, if malformed)."""
    if type(data) is not dict or not data.keys() <= _PLAIN_ALLOWED:
        return None
    get = data.get
    role, content, message_id, stamp = get("role"), get("content", ""), get("id"), get("timestamp")
    if (
        type(role) is not str
        or type(content) is not str
        or type(stamp) is not str
        or type(message_id) is not str
        or not message_id
    ):
        return None
    name, call_id, calls = get("name"), get("tool_call_id"), get("tool_calls")
    if (name is not None and type(name) is not str) or (
        call_id is not None and type(call_id) is not str
    ):
        return None
    if calls is not None:
        if not _plain_tool_calls(calls):
            return None
        calls = [dict(call) for call in calls]  # no aliasing of the caller's objects
    try:
        when = _from_iso(stamp)
    except ValueError:
        return None
    if when.tzinfo is not timezone.utc:  # naive, other offsets (and "Z" before 3.11): general
        return None
    # Positional, in field order: keywords cost a fifth of the load of a long session.
    return cls(role, content, message_id, when, calls, call_id, name)


_from_iso: Final = datetime.fromisoformat


def _plain_tool_calls(calls: object) -> bool:
    """Whether ``calls`` passes the general checks: a list of objects, nested no deeper
    than ``MAX_NESTING`` (the same check, which stops early for the usual two levels)."""
    if type(calls) is not list or not all(type(call) is dict for call in calls):
        return False
    return not nests_deeper_than(calls)


@dataclass
class ToolInvocation:
    """A record of one tool run: what was asked, what came back, how long it took."""

    tool_name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    id: str = field(default_factory=lambda: _short_uid("tool"))
    timestamp: datetime = field(default_factory=utc_now)
    duration: float = 0.0
    success: bool = True
    error: str | None = None

    @classmethod
    def from_call(
        cls,
        tool_name: str,
        arguments: dict[str, Any] | None = None,
        result: Any = None,
        duration: float = 0.0,
        success: bool = True,
        error: str | None = None,
    ) -> ToolInvocation:
        """A new record of one tool run, as ``record_tool_call`` takes its arguments."""
        return cls(
            tool_name=tool_name,
            arguments=dict(arguments or {}),
            result=result,
            duration=float(duration),
            success=bool(success),
            error=error,
        )

    def to_dict(self) -> dict[str, Any]:
        """The spec's ``tool_history`` entry."""
        check_nesting_on_write(self.arguments, "a tool run's arguments")
        check_nesting_on_write(self.result, "a tool run's result")
        return {
            "id": self.id,
            "tool_name": self.tool_name,
            "arguments": self.arguments,
            "result": self.result,
            "timestamp": format_timestamp(self.timestamp),
            "duration": self.duration,
            "success": self.success,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "") -> ToolInvocation:
        """Build an invocation, raising ``SessionCorruptedError`` for anything malformed."""
        data = as_object(data, where.rstrip(".") or "tool invocation")
        check_nesting_on_load(data.get("arguments"), f"{where}arguments")
        check_nesting_on_load(data.get("result"), f"{where}result")
        return cls(
            tool_name=req_str(data, "tool_name", where),
            arguments=opt_object(data, "arguments", where),
            result=data.get("result"),
            id=str_or(data, "id", where, "") or _short_uid("tool"),
            timestamp=timestamp(data, "timestamp", where, default=utc_now()),
            duration=opt_number(data, "duration", where),
            success=opt_bool(data, "success", where, True),
            error=opt_str(data, "error", where),
        )


@dataclass
class Session:
    """A whole conversation with its tool history, token usage, tags and metadata."""

    title: str = ""
    working_dir: str = field(default_factory=_default_working_dir)
    model: str | None = None
    id: str = field(default_factory=new_session_id)
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    messages: list[SessionMessage] = field(default_factory=list)
    tool_history: list[ToolInvocation] = field(default_factory=list)
    total_prompt_tokens: int = 0
    total_completion_tokens: int = 0
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    journal_seq: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens over the whole session."""
        return self.total_prompt_tokens + self.total_completion_tokens

    @property
    def message_count(self) -> int:
        """How many messages the conversation holds."""
        return len(self.messages)

    def touch(self, when: datetime | None = None) -> None:
        """Mark the session as changed now (or at ``when``)."""
        self.updated_at = when or utc_now()

    def add_message(self, message: SessionMessage) -> SessionMessage:
        """Append ``message`` and return it."""
        self.messages.append(message)
        self.touch(message.timestamp)
        return message

    def add_message_from_dict(self, role: str, content: str = "", **fields: Any) -> SessionMessage:
        """Build a message from keyword fields (``tool_calls``, ``tool_call_id``, ``name``)."""
        return self.add_message(SessionMessage(role=role, content=content, **fields))

    def add_tool_invocation(self, invocation: ToolInvocation) -> ToolInvocation:
        """Append ``invocation`` to the tool history and return it."""
        self.tool_history.append(invocation)
        self.touch(invocation.timestamp)
        return invocation

    def record_tool_call(
        self,
        tool_name: str,
        arguments: dict[str, Any] | None = None,
        result: Any = None,
        duration: float = 0.0,
        success: bool = True,
        error: str | None = None,
    ) -> ToolInvocation:
        """Record one tool run in the tool history."""
        return self.add_tool_invocation(
            ToolInvocation.from_call(tool_name, arguments, result, duration, success, error)
        )

    def update_usage(self, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        """Add one model call's token usage to the totals."""
        check_token_totals(self, prompt_tokens, completion_tokens)
        self.total_prompt_tokens += prompt_tokens
        self.total_completion_tokens += completion_tokens
        self.touch()

    @property
    def active_at(self) -> datetime:
        """When the session was last used: its last message, else its creation."""
        return self.messages[-1].timestamp if self.messages else self.created_at

    def chat_messages(self) -> list[dict[str, Any]]:
        """The messages in the OpenAI shape a chat-completions request carries."""
        messages: list[dict[str, Any]] = []
        for message in self.messages:
            item: dict[str, Any] = {"role": message.role, "content": message.content}
            if message.tool_calls:
                item["tool_calls"] = message.tool_calls
                if not message.content:
                    item["content"] = None
            if message.tool_call_id is not None:
                item["tool_call_id"] = message.tool_call_id
            if message.name is not None:
                item["name"] = message.name
            messages.append(item)
        return messages

    def summary(self) -> SessionSummary:
        """The index entry for this session."""
        return SessionSummary(
            id=self.id,
            title=self.title,
            created_at=self.created_at,
            updated_at=self.updated_at,
            message_count=self.message_count,
            total_tokens=self.total_tokens,
            tags=list(self.tags),
            working_dir=self.working_dir,
            model=self.model,
            active_at=self.active_at,
            prompt_tokens=self.total_prompt_tokens,
            completion_tokens=self.total_completion_tokens,
        )

    def to_dict(self) -> dict[str, Any]:
        """The spec's session file object."""
        check_nesting_on_write(self.metadata, "the session's metadata")
        return {
            "version": SESSION_FORMAT_VERSION,
            "id": self.id,
            "title": self.title,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
            "working_dir": self.working_dir,
            "model": self.model,
            "messages": [m.to_dict() for m in self.messages],
            "tool_history": [t.to_dict() for t in self.tool_history],
            "total_prompt_tokens": self.total_prompt_tokens,
            "total_completion_tokens": self.total_completion_tokens,
            "tags": list(self.tags),
            "metadata": self.metadata,
            "journal_seq": self.journal_seq,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The session as JSON text (the file format when ``indent`` is 2)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Session:
        """Build a session, raising ``SessionCorruptedError`` for anything malformed."""
        data = as_object(data, "session")
        version = opt_int(data, "version", "", SESSION_FORMAT_VERSION)
        if version > SESSION_FORMAT_VERSION:
            raise SessionVersionError(
                f"session format version {version} is newer than this opencode supports "
                f"({SESSION_FORMAT_VERSION}); upgrade opencode"
            )
        session_id = req_str(data, "id", "")
        if not is_valid_session_id(session_id):
            raise SessionCorruptedError(
                f"field 'id': {session_id[:40]!r} is not a valid session id"
            )
        created_at = timestamp(data, "created_at", "")
        messages = as_list(data.get("messages", []), "messages")
        raw_tools = data.get("tool_history")
        tools = [] if raw_tools is None else as_list(raw_tools, "tool_history")
        check_nesting_on_load(data.get("metadata"), "metadata")
        return cls(
            id=session_id,
            title=str_or(data, "title", "", ""),
            created_at=created_at,
            updated_at=timestamp(data, "updated_at", "", default=created_at),
            working_dir=str_or(data, "working_dir", "", ""),
            model=opt_str(data, "model", ""),
            messages=[
                _plain_message(SessionMessage, m) or SessionMessage.from_dict(m, f"messages[{i}].")
                for i, m in enumerate(messages)
            ],
            tool_history=[
                ToolInvocation.from_dict(t, f"tool_history[{i}].") for i, t in enumerate(tools)
            ],
            total_prompt_tokens=opt_int(data, "total_prompt_tokens", ""),
            total_completion_tokens=opt_int(data, "total_completion_tokens", ""),
            tags=str_list(data, "tags", ""),
            metadata=opt_object(data, "metadata", ""),
            journal_seq=opt_int(data, "journal_seq", ""),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Session:
        """Parse JSON text, raising ``SessionCorruptedError`` when it is not a session."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise SessionCorruptedError(f"not valid JSON ({exc})") from None
        return cls.from_dict(data)


@dataclass(slots=True)
class SessionSummary:
    """What the index knows about a session: enough to list it without opening its file.

    The first nine fields are the spec's index entry. ``active_at`` is the time of the last
    message (what "recent" means: renaming a session does not make it recent); ``damaged``
    says why the session's files cannot be read, when they cannot.
    """

    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    message_count: int = 0
    total_tokens: int = 0
    tags: list[str] = field(default_factory=list)
    working_dir: str = ""
    model: str | None = None
    active_at: datetime | None = None
    damaged: str | None = None
    pinned: bool = False
    archived_at: datetime | None = None
    forked_from: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    size_bytes: int = 0
    conflicts: list[str] = field(default_factory=list)

    @property
    def last_active(self) -> datetime:
        """When the session was last used: its last message, else its creation."""
        return self.active_at or self.updated_at

    def to_dict(self) -> dict[str, Any]:
        """The spec's index entry (the id is the key around it, and repeated here), plus
        what listings add: activity time, damage, pin, archive and fork parent."""
        return {
            "id": self.id,
            "title": self.title,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
            "message_count": self.message_count,
            "total_tokens": self.total_tokens,
            "tags": list(self.tags),
            "working_dir": self.working_dir,
            "model": self.model,
            "active_at": None if self.active_at is None else format_timestamp(self.active_at),
            "damaged": self.damaged,
            "pinned": self.pinned,
            "archived_at": None if self.archived_at is None else format_timestamp(self.archived_at),
            "forked_from": self.forked_from,
            "conflicts": list(self.conflicts),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], session_id: str | None = None) -> SessionSummary:
        """Build a summary; ``session_id`` supplies the id when the dict is keyed by it."""
        data = as_object(data, "summary")
        sid = session_id if session_id is not None else req_str(data, "id", "")
        created_at = timestamp(data, "created_at", "")
        archived = data.get("archived_at")
        return cls(
            id=sid,
            title=str_or(data, "title", "", ""),
            created_at=created_at,
            updated_at=timestamp(data, "updated_at", "", default=created_at),
            message_count=opt_int(data, "message_count", ""),
            total_tokens=opt_int(data, "total_tokens", "", maximum=2 * MAX_COUNT),
            tags=str_list(data, "tags", ""),
            working_dir=str_or(data, "working_dir", "", ""),
            model=opt_str(data, "model", ""),
            active_at=timestamp(data, "active_at", "") if data.get("active_at") else None,
            damaged=opt_str(data, "damaged", ""),
            pinned=opt_bool(data, "pinned", "", False),
            archived_at=None if archived is None else timestamp(data, "archived_at", ""),
            forked_from=opt_str(data, "forked_from", ""),
            conflicts=str_list(data, "conflicts", ""),
        )
