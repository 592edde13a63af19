"""The data model: the spec's file format (section 11), round trips, timestamps, helpers."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions import (
    Session,
    SessionCorruptedError,
    SessionMessage,
    SessionStorage,
    SessionSummary,
    SessionVersionError,
    ToolInvocation,
)
from opencode.sessions.validate import format_timestamp, parse_timestamp

SPEC_EXAMPLES = Path(__file__).parents[1] / "integration" / "spec_examples"
SPEC_ID = "550e8400-e29b-41d4-a716-446655440000"
UTC = timezone.utc


def spec_session_text() -> str:
    return (SPEC_EXAMPLES / "section11_session.json").read_text(encoding="utf-8")


def spec_index_bytes() -> bytes:
    return (SPEC_EXAMPLES / "section11_index.json").read_bytes()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def full_session() -> Session:
    """A session with every field set to something other than its default."""
    created = datetime(2024, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
    return Session(
        id="full-session",
        title="Everything set",
        working_dir="/srv/project",
        model="openai/gpt-4o",
        created_at=created,
        updated_at=created + timedelta(minutes=3),
        messages=[
            SessionMessage(role="system", content="be brief", id="m1", timestamp=created),
            SessionMessage(
                role="assistant",
                content="",
                id="m2",
                timestamp=created + timedelta(seconds=1),
                tool_calls=[{"id": "c1", "type": "function", "function": {"name": "ls"}}],
            ),
            SessionMessage(
                role="tool",
                content="a.py",
                id="m3",
                timestamp=created + timedelta(seconds=2),
                tool_call_id="c1",
                name="ls",
            ),
        ],
        tool_history=[
            ToolInvocation(
                tool_name="ls",
                arguments={"path": "."},
                result=["a.py", {"nested": [1, 2.5, None, True]}],
                id="t1",
                timestamp=created + timedelta(seconds=2),
                duration=0.25,
                success=False,
                error="boom",
            )
        ],
        total_prompt_tokens=10,
        total_completion_tokens=32,
        tags=["x", "y"],
        metadata={"git_branch": "main", "n": 3, "deep": {"list": [1, "two"]}},
        journal_seq=7,
    )


# -- the spec's example files -----------------------------------------------------------------


def test_spec_example_session_loads_via_from_json() -> None:
    session = Session.from_json(spec_session_text())
    assert session.id == SPEC_ID
    assert session.title == "Refactoring the API client"
    assert session.created_at == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert session.updated_at == datetime(2024, 1, 15, 11, 45, tzinfo=UTC)
    assert session.working_dir == "/home/user/project"
    assert session.model == "anthropic/claude-3-opus"
    assert [m.id for m in session.messages] == ["msg_001", "msg_002", "msg_003", "msg_004"]
    assert [m.role for m in session.messages] == ["system", "user", "assistant", "tool"]
    assert session.messages[0].content == "You are a helpful coding assistant."
    assert session.messages[1].timestamp == datetime(2024, 1, 15, 10, 30, 5, tzinfo=UTC)
    assert session.messages[2].tool_calls == [
        {
            "id": "call_abc123",
            "type": "function",
            "function": {
                "name": "read",
                "arguments": '{"file_path": "/home/user/project/api.py"}',
            },
        }
    ]
    assert session.messages[0].tool_calls is None
    assert (session.messages[3].tool_call_id, session.messages[3].name) == ("call_abc123", "read")
    assert session.messages[3].content == "class APIClient:\n    ..."
    (tool,) = session.tool_history
    assert tool.id == "tool_001"
    assert tool.tool_name == "read"
    assert tool.arguments == {"file_path": "/home/user/project/api.py"}
    assert tool.result == {"success": True, "content": "..."}
    assert tool.timestamp == datetime(2024, 1, 15, 10, 30, 11, tzinfo=UTC)
    assert (tool.duration, tool.success, tool.error) == (0.05, True, None)
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (1500, 800)
    assert session.total_tokens == 2300
    assert session.message_count == 4
    assert session.tags == ["refactoring", "api"]
    assert session.metadata == {"git_branch": "feature/api-refactor"}


def test_spec_example_session_loads_from_a_storage_file(data_dir: Path) -> None:
    storage = SessionStorage()
    storage.ensure_dir()
    path = storage.storage_dir / f"{SPEC_ID}.json"
    path.write_text(spec_session_text(), encoding="utf-8")
    assert storage.get_path(SPEC_ID) == path
    assert storage.list_session_ids() == [SPEC_ID]
    assert storage.load(SPEC_ID) == Session.from_json(spec_session_text())


def test_spec_example_session_is_written_back_field_for_field() -> None:
    spec = json.loads(spec_session_text())
    written = Session.from_json(spec_session_text()).to_dict()
    # The file format adds exactly two fields: a format version and the journal position.
    assert written == {**spec, "version": 1, "journal_seq": 0}
    assert list(written)[:7] == [
        "version",
        "id",
        "title",
        "created_at",
        "updated_at",
        "working_dir",
        "model",
    ]


def test_spec_example_session_survives_a_save_unchanged() -> None:
    storage = SessionStorage()
    storage.save(Session.from_json(spec_session_text()))
    on_disk = json.loads(storage.get_path(SPEC_ID).read_text(encoding="utf-8"))
    assert on_disk == {**json.loads(spec_session_text()), "version": 1, "journal_seq": 0}


def test_spec_index_entry_reads_as_a_summary() -> None:
    spec_sessions = json.loads(spec_index_bytes())["sessions"]
    assert list(spec_sessions) == [SPEC_ID]
    summary = SessionSummary.from_dict(spec_sessions[SPEC_ID], SPEC_ID)
    assert summary == SessionSummary(
        id=SPEC_ID,
        title="Refactoring the API client",
        created_at=datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
        updated_at=datetime(2024, 1, 15, 11, 45, tzinfo=UTC),
        message_count=15,
        total_tokens=2300,
        tags=["refactoring", "api"],
        working_dir="/home/user/project",
        model="anthropic/claude-3-opus",
    )
    spec_entry = json.loads(spec_index_bytes())["sessions"][SPEC_ID]
    # listings keep every key of the spec's entry, with the same values, and add their own
    assert {key: summary.to_dict()[key] for key in spec_entry} == spec_entry


def test_summary_of_the_spec_session_matches_the_spec_index_entry_fields() -> None:
    summary = Session.from_json(spec_session_text()).summary()
    spec_entry = json.loads(spec_index_bytes())["sessions"][SPEC_ID]
    assert set(summary.to_dict()) >= {"id", *spec_entry}
    assert (summary.message_count, summary.total_tokens) == (4, 2300)
    assert summary.tags == ["refactoring", "api"]


# -- defaults ---------------------------------------------------------------------------------


def test_session_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = datetime.now(UTC)
    session = Session()
    assert uuid.UUID(session.id).version == 4
    assert session.title == ""
    assert session.working_dir == os.getcwd()
    assert session.model is None
    assert session.messages == [] and session.tool_history == []
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (0, 0)
    assert session.tags == [] and session.metadata == {}
    assert session.journal_seq == 0
    for stamp in (session.created_at, session.updated_at):
        assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
        assert before <= stamp <= datetime.now(UTC)


def test_each_session_gets_its_own_id_and_containers() -> None:
    first, second = Session(), Session()
    first.tags.append("a")
    first.metadata["k"] = 1
    assert first.id != second.id
    assert second.tags == [] and second.metadata == {}


def test_message_and_tool_defaults() -> None:
    message = SessionMessage(role="user")
    assert message.content == ""
    assert message.id.startswith("msg_") and len(message.id) > len("msg_")
    assert message.timestamp.utcoffset() == timedelta(0)
    assert (message.tool_calls, message.tool_call_id, message.name) == (None, None, None)
    tool = ToolInvocation(tool_name="bash")
    assert tool.id.startswith("tool_")
    assert (tool.arguments, tool.result, tool.duration, tool.success, tool.error) == (
        {},
        None,
        0.0,
        True,
        None,
    )
    assert SessionMessage(role="user").id != message.id


# -- round trips ------------------------------------------------------------------------------


def test_session_round_trips_through_dict_and_json() -> None:
    session = full_session()
    assert Session.from_dict(session.to_dict()) == session
    assert Session.from_json(session.to_json()) == session
    assert Session.from_json(session.to_json(indent=None)) == session
    assert Session.from_json(session.to_json().encode("utf-8")) == session


def test_to_json_is_readable_utf8_with_indent() -> None:
    session = Session(title="Grüße, 日本")
    text = session.to_json()
    assert "Grüße, 日本" in text  # not \u-escaped
    assert text.startswith('{\n  "version": 1,')
    assert "\n" not in session.to_json(indent=None)


@pytest.mark.parametrize(
    "message",
    [
        SessionMessage(role="user", content="hi", id="m"),
        SessionMessage(
            role="assistant",
            content="",
            tool_calls=[{"id": "c", "type": "function", "function": {"name": "f"}}],
        ),
        SessionMessage(role="tool", content="out", tool_call_id="c", name="f"),
    ],
)
def test_message_round_trip(message: SessionMessage) -> None:
    data = message.to_dict()
    assert SessionMessage.from_dict(data) == message
    assert SessionMessage.from_dict(json.loads(json.dumps(data))) == message


def test_message_dict_omits_unset_optional_fields() -> None:
    plain = SessionMessage(role="user", content="x", id="m1").to_dict()
    assert set(plain) == {"id", "role", "content", "timestamp"}
    full = SessionMessage(
        role="tool", content="x", id="m2", tool_calls=[], tool_call_id="c", name="n"
    ).to_dict()
    assert set(full) == {"id", "role", "content", "tool_calls", "tool_call_id", "name", "timestamp"}
    assert full["tool_calls"] == []


def test_tool_invocation_round_trip() -> None:
    tool = full_session().tool_history[0]
    data = tool.to_dict()
    assert set(data) == {
        "id",
        "tool_name",
        "arguments",
        "result",
        "timestamp",
        "duration",
        "success",
        "error",
    }
    assert ToolInvocation.from_dict(data) == tool
    assert ToolInvocation.from_dict(json.loads(json.dumps(data))) == tool


SPEC_ENTRY_KEYS = (
    "title",
    "created_at",
    "updated_at",
    "message_count",
    "total_tokens",
    "tags",
    "working_dir",
    "model",
)


def test_summary_round_trip() -> None:
    session = full_session()
    summary = session.summary()
    assert summary == SessionSummary(
        id="full-session",
        title="Everything set",
        created_at=session.created_at,
        updated_at=session.updated_at,
        message_count=3,
        total_tokens=42,
        tags=["x", "y"],
        working_dir="/srv/project",
        model="openai/gpt-4o",
        active_at=session.messages[-1].timestamp,  # the last message, not the last edit
        prompt_tokens=10,
        completion_tokens=32,
    )
    data = summary.to_dict()
    assert set(SPEC_ENTRY_KEYS) | {"id"} <= set(data)
    assert data["active_at"] == "2024-03-01T09:00:02.123456+00:00"
    # the spec's index entry survives a round trip, with or without the id inside it
    spec_part = {key: data[key] for key in SPEC_ENTRY_KEYS}
    assert {k: SessionSummary.from_dict(data).to_dict()[k] for k in SPEC_ENTRY_KEYS} == spec_part
    keyed = json.loads(json.dumps(data))
    del keyed["id"]
    again = SessionSummary.from_dict(keyed, "full-session")
    assert again.id == "full-session"
    assert {k: again.to_dict()[k] for k in SPEC_ENTRY_KEYS} == spec_part


def test_summary_dict_round_trip_keeps_what_listings_add() -> None:
    summary = replace(
        full_session().summary(),
        damaged="not valid JSON",
        pinned=True,
        archived_at=datetime(2024, 4, 1, tzinfo=UTC),
        forked_from="parent-session",
    )
    data = json.loads(json.dumps(summary.to_dict()))
    assert SessionSummary.from_dict(data).to_dict() == summary.to_dict()


def test_summary_tags_are_a_copy() -> None:
    session = full_session()
    summary = session.summary()
    session.tags.append("later")
    assert summary.tags == ["x", "y"]


# -- timestamps -------------------------------------------------------------------------------


def test_timestamps_are_written_iso8601_utc() -> None:
    session = full_session()
    data = session.to_dict()
    assert data["created_at"] == "2024-03-01T09:00:00.123456+00:00"
    assert data["messages"][0]["timestamp"] == "2024-03-01T09:00:00.123456+00:00"
    assert data["tool_history"][0]["timestamp"] == "2024-03-01T09:00:02.123456+00:00"


def test_naive_and_offset_timestamps_are_written_as_utc() -> None:
    naive = datetime(2024, 1, 15, 10, 30)
    paris = datetime(2024, 1, 15, 11, 30, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(naive) == "2024-01-15T10:30:00+00:00"
    assert format_timestamp(paris) == "2024-01-15T10:30:00+00:00"
    session = Session(created_at=paris, updated_at=naive)
    data = session.to_dict()
    assert data["created_at"] == data["updated_at"] == "2024-01-15T10:30:00+00:00"


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-15T10:30:00+00:00",
        "2024-01-15T10:30:00Z",
        "2024-01-15T10:30:00z",
        "2024-01-15T10:30:00",
        "2024-01-15T12:30:00+02:00",
    ],
)
def test_parsed_timestamps_are_aware_utc(text: str) -> None:
    parsed = parse_timestamp(text)
    assert parsed == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)


def test_loaded_session_timestamps_are_aware_utc() -> None:
    data = full_session().to_dict()
    data["created_at"] = "2024-01-15T12:30:00+02:00"
    data["updated_at"] = "2024-01-15T10:30:00Z"
    data["messages"][0]["timestamp"] = "2024-01-15T10:30:00"
    session = Session.from_dict(data)
    for stamp in (session.created_at, session.updated_at, session.messages[0].timestamp):
        assert stamp == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
        assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)


# -- helpers on Session -----------------------------------------------------------------------


def test_add_message_appends_returns_and_touches() -> None:
    session = Session(created_at=datetime(2024, 1, 1, tzinfo=UTC))
    session.updated_at = session.created_at
    message = SessionMessage(role="user", content="hi", timestamp=datetime(2024, 2, 1, tzinfo=UTC))
    assert session.add_message(message) is message
    assert session.messages == [message]
    assert session.updated_at == message.timestamp
    assert session.message_count == 1


def test_add_message_from_dict_passes_optional_fields() -> None:
    session = Session()
    calls = [{"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}}]
    first = session.add_message_from_dict("assistant", "reading", tool_calls=calls)
    second = session.add_message_from_dict("tool", "data", tool_call_id="c1", name="read")
    third = session.add_message_from_dict("user")
    assert session.messages == [first, second, third]
    assert (first.role, first.content, first.tool_calls) == ("assistant", "reading", calls)
    assert (second.tool_call_id, second.name) == ("c1", "read")
    assert (third.role, third.content) == ("user", "")
    assert session.message_count == 3


def test_add_tool_invocation_and_record_tool_call() -> None:
    session = Session()
    invocation = ToolInvocation(tool_name="bash", arguments={"command": "ls"}, duration=0.05)
    assert session.add_tool_invocation(invocation) is invocation
    arguments = {"file_path": "a.py"}
    recorded = session.record_tool_call(
        "read", arguments, result={"content": "..."}, duration=1.5, success=False, error="denied"
    )
    arguments["file_path"] = "changed"  # the record keeps its own copy
    assert session.tool_history == [invocation, recorded]
    assert recorded.arguments == {"file_path": "a.py"}
    assert (recorded.tool_name, recorded.result, recorded.duration) == (
        "read",
        {"content": "..."},
        1.5,
    )
    assert (recorded.success, recorded.error) == (False, "denied")
    assert session.updated_at == recorded.timestamp
    assert session.record_tool_call("noop").arguments == {}


def test_update_usage_accumulates_and_touches() -> None:
    session = Session()
    session.updated_at = datetime(2000, 1, 1, tzinfo=UTC)
    session.update_usage(prompt_tokens=1500, completion_tokens=800)
    session.update_usage(prompt_tokens=5)
    session.update_usage(completion_tokens=7)
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (1505, 807)
    assert session.total_tokens == 2312
    assert session.updated_at > datetime(2000, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3", None])
def test_update_usage_rejects_non_counts(bad: Any) -> None:
    session = Session()
    with pytest.raises(ValueError, match="prompt_tokens"):
        session.update_usage(prompt_tokens=bad)
    with pytest.raises(ValueError, match="completion_tokens"):
        session.update_usage(completion_tokens=bad)
    assert session.total_tokens == 0


def test_touch_sets_updated_at() -> None:
    session = Session()
    when = datetime(2030, 5, 5, tzinfo=UTC)
    session.touch(when)
    assert session.updated_at == when
    session.touch()
    assert session.updated_at < when


# -- reading malformed data -------------------------------------------------------------------


def _valid() -> dict[str, Any]:
    return full_session().to_dict()


def test_minimal_session_dict_fills_defaults() -> None:
    session = Session.from_dict({"id": "abc", "created_at": "2024-01-15T10:30:00+00:00"})
    assert session.updated_at == session.created_at
    assert (session.title, session.working_dir, session.model) == ("", "", None)
    assert session.messages == [] and session.tool_history == []
    assert session.tags == [] and session.metadata == {}
    assert session.total_tokens == 0 and session.journal_seq == 0


def test_nulls_in_optional_fields_read_as_defaults() -> None:
    data = _valid()
    for key in ("title", "working_dir", "model", "tags", "metadata", "tool_history"):
        data[key] = None
    data["total_prompt_tokens"] = None
    session = Session.from_dict(data)
    assert (session.title, session.working_dir, session.model) == ("", "", None)
    assert session.tags == [] and session.metadata == {} and session.tool_history == []
    assert session.total_prompt_tokens == 0


def test_missing_message_and_tool_ids_are_generated() -> None:
    data = _valid()
    del data["messages"][0]["id"]
    data["tool_history"][0]["id"] = ""
    data["messages"][1].pop("timestamp")
    session = Session.from_dict(data)
    assert session.messages[0].id.startswith("msg_")
    assert session.tool_history[0].id.startswith("tool_")
    assert session.messages[1].timestamp.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("id"), "id"),
        (lambda d: d.update(id=5), "id"),
        (lambda d: d.update(id="../escape"), "id"),
        (lambda d: d.update(id="index"), "id"),
        (lambda d: d.pop("created_at"), "created_at"),
        (lambda d: d.update(created_at="yesterday"), "created_at"),
        (lambda d: d.update(created_at=1705314600), "created_at"),
        (lambda d: d.update(title=["a"]), "title"),
        (lambda d: d.update(model=3), "model"),
        (lambda d: d.update(messages={"a": 1}), "messages"),
        (lambda d: d.update(messages=None), "messages"),
        (lambda d: d["messages"].append("text"), "messages[3]"),
        (lambda d: d["messages"][0].pop("role"), "messages[0].role"),
        (lambda d: d["messages"][0].update(content=None), None),
        (lambda d: d["messages"][0].update(content=1), "messages[0].content"),
        (lambda d: d["messages"][1].update(tool_calls={"id": 1}), "messages[1].tool_calls"),
        (lambda d: d["messages"][1].update(tool_calls=[1]), "messages[1].tool_calls[0]"),
        (lambda d: d["messages"][2].update(name=1), "messages[2].name"),
        (lambda d: d["tool_history"][0].pop("tool_name"), "tool_history[0].tool_name"),
        (lambda d: d["tool_history"][0].update(arguments=[]), "tool_history[0].arguments"),
        (lambda d: d["tool_history"][0].update(duration="1"), "tool_history[0].duration"),
        (lambda d: d["tool_history"][0].update(duration=True), "tool_history[0].duration"),
        (lambda d: d["tool_history"][0].update(success="yes"), "tool_history[0].success"),
        (lambda d: d["tool_history"][0].update(timestamp=0), "tool_history[0].timestamp"),
        (lambda d: d.update(tool_history="x"), "tool_history"),
        (lambda d: d.update(total_prompt_tokens=-1), "total_prompt_tokens"),
        (lambda d: d.update(total_prompt_tokens=1.5), "total_prompt_tokens"),
        (lambda d: d.update(total_completion_tokens=False), "total_completion_tokens"),
        (lambda d: d.update(tags="a,b"), "tags"),
        (lambda d: d.update(tags=["a", 2]), "tags[1]"),
        (lambda d: d.update(metadata=[]), "metadata"),
        (lambda d: d.update(journal_seq="1"), "journal_seq"),
        (lambda d: d.update(version="1"), "version"),
    ],
)
def test_malformed_fields_raise_corrupted_naming_the_field(change: Any, field: str | None) -> None:
    data = _valid()
    change(data)
    if field is None:  # a null content reads as empty text
        assert Session.from_dict(data).messages[0].content == ""
        return
    with pytest.raises(SessionCorruptedError) as caught:
        Session.from_dict(data)
    assert field in str(caught.value)


@pytest.mark.parametrize("value", [None, [], "session", 3])
def test_non_object_session_is_corrupted(value: Any) -> None:
    with pytest.raises(SessionCorruptedError, match="expected an object"):
        Session.from_dict(value)


def test_newer_format_version_is_refused() -> None:
    data = _valid()
    data["version"] = 2
    with pytest.raises(SessionVersionError, match="newer"):
        Session.from_dict(data)
    data["version"] = 1
    assert Session.from_dict(data).id == "full-session"


@pytest.mark.parametrize("text", ["", "{", "not json", "[1, 2", b"\xff\xfe\x00"])
def test_from_json_rejects_non_json(text: str | bytes) -> None:
    with pytest.raises(SessionCorruptedError):
        Session.from_json(text)


def test_from_json_rejects_deeply_nested_json_as_corrupted() -> None:
    depth = 100_000
    with pytest.raises(SessionCorruptedError):
        Session.from_json("[" * depth + "]" * depth)


def test_from_json_rejects_a_duration_too_large_for_a_float() -> None:
    data = _valid()
    text = json.dumps(data).replace('"duration": 0.25', '"duration": 1' + "0" * 400)
    with pytest.raises(SessionCorruptedError):
        Session.from_json(text)


@pytest.mark.parametrize(
    "stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00+05:00"]
)
def test_timestamps_out_of_range_in_utc_are_corrupted(stamp: str) -> None:
    data = _valid()
    data["created_at"] = stamp
    with pytest.raises(SessionCorruptedError, match="created_at"):
        Session.from_dict(data)


def test_summary_from_dict_validates() -> None:
    with pytest.raises(SessionCorruptedError, match="id"):
        SessionSummary.from_dict({"title": "x", "created_at": "2024-01-15T10:30:00+00:00"})
    with pytest.raises(SessionCorruptedError, match="message_count"):
        SessionSummary.from_dict(
            {"created_at": "2024-01-15T10:30:00+00:00", "message_count": "3"}, "sid"
        )
    minimal = SessionSummary.from_dict({"created_at": "2024-01-15T10:30:00+00:00"}, "sid")
    assert (minimal.id, minimal.title, minimal.updated_at) == ("sid", "", minimal.created_at)


def _deep(levels: int) -> object:
    value: object = "leaf"
    for _ in range(levels):
        value = {"k": value}
    return value


def test_messages_with_tool_calls_load_whatever_path_reads_them() -> None:
    """The quick path for the common shapes and the general checks give the same messages,
    and nothing the general checks refuse gets through the quick path."""
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    deeper = {"id": "c2", "type": "function", "function": {"name": "g", "extra": _deep(5)}}
    base = {
        "id": "m1",
        "role": "assistant",
        "content": "",
        "timestamp": "2024-01-15T10:30:00+00:00",
    }
    for calls in ([call], [call, deeper], []):
        message = SessionMessage.from_dict({**base, "tool_calls": calls})
        assert message.tool_calls == calls
        assert message.timestamp == datetime(2024, 1, 15, 10, 30, tzinfo=timezone.utc)
    for bad in ({"not": "a list"}, ["not an object"], [{"function": _deep(70)}]):
        with pytest.raises(SessionCorruptedError):
            SessionMessage.from_dict({**base, "tool_calls": bad})


def test_message_timestamps_in_other_forms_become_utc() -> None:
    expected = datetime(2024, 1, 15, 10, 30, tzinfo=timezone.utc)
    for stamp in ("2024-01-15T10:30:00Z", "2024-01-15T10:30:00", "2024-01-15T12:30:00+02:00"):
        message = SessionMessage.from_dict({"id": "m", "role": "user", "timestamp": stamp})
        assert message.timestamp == expected and message.timestamp.tzinfo == timezone.utc
