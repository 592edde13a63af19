"""Durable, fast session storage for opencode: the API the spec shows.

``from opencode.sessions import SessionManager`` is all most programs need. Names load on
first use, so a listing that needs only the index never imports the manager.
"""

from __future__ import annotations

from opencode.lazy import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from opencode.sessions.errors import (
        AmbiguousSessionIdError,
        InvalidSessionIdError,
        InvalidSessionValueError,
        SessionCorruptedError,
        SessionError,
        SessionExistsError,
        SessionLockedError,
        SessionNotDamagedError,
        SessionNotFoundError,
        SessionStorageError,
        SessionVersionError,
    )
    from opencode.sessions.index import SessionIndex
    from opencode.sessions.manager import SessionManager
    from opencode.sessions.models import Session, SessionMessage, SessionSummary, ToolInvocation
    from opencode.sessions.storage import SessionStorage

_WHERE = {
    "AmbiguousSessionIdError": "errors",
    "InvalidSessionIdError": "errors",
    "InvalidSessionValueError": "errors",
    "SessionCorruptedError": "errors",
    "SessionError": "errors",
    "SessionExistsError": "errors",
    "SessionLockedError": "errors",
    "SessionNotDamagedError": "errors",
    "SessionNotFoundError": "errors",
    "SessionStorageError": "errors",
    "SessionVersionError": "errors",
    "SessionIndex": "index",
    "SessionManager": "manager",
    "Session": "models",
    "SessionMessage": "models",
    "SessionSummary": "models",
    "ToolInvocation": "models",
    "SessionStorage": "storage",
}

__all__ = [
    "AmbiguousSessionIdError",
    "InvalidSessionIdError",
    "InvalidSessionValueError",
    "Session",
    "SessionCorruptedError",
    "SessionError",
    "SessionExistsError",
    "SessionIndex",
    "SessionLockedError",
    "SessionManager",
    "SessionMessage",
    "SessionNotDamagedError",
    "SessionNotFoundError",
    "SessionStorage",
    "SessionStorageError",
    "SessionSummary",
    "SessionVersionError",
    "ToolInvocation",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
