"""A message's own metadata: written only when set, validated on load, never sent to a model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opencode.sessions import (
    InvalidSessionValueError,
    Session,
    SessionCorruptedError,
    SessionManager,
    SessionMessage,
    SessionStorage,
)

PARTIAL = {"incomplete": "interrupted", "reasoning": "first, think"}


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def test_metadata_round_trips_and_is_absent_when_unset() -> None:
    plain = SessionMessage(role="user", content="hi")
    marked = SessionMessage(role="assistant", content="Hel", metadata=dict(PARTIAL))

    assert "metadata" not in plain.to_dict()
    assert marked.to_dict()["metadata"] == PARTIAL
    assert SessionMessage.from_dict(plain.to_dict()).metadata is None
    assert SessionMessage.from_dict(marked.to_dict()).metadata == PARTIAL
    empty = SessionMessage(role="assistant", metadata={})
    assert SessionMessage.from_dict(empty.to_dict()).metadata == {}


@pytest.mark.parametrize("value", ["text", 3, ["a"], True])
def test_metadata_that_is_not_an_object_is_corrupted(value: object) -> None:
    data = SessionMessage(role="assistant", content="x").to_dict()
    data["metadata"] = value
    with pytest.raises(SessionCorruptedError, match="metadata"):
        SessionMessage.from_dict(data, "messages[0].")


def test_null_metadata_loads_as_unset() -> None:
    data = SessionMessage(role="assistant", content="x").to_dict()
    data["metadata"] = None
    assert SessionMessage.from_dict(data).metadata is None


def test_metadata_nested_too_deeply_is_refused_both_ways() -> None:
    with pytest.raises(InvalidSessionValueError, match="metadata"):
        SessionMessage(role="assistant", metadata=nested(200)).to_dict()
    data = SessionMessage(role="assistant").to_dict()
    data["metadata"] = nested(200)
    with pytest.raises(SessionCorruptedError, match="metadata"):
        SessionMessage.from_dict(data)


def test_chat_messages_never_carry_metadata() -> None:
    session = Session()
    session.add_message(SessionMessage(role="user", content="q"))
    session.add_message(SessionMessage(role="assistant", content="a", metadata=dict(PARTIAL)))

    assert session.chat_messages() == [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a"},
    ]


def test_add_message_keeps_metadata_through_the_journal_and_the_snapshot() -> None:
    manager = SessionManager(fire_shell_hooks=False)
    session = manager.create(working_dir="/proj")
    manager.add_message("user", "q")
    stored = manager.add_message("assistant", "Hel", metadata=dict(PARTIAL))
    assert stored.metadata == PARTIAL

    # Another process reads the journal before any snapshot...
    assert SessionStorage().load(session.id).messages[-1].metadata == PARTIAL
    manager.close()
    # ...and the snapshot after it.
    reloaded = SessionStorage().load(session.id)
    assert [m.metadata for m in reloaded.messages] == [None, PARTIAL]
    assert json.loads(reloaded.to_json())["messages"][1]["metadata"] == PARTIAL


def test_add_message_refuses_metadata_it_cannot_store() -> None:
    manager = SessionManager(fire_shell_hooks=False)
    session = manager.create(working_dir="/proj")
    manager.add_message("user", "q")
    with pytest.raises(InvalidSessionValueError):
        manager.add_message("assistant", "a", metadata=nested(200))
    assert manager.current_session is not None
    assert [m.content for m in manager.current_session.messages] == ["q"]
    manager.close()
    assert SessionStorage().load(session.id).message_count == 1
