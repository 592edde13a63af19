"""What a command opens and must close: the session manager and its index.

Typer-free, so the entry point's fast paths and the Typer commands open and close the same
way. ``sqlite3.Connection`` sits in a reference cycle, so an index left to the garbage
collector keeps its files open; every command closes what it opened when it ends.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable

    from opencode.sessions import SessionIndex, SessionManager

_closers: list[Callable[[], None]] = []


def close_when_done(close: Callable[[], None]) -> None:
    """Run ``close`` when the command ends (see ``close_all``)."""
    _closers.append(close)


def close_all() -> None:
    """Run the closers, newest first; a failing one is reported and the others still run."""
    from opencode.cli.errors import report
    from opencode.errors import OpencodeError

    while _closers:
        close = _closers.pop()
        try:
            close()
        except (OpencodeError, OSError) as exc:
            report(exc)


def open_manager() -> SessionManager:
    """A manager over ``<data root>/sessions`` (``--data-dir`` has set the root by now),
    closed when the command ends."""
    from opencode.cli.console import progress_bar
    from opencode.sessions import SessionManager, SessionStorage

    manager = SessionManager(storage=SessionStorage())
    manager.index.rebuild_progress = progress_bar("Indexing sessions")
    close_when_done(manager.close)
    return manager


def open_index() -> SessionIndex:
    """The index of ``<data root>/sessions`` alone, for commands that only read it (no
    manager, no hooks engine), closed when the command ends."""
    from opencode.cli.console import progress_bar
    from opencode.sessions import SessionIndex, SessionStorage

    index = SessionIndex(SessionStorage())
    index.rebuild_progress = progress_bar("Indexing sessions")
    close_when_done(index.close)
    return index
