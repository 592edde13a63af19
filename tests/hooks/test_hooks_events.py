"""Event types, factories, and what a hook process is told about an event."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from opencode.hooks import EventType, HookEvent
from opencode.hooks.events import MAX_ENV_VALUE_CHARS


def test_event_type_values_are_the_documented_names() -> None:
    assert {e.value for e in EventType} == {
        "session:start",
        "session:end",
        "session:message",
        "session:save",
        "tool:pre_execute",
        "tool:post_execute",
        "tool:error",
        "user:prompt_submit",
    }
    assert str(EventType.SESSION_START) == "session:start"
    assert EventType("tool:error") is EventType.TOOL_ERROR


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        (HookEvent.session_start, EventType.SESSION_START),
        (HookEvent.session_end, EventType.SESSION_END),
        (HookEvent.session_message, EventType.SESSION_MESSAGE),
        (HookEvent.session_save, EventType.SESSION_SAVE),
        (HookEvent.user_prompt_submit, EventType.USER_PROMPT_SUBMIT),
    ],
)
def test_session_factories(
    factory: Callable[..., HookEvent], expected: EventType, work_dir: Path
) -> None:
    event = factory("sid-1", role="user")
    assert event.type is expected
    assert event.session_id == "sid-1"
    assert event.data == {"role": "user"}
    assert event.tool_name is None
    assert event.working_dir == os.getcwd() == str(work_dir)
    assert event.timestamp.tzinfo is not None


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        (HookEvent.tool_pre_execute, EventType.TOOL_PRE_EXECUTE),
        (HookEvent.tool_post_execute, EventType.TOOL_POST_EXECUTE),
        (HookEvent.tool_error, EventType.TOOL_ERROR),
    ],
)
def test_tool_factories(factory: Callable[..., HookEvent], expected: EventType) -> None:
    event = factory("sid", "bash", working_dir="/srv", command="ls")
    assert event.type is expected
    assert event.tool_name == "bash"
    assert event.working_dir == "/srv"
    assert event.data == {"command": "ls"}


def test_plain_string_type_is_accepted_and_unknown_rejected() -> None:
    assert HookEvent(type="session:save").type is EventType.SESSION_SAVE  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        HookEvent(type="session:bogus")  # type: ignore[arg-type]


def test_to_json_round_trips_every_field() -> None:
    event = HookEvent.tool_post_execute("s1", "bash", working_dir="/w", exit_code=0, out="é")
    payload = json.loads(event.to_json())
    assert payload == {
        "event": "tool:post_execute",
        "timestamp": event.timestamp.isoformat(),
        "session_id": "s1",
        "working_dir": "/w",
        "tool_name": "bash",
        "data": {"exit_code": 0, "out": "é"},
    }
    assert datetime.fromisoformat(payload["timestamp"]) == event.timestamp


def test_to_json_survives_values_json_cannot_express() -> None:
    event = HookEvent.session_save("s1", path=Path("/tmp/x"))
    assert json.loads(event.to_json())["data"] == {"path": "/tmp/x"}


def test_to_env() -> None:
    event = HookEvent.tool_error("s1", "bash", working_dir="/w", error="boom", attempts=[1, 2])
    env = event.to_env()
    assert env["OPENCODE_EVENT"] == "tool:error"
    assert env["OPENCODE_SESSION_ID"] == "s1"
    assert env["OPENCODE_WORKING_DIR"] == "/w"
    assert env["OPENCODE_TOOL_NAME"] == "bash"
    assert env["OPENCODE_TIMESTAMP"] == event.timestamp.isoformat()
    assert env["OPENCODE_DATA_ERROR"] == "boom"
    assert env["OPENCODE_DATA_ATTEMPTS"] == "[1, 2]"
    assert json.loads(env["OPENCODE_EVENT_DATA"]) == {"error": "boom", "attempts": [1, 2]}
    assert "OPENCODE_TOOL_NAME" not in HookEvent.session_start("s1").to_env()


def test_to_env_values_are_safe_for_exec() -> None:
    event = HookEvent.session_message("s1", content="a\x00b" + "x" * (MAX_ENV_VALUE_CHARS * 2))
    env = event.to_env()
    assert all("\x00" not in value for value in env.values())
    assert env["OPENCODE_DATA_CONTENT"].startswith("abx")
    assert len(env["OPENCODE_DATA_CONTENT"]) == MAX_ENV_VALUE_CHARS
    # stdin still carries the whole value
    assert len(json.loads(event.to_json())["data"]["content"]) == MAX_ENV_VALUE_CHARS * 2 + 3
