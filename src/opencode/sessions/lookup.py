"""Which session a user means: a full id, a unique id prefix, or an exact title.

Every command that takes an ID and the chat loop's ``/session resume`` go through
``resolve_session_id``, so they all accept and refuse the same things.
"""

from __future__ import annotations

from opencode.sessions.errors import (
    AmbiguousSessionIdError,
    InvalidSessionValueError,
    SessionNotFoundError,
)
from opencode.sessions.ids import is_valid_session_id, validate_session_id

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final

    from opencode.sessions.index import SessionIndex
    from opencode.sessions.models import SessionSummary
    from opencode.sessions.trash import Trash

# Error messages quote what the user typed; a pasted paragraph is cut to this many characters.
ECHO_LIMIT: Final = 60


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to ``limit`` characters (``...`` marks the cut) for quoting in a message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def resolve_session_id(index: SessionIndex, text: str, *, refresh: bool = False) -> str:
    """The id ``text`` names: an exact id, else a unique id prefix, else a unique title.

    Titles match exactly but ignore case. Ids with leftover files only (a crash mid-delete)
    can be named too, so that ``delete`` can remove them. Raises ``AmbiguousSessionIdError``
    (candidates most recent first) when a prefix or title fits several sessions,
    ``SessionNotFoundError`` when nothing fits, ``InvalidSessionIdError`` for text that looks
    like a path, and ``InvalidSessionValueError`` for blank text. ``refresh`` looks at the
    folder again first (for long-lived processes such as the chat loop).
    """
    wanted = text.strip()
    if not wanted:
        error = InvalidSessionValueError("no session id given")
        error.hint = "run 'opencode session list' to see them"
        raise error
    storage = index.storage
    if is_valid_session_id(wanted) and storage.has_files(wanted):
        return wanted  # a full id needs no index at all
    if refresh:
        index.refresh()
    if is_valid_session_id(wanted):
        found = _unique_prefix(index, wanted)
        if found is not None:
            return found
    titled = index.with_title(wanted)
    if len(titled) > 1:
        raise AmbiguousSessionIdError(shorten(wanted), titled)
    if titled:
        return titled[0].id
    if is_valid_session_id(wanted):
        leftovers = [sid for sid in index.orphans() if sid.startswith(wanted)]
        if len(leftovers) == 1:
            return leftovers[0]
    elif "/" in wanted or "\\" in wanted or wanted in (".", ".."):
        validate_session_id(wanted)  # looks like a path: say what an id looks like instead
    raise SessionNotFoundError(shorten(wanted))


def _unique_prefix(index: SessionIndex, prefix: str) -> str | None:
    matches = index.ids_starting_with(prefix)
    if len(matches) > 1:
        summaries = [s for sid in matches if (s := index.get(sid)) is not None]
        raise AmbiguousSessionIdError(shorten(prefix), _by_recency(summaries))
    return matches[0] if matches else None


def _by_recency(summaries: list[SessionSummary]) -> list[SessionSummary]:
    return sorted(summaries, key=lambda s: (s.last_active, s.id), reverse=True)


def resolve_trashed_id(trash: Trash, text: str) -> str:
    """The id of a trashed session ``text`` names: a full id or a unique id prefix."""
    wanted = text.strip()
    if not wanted:
        raise InvalidSessionValueError("no session id given")
    validate_session_id(wanted)
    ids = [entry.id for entry in trash.entries()]
    if wanted in ids:
        return wanted
    matches = [sid for sid in ids if sid.startswith(wanted)]
    if len(matches) > 1:
        raise AmbiguousSessionIdError(shorten(wanted), [])
    if not matches:
        raise SessionNotFoundError(f"{shorten(wanted)} (in the trash)")
    return matches[0]
