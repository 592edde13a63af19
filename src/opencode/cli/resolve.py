"""Turn what a user typed (full id, id prefix or exact title) into one session id.

Shared by every command that takes an ID and by the REPL's ``/session resume <prefix>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from opencode.cli.errors import CommandError
from opencode.sessions import (
    AmbiguousSessionIdError,
    SessionIndex,
    SessionManager,
    SessionNotFoundError,
    SessionSummary,
)
from opencode.sessions.ids import is_valid_session_id, validate_session_id

if TYPE_CHECKING:
    from collections.abc import Iterable

# Error messages quote what the user typed; a pasted paragraph is cut to this many characters.
ECHO_LIMIT: Final = 60


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to ``limit`` characters (``...`` marks the cut) for quoting in a message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _by_recency(summaries: Iterable[SessionSummary]) -> list[SessionSummary]:
    return sorted(summaries, key=lambda s: (s.updated_at, s.id), reverse=True)


def resolve_session_id(
    index_or_manager: SessionIndex | SessionManager, text: str, *, refresh: bool = False
) -> str:
    """The id ``text`` names: an exact id, else a unique id prefix, else a unique title.

    Titles match exactly but ignore case. Raises ``AmbiguousSessionIdError`` (candidates most
    recent first) when a prefix or title fits several sessions, ``SessionNotFoundError`` when
    nothing fits, ``InvalidSessionIdError`` for text that cannot be an id or a title, and
    ``CommandError`` for blank text. Messages quote at most ``ECHO_LIMIT`` characters of it.
    ``refresh`` re-reads the index first (for long-lived processes such as the REPL).
    """
    if isinstance(index_or_manager, SessionManager):
        index = index_or_manager.index
    else:
        index = index_or_manager
    storage = index.storage
    wanted = text.strip()
    if not wanted:
        raise CommandError("no session id given", hint="run 'opencode session list' to see them")
    if is_valid_session_id(wanted) and storage.exists(wanted):
        return wanted  # a full id needs no index at all
    if refresh:
        index.refresh()
    if wanted in index:
        return wanted
    if is_valid_session_id(wanted):
        matches = [sid for sid in index.ids() if sid.startswith(wanted)]
        if len(matches) > 1:
            raise AmbiguousSessionIdError(
                shorten(wanted),
                _by_recency(s for sid in matches if (s := index.get(sid)) is not None),
            )
        if matches:
            return matches[0]
    folded = wanted.casefold()
    titled = [s for sid in index.ids() if (s := index.get(sid)) and s.title.casefold() == folded]
    if len(titled) > 1:
        raise AmbiguousSessionIdError(shorten(wanted), _by_recency(titled))
    if titled:
        return titled[0].id
    if is_valid_session_id(wanted):
        # Sessions the index skipped (an unreadable file) can still be named by id prefix, so
        # that ``show`` reports what is wrong with the file and ``delete`` can remove it.
        on_disk = [sid for sid in storage.list_session_ids() if sid.startswith(wanted)]
        if len(on_disk) == 1:
            return on_disk[0]
    elif "/" in wanted or "\\" in wanted or wanted in (".", ".."):
        validate_session_id(wanted)  # looks like a path: say what an id looks like instead
    raise SessionNotFoundError(shorten(wanted))
