"""What several ``opencode`` commands share: the manager, id arguments, confirmation.

Command modules import from here, never from each other, so each stays one concern.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from opencode.cli import console, exit_codes
from opencode.cli.completion import session_id_completions
from opencode.cli.console import say
from opencode.cli.errors import CommandError
from opencode.cli.resources import open_manager

if TYPE_CHECKING:
    from opencode.sessions import SessionManager

__all__ = [
    "ID_HELP",
    "JsonFlag",
    "SessionIdArg",
    "complete_session_id",
    "confirm",
    "open_manager",
    "resolve_session_id",
]


def resolve_session_id(manager: SessionManager, text: str) -> str:
    """The session id ``text`` names (see ``opencode.sessions.lookup``)."""
    from opencode.sessions.lookup import resolve_session_id as resolve

    return resolve(manager.index, text)


def complete_session_id(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Typer's completion hook for ID arguments (the entry point usually answers first)."""
    try:
        data_dir = ctx.find_root().params.get("data_dir")
        items = session_id_completions(incomplete, str(data_dir) if data_dir else None)
        from rich.markup import escape  # Typer renders descriptions as Rich markup

        return [(value, escape(title)) for value, title in items]
    except Exception:  # completion must never print a traceback into the user's shell
        return []


def confirm(question: str, *, yes: bool, what: str) -> None:
    """Go ahead with ``--yes``; ask on a terminal; refuse without either."""
    if yes:
        return
    if not console.stdin_is_tty():
        raise CommandError(
            f"refusing to delete {what} without confirmation",
            hint="re-run with --yes to delete without asking",
        )
    try:
        answer = typer.confirm(question, default=False, err=True)
    except typer.Abort:  # Ctrl-C or end of input at the question
        say("")  # the cursor is still after the question
        raise KeyboardInterrupt from None
    if not answer:
        say("Nothing deleted.")
        raise typer.Exit(exit_codes.ERROR)


ID_HELP = "Session id, unique id prefix, or exact title."
SessionIdArg = Annotated[
    str,
    typer.Argument(
        metavar="ID", help=ID_HELP, autocompletion=complete_session_id, show_default=False
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
