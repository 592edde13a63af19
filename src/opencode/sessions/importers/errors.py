"""What can go wrong while importing a conversation from a file, stdin or another tool."""

from __future__ import annotations

from opencode.sessions.errors import SessionError


class SessionImportError(SessionError):
    """Base class of the import errors: nothing was written when one is raised."""

    def __init__(self, problem: str, label: str | None = None) -> None:
        super().__init__(f"{label}: {problem}" if label else problem)
        self.problem = problem
        self.label = label


class ImportSourceError(SessionImportError):
    """The input cannot be read: a folder, a FIFO, an empty stdin, a file too large."""


class ImportFormatError(SessionImportError):
    """The input is not a conversation in the format asked for (or in any format we know)."""


class NothingToImportError(ImportFormatError):
    """The input is in a known format but holds no conversation (no messages)."""
