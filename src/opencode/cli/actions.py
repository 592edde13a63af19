"""Changes that ``opencode session ...`` and the REPL's ``/session ...`` both make, done once.

Each returns the line to show, so the two front ends cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from opencode.cli.console import printable
from opencode.cli.render import short_id

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
