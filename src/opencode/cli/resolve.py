"""Turn what a user typed (full id, id prefix or exact title) into one session id.

The library decides (``opencode.sessions.lookup``); this accepts a manager or an index so
commands and the chat loop can pass what they hold.
"""

from __future__ import annotations

from opencode.sessions import SessionIndex, SessionManager
from opencode.sessions.lookup import resolve_session_id as _resolve


def resolve_session_id(
    index_or_manager: SessionIndex | SessionManager, text: str, *, refresh: bool = False
) -> str:
    """The id ``text`` names; see ``opencode.sessions.lookup.resolve_session_id``."""
    if isinstance(index_or_manager, SessionManager):
        index = index_or_manager.index
    else:
        index = index_or_manager
    return _resolve(index, text, refresh=refresh)
