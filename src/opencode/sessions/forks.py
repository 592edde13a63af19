"""Forking a session: a new session with a copy of the conversation up to a point.

The original is never changed. The fork records where it came from in its metadata
(``forked_from: {session_id, message_id}``), so listings can show it under its parent and a
rewind can say which session still holds the full history.
"""

from __future__ import annotations

import copy

from opencode.sessions.errors import InvalidSessionValueError
from opencode.sessions.models import Session, SessionMessage
from opencode.sessions.validate import MAX_COUNT, utc_now

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, Final

FORKED_FROM: Final = "forked_from"
# Per-message token usage, when the chat loop recorded it (see ``message_usage``).
USAGE_KEY: Final = "usage"


def cut_point(session: Session, *, at: int | None, before_message: str | None) -> int:
    """How many messages of ``session`` a fork keeps.

    ``at=N`` keeps the first N; ``before_message`` keeps those before that message; neither
    keeps them all. ``InvalidSessionValueError`` for a cut that does not exist.
    """
    if at is not None and before_message is not None:
        raise InvalidSessionValueError("give either a message count or a message id, not both")
    count = session.message_count
    if before_message is not None:
        for position, message in enumerate(session.messages):
            if message.id == before_message:
                return position
        raise InvalidSessionValueError(
            f"session {session.id} has no message {before_message[:40]!r}"
        )
    if at is None:
        return count
    if isinstance(at, bool) or not 0 <= at <= count:
        raise InvalidSessionValueError(f"--at must be between 0 and {count}, got {at}")
    return at


def rewind_point(session: Session, turns: int) -> int:
    """How many messages remain after going back ``turns`` user turns: the conversation
    just before the ``turns``-th last user message."""
    if turns < 1:
        raise InvalidSessionValueError(f"rewind needs at least one turn, got {turns}")
    users = [i for i, message in enumerate(session.messages) if message.role == "user"]
    if len(users) < turns:
        raise InvalidSessionValueError(
            f"session {session.id} has {len(users)} user turn(s); cannot go back {turns}"
        )
    return users[-turns]


def fork_of(source: Session, keep: int, *, title: str | None = None) -> Session:
    """A new session holding the first ``keep`` messages of ``source`` (deep copies), the
    tool runs recorded up to the last of them, and the usage they carry."""
    messages = [copy.deepcopy(m) for m in source.messages[:keep]]
    last = messages[-1] if messages else None
    if keep == source.message_count:
        tools = copy.deepcopy(source.tool_history)
    elif last is None:
        tools = []
    else:
        tools = [copy.deepcopy(t) for t in source.tool_history if t.timestamp <= last.timestamp]
    if keep == source.message_count:
        prompt, completion = source.total_prompt_tokens, source.total_completion_tokens
    else:
        prompt, completion = _usage_of(messages)
    metadata = copy.deepcopy(source.metadata)
    for key in ("pinned", "archived_at", "imported_from"):
        metadata.pop(key, None)
    metadata[FORKED_FROM] = {
        "session_id": source.id,
        "message_id": last.id if last is not None else None,
    }
    now = utc_now()
    return Session(
        title=title if title is not None else _fork_title(source.title),
        working_dir=source.working_dir,
        model=source.model,
        created_at=now,
        updated_at=now,
        messages=messages,
        tool_history=tools,
        total_prompt_tokens=prompt,
        total_completion_tokens=completion,
        tags=list(source.tags),
        metadata=metadata,
    )


def common_message(first: Session, second: Session) -> str | None:
    """The id of the last message two versions of a session share from their start."""
    last = None
    for mine, theirs in zip(first.messages, second.messages, strict=False):
        if mine.id != theirs.id:
            break
        last = mine.id
    return last


def parent_of(session: Session) -> tuple[str, str | None] | None:
    """``(parent session id, message id)`` when ``session`` is a fork."""
    found = session.metadata.get(FORKED_FROM)
    if not isinstance(found, dict) or not isinstance(found.get("session_id"), str):
        return None
    message = found.get("message_id")
    return found["session_id"], message if isinstance(message, str) else None


def _usage_of(messages: list[SessionMessage]) -> tuple[int, int]:
    prompt = completion = 0
    for message in messages:
        usage = _message_usage(message)
        prompt += usage.get("prompt_tokens", 0)
        completion += usage.get("completion_tokens", 0)
    return min(prompt, MAX_COUNT), min(completion, MAX_COUNT)


def _message_usage(message: SessionMessage) -> dict[str, int]:
    metadata: Any = getattr(message, "metadata", None)
    usage = metadata.get(USAGE_KEY) if isinstance(metadata, dict) else None
    if not isinstance(usage, dict):
        return {}
    return {
        key: value
        for key, value in usage.items()
        if key in ("prompt_tokens", "completion_tokens")
        and isinstance(value, int)
        and not isinstance(value, bool)
        and value >= 0
    }


def _fork_title(title: str) -> str:
    from opencode.sessions.titles import MAX_TITLE

    base = title or "untitled"
    suffix = " (fork)"
    return (base[: MAX_TITLE - len(suffix)] + suffix).strip()
