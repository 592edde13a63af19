"""Hook definitions: validation, every pattern form, and the hooks.json entry shape."""

from __future__ import annotations

import pytest

from opencode.errors import OpencodeError
from opencode.hooks import EventType, Hook, HookEvent, InvalidHookError


def _event(event_type: EventType, tool: str | None = None) -> HookEvent:
    return HookEvent(type=event_type, session_id="s", working_dir="/", tool_name=tool)


@pytest.mark.parametrize(
    ("pattern", "event_type", "tool", "expected"),
    [
        # exact
        ("session:start", EventType.SESSION_START, None, True),
        ("session:start", EventType.SESSION_END, None, False),
        ("session:start", EventType.TOOL_PRE_EXECUTE, "bash", False),
        # glob
        ("session:*", EventType.SESSION_MESSAGE, None, True),
        ("session:*", EventType.SESSION_SAVE, None, True),
        ("session:*", EventType.TOOL_ERROR, "bash", False),
        ("tool:*", EventType.TOOL_ERROR, "bash", True),
        ("*", EventType.USER_PROMPT_SUBMIT, None, True),
        ("*", EventType.TOOL_PRE_EXECUTE, "bash", True),
        ("session:st*", EventType.SESSION_START, None, True),
        ("session:st*", EventType.SESSION_SAVE, None, False),
        # comma-separated lists, with or without spaces
        ("session:start,session:end", EventType.SESSION_END, None, True),
        ("session:start, session:end", EventType.SESSION_START, None, True),
        ("session:start,session:end", EventType.SESSION_MESSAGE, None, False),
        ("user:*,tool:error", EventType.TOOL_ERROR, "x", True),
        # tool suffix
        ("tool:pre_execute:bash", EventType.TOOL_PRE_EXECUTE, "bash", True),
        ("tool:pre_execute:bash", EventType.TOOL_PRE_EXECUTE, "read_file", False),
        ("tool:pre_execute:bash", EventType.TOOL_POST_EXECUTE, "bash", False),
        ("tool:pre_execute:bash", EventType.TOOL_PRE_EXECUTE, None, False),
        ("tool:*:bash", EventType.TOOL_ERROR, "bash", True),
        ("tool:post_execute:git_*", EventType.TOOL_POST_EXECUTE, "git_commit", True),
        ("tool:post_execute:git_*", EventType.TOOL_POST_EXECUTE, "bash", False),
        ("session:start,tool:pre_execute:bash", EventType.TOOL_PRE_EXECUTE, "bash", True),
        ("session:start,tool:pre_execute:bash", EventType.TOOL_PRE_EXECUTE, "edit", False),
        ("tool:pre_execute:mcp:srv:run", EventType.TOOL_PRE_EXECUTE, "mcp:srv:run", True),
        # case-sensitive
        ("SESSION:START", EventType.SESSION_START, None, False),
    ],
)
def test_matches(pattern: str, event_type: EventType, tool: str | None, expected: bool) -> None:
    assert Hook(event_pattern=pattern, command="true").matches(_event(event_type, tool)) is expected


def test_defaults() -> None:
    hook = Hook(event_pattern="session:start", command="true")
    assert hook.timeout == 10.0
    assert hook.working_dir is None
    assert hook.env is None
    assert hook.enabled is True
    assert hook.description == ""


@pytest.mark.parametrize(
    "kwargs",
    [
        {"event_pattern": "", "command": "true"},
        {"event_pattern": "  ", "command": "true"},
        {"event_pattern": "session:start,", "command": "true"},
        {"event_pattern": "session:start", "command": ""},
        {"event_pattern": "session:start", "command": "a\x00b"},
        {"event_pattern": "session:start", "command": "true", "timeout": 0},
        {"event_pattern": "session:start", "command": "true", "timeout": -1},
        {"event_pattern": "session:start", "command": "true", "timeout": float("nan")},
        {"event_pattern": "session:start", "command": "true", "timeout": "5"},
        {"event_pattern": "session:start", "command": "true", "timeout": True},
        {"event_pattern": "session:start", "command": "true", "env": {"A": 1}},
        {"event_pattern": "session:start", "command": "true", "env": {"A=B": "x"}},
        {"event_pattern": "session:start", "command": "true", "enabled": "yes"},
        {"event_pattern": 3, "command": "true"},
    ],
)
def test_invalid_hooks_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidHookError) as info:
        Hook(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, OpencodeError)


def test_dict_round_trip() -> None:
    hook = Hook(
        event_pattern="tool:pre_execute:bash",
        command="echo hi",
        timeout=2.5,
        working_dir="/srv",
        env={"A": "1"},
        enabled=False,
        description="say hi",
    )
    entry = hook.to_dict()
    assert entry == {
        "event": "tool:pre_execute:bash",
        "command": "echo hi",
        "timeout": 2.5,
        "enabled": False,
        "description": "say hi",
        "working_dir": "/srv",
        "env": {"A": "1"},
    }
    assert Hook.from_dict(entry) == hook
    minimal = Hook(event_pattern="session:end", command="true")
    assert Hook.from_dict(minimal.to_dict()) == minimal


def test_from_dict_accepts_the_config_format_and_integer_timeout() -> None:
    hook = Hook.from_dict({"event": "session:start", "command": "x", "timeout": 5})
    assert hook.event_pattern == "session:start"
    assert hook.timeout == 5.0


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("not an object", "object"),
        ({"command": "x"}, '"event"'),
        ({"event": "session:start"}, '"command"'),
        ({"event": "session:start", "command": "x", "timeout": "slow"}, "timeout"),
    ],
)
def test_from_dict_says_what_is_wrong(entry: object, reason: str) -> None:
    with pytest.raises(InvalidHookError, match=reason):
        Hook.from_dict(entry)


def test_label_names_description_else_command() -> None:
    assert Hook(event_pattern="*", command="true", description="notify").label == "notify"
    assert Hook(event_pattern="*", command="echo  a\n b").label == "echo a b"
    assert len(Hook(event_pattern="*", command="x" * 500).label) == 80
