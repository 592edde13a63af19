"""Errors raised by the sessions library.

``SessionNotFoundError`` and ``SessionCorruptedError`` are kinds of ``SessionStorageError`` so
the spec's ``except`` ladder (not found, corrupted, then storage) reads naturally.
"""

from __future__ import annotations

from opencode.errors import OpencodeError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from pathlib import Path

    from opencode.sessions.models import SessionSummary


class SessionError(OpencodeError):
    """Base class for every error of the sessions library."""


class SessionStorageError(SessionError):
    """Reading or writing session data failed (disk full, permission denied, ...)."""


class SessionNotFoundError(SessionStorageError):
    """No session with that id exists in this storage folder."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"session not found: {session_id}")
        self.session_id = session_id


class SessionCorruptedError(SessionStorageError):
    """A session file exists but cannot be understood."""

    def __init__(self, problem: str, path: Path | None = None) -> None:
        message = f"{path}: {problem}" if path is not None else problem
        super().__init__(message)
        self.problem = problem
        self.path = path


class SessionVersionError(SessionCorruptedError):
    """A file was written by a newer opencode; we refuse to read or overwrite it."""


class InvalidSessionIdError(SessionStorageError, ValueError):
    """An id that could escape the storage folder or is otherwise unsafe as a file name."""


class SessionLockedError(SessionStorageError):
    """Another process is writing this session (one writer per session)."""

    def __init__(self, session_id: str, pid: int | None) -> None:
        owner = f" (pid {pid})" if pid is not None else ""
        super().__init__(f"session {session_id} is open in another process{owner}")
        self.session_id = session_id
        self.pid = pid


class SessionExistsError(SessionStorageError):
    """A session with that id is already here (restoring or importing under a taken id)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"a session with id {session_id} already exists")
        self.session_id = session_id


class SessionNotDamagedError(SessionStorageError):
    """A recovery was asked for a session that still loads: its backup is older."""

    def __init__(self, session_id: str) -> None:
        super().__init__(
            f"session {session_id} is not damaged; restoring its backup would lose its newest "
            "changes"
        )
        self.session_id = session_id


class InvalidSessionValueError(SessionError, ValueError):
    """A title, tag or other value the user supplied cannot be stored as given."""


class InvalidSearchQueryError(InvalidSessionValueError):
    """A search query FTS5 cannot parse (an unclosed quote, a lone ``OR``, ...)."""


class AmbiguousSessionIdError(SessionError):
    """An id prefix or title that matches more than one session."""

    def __init__(self, text: str, candidates: list[SessionSummary]) -> None:
        super().__init__(f"{text!r} matches {len(candidates)} sessions; use more of the id")
        self.text = text
        self.candidates = candidates
