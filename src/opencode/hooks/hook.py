"""A hook: a shell command bound to an event pattern.

Pattern forms, all matched case-sensitively:

* exact: ``session:start``
* glob: ``session:*``, ``*`` (``fnmatch`` rules)
* list: ``session:start,session:end`` (any part may match)
* tool suffix: ``tool:pre_execute:bash`` matches only tool events whose tool is ``bash``
  (the suffix may be a glob too: ``tool:*:git_*``)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Final

from opencode.hooks.errors import InvalidHookError
from opencode.hooks.events import EventType, HookEvent

DEFAULT_TIMEOUT: Final = 10.0
_LABEL_CHARS: Final = 80


@functools.lru_cache(maxsize=512)
def parse_pattern(pattern: str) -> tuple[tuple[str, str | None], ...]:
    """Split a pattern into ``(event glob, tool glob or None)`` alternatives.

    Cached because matching runs on every chat message and the patterns rarely change.
    """
    alternatives: list[tuple[str, str | None]] = []
    for raw_part in pattern.split(","):
        part = raw_part.strip()
        if not part:
            raise InvalidHookError(f"event pattern {pattern!r} has an empty alternative")
        pieces = part.split(":", 2)
        if len(pieces) == 3:
            alternatives.append((f"{pieces[0]}:{pieces[1]}", pieces[2]))
        else:
            alternatives.append((part, None))
    return tuple(alternatives)


def _can_match_known_event(type_glob: str, tool_glob: str | None) -> bool:
    # A tool suffix can only match events that carry a tool name.
    return any(
        fnmatchcase(event.value, type_glob) and (tool_glob is None or event.is_tool_event)
        for event in EventType
    )


@functools.lru_cache(maxsize=512)
def unknown_alternatives(pattern: str) -> tuple[str, ...]:
    """The alternatives of ``pattern`` that no event opencode fires can match.

    Usually typos (``session:strat``): the hook loads fine and then silently never runs, so
    loading warns about them. A hook all of whose alternatives are here can never run.
    """
    return tuple(
        type_glob if tool_glob is None else f"{type_glob}:{tool_glob}"
        for type_glob, tool_glob in parse_pattern(pattern)
        if not _can_match_known_event(type_glob, tool_glob)
    )


def _check_env(env: object) -> None:
    if not isinstance(env, dict):
        raise InvalidHookError("env must be an object mapping names to strings")
    for key, value in env.items():
        if not isinstance(key, str) or not key or "=" in key or "\x00" in key:
            raise InvalidHookError(f"env name {key!r} is not a valid variable name")
        if not isinstance(value, str) or "\x00" in value:
            raise InvalidHookError(f"env value for {key} must be a string without NUL bytes")


@dataclass
class Hook:
    """A shell command run when an event matching ``event_pattern`` fires."""

    event_pattern: str
    command: str
    timeout: float = DEFAULT_TIMEOUT
    working_dir: str | None = None
    env: dict[str, str] | None = None
    enabled: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.event_pattern, str) or not self.event_pattern.strip():
            raise InvalidHookError("event pattern must be a non-empty string")
        parse_pattern(self.event_pattern)
        if not isinstance(self.command, str) or not self.command.strip():
            raise InvalidHookError("command must be a non-empty string")
        if "\x00" in self.command:
            raise InvalidHookError("command must not contain NUL bytes")
        if (
            isinstance(self.timeout, bool)
            or not isinstance(self.timeout, (int, float))
            or not math.isfinite(self.timeout)
            or self.timeout <= 0
        ):
            raise InvalidHookError(f"timeout must be a positive number, got {self.timeout!r}")
        self.timeout = float(self.timeout)
        if self.working_dir is not None and not isinstance(self.working_dir, str):
            raise InvalidHookError("working_dir must be a string")
        if self.env is not None:
            _check_env(self.env)
        if not isinstance(self.enabled, bool):
            raise InvalidHookError("enabled must be true or false")
        if not isinstance(self.description, str):
            raise InvalidHookError("description must be a string")

    @property
    def label(self) -> str:
        """How logs name this hook: its description, else its (shortened) command."""
        text = self.description or self.command
        text = " ".join(text.split())
        return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 3] + "..."

    @property
    def matches_known_event(self) -> bool:
        """Whether some event opencode fires can match the pattern (False: it never runs)."""
        pattern = self.event_pattern
        return len(unknown_alternatives(pattern)) < len(parse_pattern(pattern))

    def matches(self, event: HookEvent) -> bool:
        """Whether this hook's pattern selects ``event`` (``enabled`` is not considered)."""
        event_type = event.type.value
        for type_glob, tool_glob in parse_pattern(self.event_pattern):
            if not fnmatchcase(event_type, type_glob):
                continue
            if tool_glob is None:
                return True
            if event.tool_name is not None and fnmatchcase(event.tool_name, tool_glob):
                return True
        return False

    def to_dict(self) -> dict[str, Any]:
        """The hooks.json entry form (``event`` rather than ``event_pattern``)."""
        entry: dict[str, Any] = {
            "event": self.event_pattern,
            "command": self.command,
            "timeout": self.timeout,
            "enabled": self.enabled,
            "description": self.description,
        }
        if self.working_dir is not None:
            entry["working_dir"] = self.working_dir
        if self.env:
            entry["env"] = dict(self.env)
        return entry

    @classmethod
    def from_dict(cls, entry: Any) -> Hook:
        """Build a hook from a hooks.json entry; raises ``InvalidHookError`` saying why not."""
        if not isinstance(entry, dict):
            raise InvalidHookError(f"entry must be an object, got {type(entry).__name__}")
        pattern = entry.get("event", entry.get("event_pattern"))
        if pattern is None:
            raise InvalidHookError('missing "event"')
        if "command" not in entry:
            raise InvalidHookError('missing "command"')
        env = entry.get("env")
        return cls(
            event_pattern=pattern,
            command=entry["command"],
            timeout=entry.get("timeout", DEFAULT_TIMEOUT),
            working_dir=entry.get("working_dir"),
            env=dict(env) if isinstance(env, dict) else env,
            enabled=entry.get("enabled", True),
            description=entry.get("description", ""),
        )
