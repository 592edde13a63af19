"""The events hooks react to, and how an event is handed to a shell command.

A hook sees an event twice: as ``OPENCODE_*`` environment variables (handy in one-liners) and
as JSON on stdin (complete, for scripts that want every field).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Final

# One environment string may not exceed 128 KiB on Linux; stdin carries the full event.
MAX_ENV_VALUE_CHARS: Final = 16 * 1024
_ENV_KEY_UNSAFE: Final = re.compile(r"[^A-Z0-9_]+")


class EventType(str, Enum):
    """Every lifecycle point a hook can attach to; the value is the pattern users write."""

    SESSION_START = "session:start"
    SESSION_END = "session:end"
    SESSION_MESSAGE = "session:message"
    SESSION_SAVE = "session:save"
    TOOL_PRE_EXECUTE = "tool:pre_execute"
    TOOL_POST_EXECUTE = "tool:post_execute"
    TOOL_ERROR = "tool:error"
    USER_PROMPT_SUBMIT = "user:prompt_submit"

    def __str__(self) -> str:
        return self.value

    @property
    def is_tool_event(self) -> bool:
        """Tool events carry a tool name that patterns like ``tool:pre_execute:bash`` match."""
        return self.value.startswith("tool:")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _current_dir() -> str:
    try:
        return os.getcwd()
    except OSError:  # the folder we were started in has been deleted
        return ""


def _env_safe(value: str) -> str:
    """Environment strings cannot hold NUL bytes and have a size limit."""
    return value.replace("\x00", "")[:MAX_ENV_VALUE_CHARS]


@dataclass(frozen=True)
class HookEvent:
    """Something that happened in a session, as seen by hooks."""

    type: EventType
    timestamp: datetime = field(default_factory=_now)
    session_id: str | None = None
    working_dir: str = field(default_factory=_current_dir)
    tool_name: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Accept the plain string form ("session:start") so callers need not import the enum.
        object.__setattr__(self, "type", EventType(self.type))

    # -- factories -------------------------------------------------------------------------

    @classmethod
    def _make(
        cls,
        event_type: EventType,
        session_id: str | None,
        working_dir: str | None,
        tool_name: str | None,
        data: dict[str, Any],
    ) -> HookEvent:
        return cls(
            type=event_type,
            session_id=session_id,
            working_dir=working_dir if working_dir is not None else _current_dir(),
            tool_name=tool_name,
            data=data,
        )

    @classmethod
    def session_start(
        cls, session_id: str, *, working_dir: str | None = None, **data: Any
    ) -> HookEvent:
        """A session was created or resumed."""
        return cls._make(EventType.SESSION_START, session_id, working_dir, None, data)

    @classmethod
    def session_end(
        cls, session_id: str, *, working_dir: str | None = None, **data: Any
    ) -> HookEvent:
        """A session was closed."""
        return cls._make(EventType.SESSION_END, session_id, working_dir, None, data)

    @classmethod
    def session_message(
        cls, session_id: str, *, working_dir: str | None = None, **data: Any
    ) -> HookEvent:
        """A message was added, e.g. ``HookEvent.session_message(sid, role="user")``."""
        return cls._make(EventType.SESSION_MESSAGE, session_id, working_dir, None, data)

    @classmethod
    def session_save(
        cls, session_id: str, *, working_dir: str | None = None, **data: Any
    ) -> HookEvent:
        """A session was written to disk."""
        return cls._make(EventType.SESSION_SAVE, session_id, working_dir, None, data)

    @classmethod
    def user_prompt_submit(
        cls, session_id: str, *, working_dir: str | None = None, **data: Any
    ) -> HookEvent:
        """The user submitted a prompt, before it reaches the model."""
        return cls._make(EventType.USER_PROMPT_SUBMIT, session_id, working_dir, None, data)

    @classmethod
    def tool_pre_execute(
        cls, session_id: str, tool_name: str, *, working_dir: str | None = None, **data: Any
    ) -> HookEvent:
        """A tool is about to run."""
        return cls._make(EventType.TOOL_PRE_EXECUTE, session_id, working_dir, tool_name, data)

    @classmethod
    def tool_post_execute(
        cls, session_id: str, tool_name: str, *, working_dir: str | None = None, **data: Any
    ) -> HookEvent:
        """A tool finished."""
        return cls._make(EventType.TOOL_POST_EXECUTE, session_id, working_dir, tool_name, data)

    @classmethod
    def tool_error(
        cls, session_id: str, tool_name: str, *, working_dir: str | None = None, **data: Any
    ) -> HookEvent:
        """A tool failed; pass the reason as data, e.g. ``error="..."``."""
        return cls._make(EventType.TOOL_ERROR, session_id, working_dir, tool_name, data)

    # -- serialisation ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON-ready values (the shape hooks read on stdin)."""
        return {
            "event": self.type.value,
            "timestamp": self.timestamp.isoformat(),
            "session_id": self.session_id,
            "working_dir": self.working_dir,
            "tool_name": self.tool_name,
            "data": self.data,
        }

    def to_json(self) -> str:
        """The event as JSON; values JSON cannot express are written with ``str()``."""
        return json.dumps(self.to_dict(), default=str, ensure_ascii=False)

    def to_env(self) -> dict[str, str]:
        """The ``OPENCODE_*`` variables a hook process receives.

        Each data key also appears as ``OPENCODE_DATA_<KEY>`` (strings as-is, other values as
        JSON) so shell one-liners can use them; long values are cut, stdin has them whole.
        """
        env = {
            "OPENCODE_EVENT": self.type.value,
            "OPENCODE_SESSION_ID": self.session_id or "",
            "OPENCODE_WORKING_DIR": self.working_dir,
            "OPENCODE_TIMESTAMP": self.timestamp.isoformat(),
            "OPENCODE_EVENT_DATA": json.dumps(self.data, default=str, ensure_ascii=False),
        }
        if self.tool_name is not None:
            env["OPENCODE_TOOL_NAME"] = self.tool_name
        for key, value in self.data.items():
            name = _ENV_KEY_UNSAFE.sub("_", str(key).upper()).strip("_")
            if not name:
                continue
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            env[f"OPENCODE_DATA_{name}"] = text
        return {key: _env_safe(value) for key, value in env.items()}
