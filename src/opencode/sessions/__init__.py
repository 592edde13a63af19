"""Durable, fast session storage for opencode: the API the spec shows.

``from opencode.sessions import SessionManager`` is all most programs need.
"""

from opencode.sessions.errors import (
    AmbiguousSessionIdError,
    InvalidSessionIdError,
    InvalidSessionValueError,
    SessionCorruptedError,
    SessionError,
    SessionLockedError,
    SessionNotFoundError,
    SessionStorageError,
    SessionVersionError,
)
from opencode.sessions.index import SessionIndex
from opencode.sessions.manager import SessionManager
from opencode.sessions.models import Session, SessionMessage, SessionSummary, ToolInvocation
from opencode.sessions.storage import SessionStorage

__all__ = [
    "AmbiguousSessionIdError",
    "InvalidSessionIdError",
    "InvalidSessionValueError",
    "Session",
    "SessionCorruptedError",
    "SessionError",
    "SessionIndex",
    "SessionLockedError",
    "SessionManager",
    "SessionMessage",
    "SessionNotFoundError",
    "SessionStorage",
    "SessionStorageError",
    "SessionSummary",
    "SessionVersionError",
    "ToolInvocation",
]
