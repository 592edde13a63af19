"""``session fork``, ``archive`` / ``unarchive`` and ``pin`` / ``unpin``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from opencode.cli import console, exit_codes, render
from opencode.cli.console import say
from opencode.cli.errors import report
from opencode.cli.options import SessionIdArg, complete_session_id, open_manager, resolve_session_id
from opencode.errors import OpencodeError

if TYPE_CHECKING:
    from opencode.sessions import Session, SessionManager

IdsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="ID...",
        help="Session ids, unique id prefixes or exact titles.",
        autocompletion=complete_session_id,
    ),
]


def fork_command(
    session_id: SessionIdArg,
    at: Annotated[
        int | None,
        typer.Option(
            "--at", metavar="N", min=0, help="Keep the first N messages.", show_default=False
        ),
    ] = None,
    before_message: Annotated[
        str | None,
        typer.Option(
            "--before-message",
            metavar="MSG_ID",
            help="Keep the messages before this one.",
            show_default=False,
        ),
    ] = None,
    title: Annotated[
        str | None,
        typer.Option("--title", "-t", help="Title of the fork.", show_default=False),
    ] = None,
) -> None:
    """Start a new session from a copy of another up to a point; the original is unchanged."""
    if at is not None and before_message is not None:
        raise typer.BadParameter("use --at or --before-message, not both")
    manager = open_manager()
    source = resolve_session_id(manager, session_id)
    fork = manager.fork(source, at=at, before_message=before_message, title=title)
    sys.stdout.write(f"{fork.id}\n")
    if console.stdout_is_tty():
        short = render.short_id(fork.id)
        say(
            f"Forked {render.short_id(source)} into {short} ({fork.message_count} messages); "
            f"continue it with 'opencode --resume {short}'"
        )


def _apply(
    session_ids: list[str], change: Callable[[SessionManager, str], Session], done: str
) -> None:
    manager = open_manager()
    failed = 0
    for text in session_ids:
        try:
            session = change(manager, resolve_session_id(manager, text))
        except OpencodeError as exc:
            failed += 1
            report(exc)
            continue
        say(f"{done} {render.short_id(session.id)}  {render.title_of(session.title)}")
    if failed:
        raise typer.Exit(exit_codes.ERROR)


def archive_command(session_ids: IdsArg) -> None:
    """Archive sessions: out of listings, completion and resume picks; still searchable."""
    _apply(session_ids, lambda m, sid: m.archive(sid), "Archived")


def unarchive_command(session_ids: IdsArg) -> None:
    """Bring archived sessions back into listings."""
    _apply(session_ids, lambda m, sid: m.unarchive(sid), "Unarchived")


def pin_command(session_ids: IdsArg) -> None:
    """Pin sessions: listed first, never cleaned up."""
    _apply(session_ids, lambda m, sid: m.pin(sid), "Pinned")


def unpin_command(session_ids: IdsArg) -> None:
    """Unpin sessions."""
    _apply(session_ids, lambda m, sid: m.unpin(sid), "Unpinned")


def resolve_command(session_id: SessionIdArg) -> None:
    """Keep both versions of a session a folder-sync tool changed on two machines: yours
    stays, each conflict copy becomes a fork."""
    manager = open_manager()
    sid = resolve_session_id(manager, session_id)
    created = manager.resolve_conflicts(sid)
    if not created:
        say(f"{render.short_id(sid)} has no conflict copies")
        return
    for fork in created:
        sys.stdout.write(f"{fork.id}\n")
        say(
            f"Kept {render.short_id(sid)} as it is; its conflict copy is now session "
            f"{render.short_id(fork.id)} ({fork.message_count} messages)"
        )
    say("The copies were moved to the trash's 'conflicts' folder.")
