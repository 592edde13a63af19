"""Session ids: generated as UUID4, validated before any path is built from them."""

from __future__ import annotations

import re

from opencode.sessions.errors import InvalidSessionIdError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final

SESSION_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# Names the storage folder uses for its own files; an id must never map onto them.
RESERVED_IDS: Final = frozenset({"index"})


def new_session_id() -> str:
    """A fresh, globally unique session id."""
    import uuid

    return str(uuid.uuid4())


def is_valid_session_id(session_id: object) -> bool:
    """True when ``session_id`` is safe to use as a file name in the storage folder."""
    return (
        isinstance(session_id, str)
        and SESSION_ID_PATTERN.fullmatch(session_id) is not None
        and ".." not in session_id
        and session_id.lower() not in RESERVED_IDS
    )


def validate_session_id(session_id: object) -> str:
    """Return ``session_id`` unchanged, or raise ``InvalidSessionIdError`` saying why not."""
    if is_valid_session_id(session_id):
        assert isinstance(session_id, str)
        return session_id
    shown = repr(session_id)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise InvalidSessionIdError(
        f"invalid session id {shown}: use letters, digits, '.', '_' or '-' "
        "(at most 128, starting with a letter or digit, no '..')"
    )


# Copies a folder-sync tool made when two machines changed a file at once:
#   Syncthing  <id>.sync-conflict-20240115-103000-ABCDEFG.json
#   Dropbox    <id> (conflicted copy 2024-01-15).json, <id> (Ana's conflicted copy ...).json
#   iCloud     <id> 2.json
_CONFLICT_COPY: Final = re.compile(
    r"(?P<id>[^ ]+?)(?:"
    r"\.sync-conflict-\d{8}-\d{6}-[A-Z0-9]{7}"
    r"| \((?:[^()]*'s )?conflicted copy[^()]*\)"
    r"| \d+"
    r")\.json"
)


def conflict_copy_of(file_name: str) -> str | None:
    """The session id a sync tool's conflict copy belongs to, or None for any other name."""
    found = _CONFLICT_COPY.fullmatch(file_name)
    if found is None or not is_valid_session_id(found.group("id")):
        return None
    return found.group("id")
