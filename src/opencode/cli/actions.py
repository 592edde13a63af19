"""Changes that two front ends make, done once: ``opencode session ...`` and the REPL's
``/session ...``, or a Typer command and the entry point's fast path.

Each returns or prints the lines to show, so the front ends cannot drift apart.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from opencode.cli import console
from opencode.cli.console import printable, say
from opencode.cli.render import short_id

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from opencode.sessions import SessionManager


def retag(
    manager: SessionManager, session_id: str, tags: Sequence[str], *, remove: bool = False
) -> list[str]:
    """Add ``tags`` to a session (or remove them); the lines to show: ``Tags of <id>: a, b``,
    after one naming the tags to remove that the session did not have."""
    if remove:
        before = manager.get_session(session_id)
        had = set(before.tags) if before is not None else set()
        session = manager.update_session(session_id, remove_tags=tags)
        missing = [tag for tag in dict.fromkeys(tags) if tag not in had]
    else:
        session = manager.update_session(session_id, add_tags=tags)
        missing = []
    shown = printable(", ".join(session.tags)) or "(none)"
    lines = [f"Tags of {short_id(session.id)}: {shown}"]
    if missing:
        absent = printable(", ".join(missing))
        lines.insert(0, f"{short_id(session.id)} had no tag {absent}; nothing to remove")
    return lines


def create_session(
    *,
    title: str = "",
    tags: Sequence[str] = (),
    model: str | None = None,
    directory: str | None = None,
) -> None:
    """``opencode session new``: create a session in ``directory`` (default: here) and print
    its id; on a terminal, also how to chat in it."""
    from opencode.cli.resources import open_manager

    manager = open_manager()
    session = manager.create(
        title=title,
        working_dir=directory if directory is not None else os.getcwd(),
        model=model,
        tags=list(tags),
    )
    manager.close()
    sys.stdout.write(f"{session.id}\n")
    if console.stdout_is_tty():
        short = short_id(session.id)
        say(f"Created session {short}; chat in it with 'opencode --resume {short}'")
