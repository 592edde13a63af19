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
) -> str:
    """Add ``tags`` to a session (or remove them); returns ``Tags of <id>: a, b``."""
    if remove:
        session = manager.update_session(session_id, remove_tags=tags)
    else:
        session = manager.update_session(session_id, add_tags=tags)
    shown = printable(", ".join(session.tags)) or "(none)"
    return f"Tags of {short_id(session.id)}: {shown}"
