"""Property tests: exact round trips, and nothing but SessionCorruptedError from bad files."""

from __future__ import annotations

import contextlib
import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from opencode.sessions import (
    Session,
    SessionCorruptedError,
    SessionMessage,
    SessionStorage,
    SessionSummary,
    ToolInvocation,
)
from opencode.sessions.ids import SESSION_ID_PATTERN, is_valid_session_id
from opencode.sessions.validate import MAX_COUNT

# -- strategies -------------------------------------------------------------------------------

# JSON numbers orjson reads back exactly (it reads integers beyond 64 bits as floats; a
# separate unit test in test_storage.py covers those).
json_ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
json_floats = st.floats(allow_nan=False, allow_infinity=False)
json_scalars = st.none() | st.booleans() | json_ints | json_floats | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)

offsets = st.sampled_from(
    [timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)
timestamps = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets
)
session_ids = st.from_regex(SESSION_ID_PATTERN, fullmatch=True).filter(is_valid_session_id)
optional_text = st.none() | st.text(max_size=20)
counts = st.integers(min_value=0, max_value=MAX_COUNT)

messages = st.builds(
    SessionMessage,
    role=st.sampled_from(["system", "user", "assistant", "tool"]) | st.text(max_size=10),
    content=st.text(max_size=40),
    id=st.text(min_size=1, max_size=12),  # an empty id is replaced on load
    timestamp=timestamps,
    tool_calls=st.none() | st.lists(json_objects, max_size=3),
    tool_call_id=optional_text,
    name=optional_text,
)
tools = st.builds(
    ToolInvocation,
    tool_name=st.text(max_size=12),
    arguments=json_objects,
    result=json_values,
    id=st.text(min_size=1, max_size=12),
    timestamp=timestamps,
    duration=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    success=st.booleans(),
    error=optional_text,
)
sessions = st.builds(
    Session,
    title=st.text(max_size=40),
    working_dir=st.text(max_size=30),
    model=optional_text,
    id=session_ids,
    created_at=timestamps,
    updated_at=timestamps,
    messages=st.lists(messages, max_size=4),
    tool_history=st.lists(tools, max_size=3),
    total_prompt_tokens=counts,
    total_completion_tokens=counts,
    tags=st.lists(st.text(max_size=10), max_size=4),
    metadata=json_objects,
    journal_seq=counts,
)
summaries = st.builds(
    SessionSummary,
    id=session_ids,
    title=st.text(max_size=30),
    created_at=timestamps,
    updated_at=timestamps,
    message_count=counts,
    total_tokens=counts,
    tags=st.lists(st.text(max_size=10), max_size=4),
    working_dir=st.text(max_size=30),
    model=optional_text,
)
# Summaries as listings give them: with the activity time and what to_dict adds to the spec.
listed_summaries = st.builds(
    SessionSummary,
    id=session_ids,
    title=st.text(max_size=30),
    created_at=timestamps,
    updated_at=timestamps,
    message_count=counts,
    total_tokens=counts,
    tags=st.lists(st.text(max_size=10), max_size=4),
    working_dir=st.text(max_size=30),
    model=optional_text,
    active_at=timestamps,
    damaged=optional_text,
    pinned=st.booleans(),
    archived_at=st.none() | timestamps,
    forked_from=st.none() | session_ids,
    conflicts=st.lists(st.text(max_size=20), max_size=3),
)

# Values that look like what belongs in a session field, or nearly.
timestamp_like = st.one_of(
    timestamps.map(datetime.isoformat),
    st.datetimes(timezones=offsets).map(datetime.isoformat),  # years 1..9999, any offset
    st.sampled_from(
        ["", "Z", "2024-01-15", "2024-13-01T00:00:00", "yesterday", "2024-01-15T25:00"]
    ),
)
field_values = st.one_of(json_values, timestamp_like, st.integers(), st.just(-1))


# -- exact round trips ------------------------------------------------------------------------


@settings(max_examples=150)
@given(sessions)
def test_session_dict_round_trip(session: Session) -> None:
    assert Session.from_dict(session.to_dict()) == session


@settings(max_examples=150)
@given(sessions, st.sampled_from([None, 2]))
def test_session_json_round_trip(session: Session, indent: int | None) -> None:
    text = session.to_json(indent=indent)
    assert Session.from_json(text) == session
    assert Session.from_json(text.encode("utf-8")) == session


