"""The interactive loop (minimal contract; grows into the full REPL).

``run_repl`` is what ``opencode``, ``opencode --resume`` and ``opencode --continue`` end in.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from opencode import __version__
from opencode.sessions import Session, SessionManager


@dataclass
class ReplOptions:
    """How the loop talks to a model."""

    model: str | None = None
    base_url: str | None = None
    history_tokens: int = 8000


def run_repl(
    manager: SessionManager, session: Session, *, resumed: bool, options: ReplOptions
) -> int:
    """Chat in ``session`` until /quit or end of input; returns the exit code."""
    err = sys.stderr
    print(f"OpenCode v{__version__}", file=err)
    if resumed:
        print(f"Resuming session: {session.id}", file=err)
        print(f"({session.title or '(untitled)'} - {session.message_count} messages)", file=err)
    else:
        print("Starting new session...", file=err)
        print(f"Session: {session.id}", file=err)
    for line in sys.stdin:
        text = line.rstrip("\n")
        if text.strip() == "/quit":
            break
        if text.strip():
            manager.add_message("user", text)
    manager.close()
    print("Session saved. Goodbye!", file=err)
    return 0