@settings(max_examples=100)
@given(sessions)
def test_storage_save_load_round_trip(session: Session) -> None:
    with tempfile.TemporaryDirectory() as folder:
        storage = SessionStorage(Path(folder))
        storage.save(session)
        assert storage.load(session.id) == session
        assert storage.list_session_ids() == [session.id]
        storage.save(session)  # overwriting keeps it exact too
        assert storage.load(session.id) == session


@settings(max_examples=100)
@given(messages)
def test_message_round_trip(message: SessionMessage) -> None:
    assert SessionMessage.from_dict(message.to_dict()) == message
    assert SessionMessage.from_dict(json.loads(json.dumps(message.to_dict()))) == message


@settings(max_examples=100)
@given(tools)
def test_tool_invocation_round_trip(tool: ToolInvocation) -> None:
    assert ToolInvocation.from_dict(tool.to_dict()) == tool
    assert ToolInvocation.from_dict(json.loads(json.dumps(tool.to_dict()))) == tool


@settings(max_examples=100)
@given(summaries)
def test_summary_round_trip(summary: SessionSummary) -> None:
    assert SessionSummary.from_dict(summary.to_dict()) == summary
    entry = json.loads(json.dumps(summary.to_dict()))
    del entry["id"]
    assert SessionSummary.from_dict(entry, summary.id) == summary


@settings(max_examples=100)
@given(listed_summaries)
def test_listed_summary_round_trip(summary: SessionSummary) -> None:
    assert SessionSummary.from_dict(summary.to_dict()) == summary
    entry = json.loads(json.dumps(summary.to_dict()))
    del entry["id"]
    assert SessionSummary.from_dict(entry, summary.id) == summary


@settings(max_examples=100)
@given(sessions)
def test_summary_reflects_the_session(session: Session) -> None:
    summary = session.summary()
    assert (summary.id, summary.title, summary.tags) == (session.id, session.title, session.tags)
    assert summary.message_count == len(session.messages)
    assert summary.total_tokens == session.total_prompt_tokens + session.total_completion_tokens


# -- bad files never raise anything but SessionCorruptedError ---------------------------------


def _load_file(content: bytes, session_id: str = "s1") -> Session | None:
    """Write ``content`` as the file of ``session_id`` and load it.

    Returns the session, or None when loading raised ``SessionCorruptedError``; any other
    exception propagates and fails the test.
    """
    with tempfile.TemporaryDirectory() as folder:
        storage = SessionStorage(Path(folder))
        storage.get_path(session_id).write_bytes(content)
        try:
            return storage.load(session_id)
        except SessionCorruptedError:
            return None


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_load_or_raise_corrupted(content: bytes) -> None:
    _load_file(content)


@settings(max_examples=200)
@given(json_values)
def test_arbitrary_json_loads_or_raises_corrupted(value: Any) -> None:
    loaded = _load_file(json.dumps(value).encode())
    if not isinstance(value, dict):
        assert loaded is None


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a session dict (dict keys and list positions)."""
    found: list[tuple[Any, ...]] = []
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else []
    )
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


@st.composite
def near_sessions(draw: st.DrawFn) -> dict[str, Any]:
    """A valid session dict with one to three fields replaced by random JSON or removed."""
    data = draw(sessions).to_dict()
    data["id"] = "s1"
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(field_values)
    return data


@settings(max_examples=200)
@given(near_sessions())
def test_nearly_valid_sessions_load_or_raise_corrupted(data: dict[str, Any]) -> None:
    text = json.dumps(data)
    loaded = _load_file(text.encode())
    if loaded is not None:
        assert loaded.id == "s1"
        # Whatever loads can be written and read back unchanged.
        with tempfile.TemporaryDirectory() as folder:
            storage = SessionStorage(Path(folder))
            storage.save(loaded)
            assert storage.load("s1") == loaded
    with contextlib.suppress(SessionCorruptedError):
        Session.from_json(text)


TIMESTAMP_PATHS = [
    ("created_at",),
    ("updated_at",),
    ("messages", 0, "timestamp"),
    ("tool_history", 0, "timestamp"),
]


@settings(max_examples=150)
@given(sessions, st.sampled_from(TIMESTAMP_PATHS), timestamp_like)
def test_any_timestamp_text_loads_or_raises_corrupted(
    session: Session, path: tuple[Any, ...], stamp: str
) -> None:
    session.messages.append(SessionMessage(role="user"))
    session.record_tool_call("t")
    data = session.to_dict()
    data["id"] = "s1"
    parent: Any = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = stamp
    loaded = _load_file(json.dumps(data).encode())
    if loaded is not None:
        for when in (loaded.created_at, loaded.updated_at, loaded.messages[0].timestamp):
            assert when.utcoffset() == timedelta(0)
