"""``opencode session ...``: create, list, show, resume, retitle, tag, delete, clean up, export.

Each command parses its arguments, calls the sessions library once or twice and renders the
result; errors travel up to the root group, which prints them (see ``errors.py``).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, ClassVar

import typer

from opencode.cli import render
from opencode.cli.console import out, say
from opencode.cli.errors import CommandError
from opencode.cli.groups import Command, LazyGroup
from opencode.cli.options import (
    ID_HELP,
    JsonFlag,
    SessionIdArg,
    complete_session_id,
    open_manager,
    resolve_session_id,
)


class SessionGroup(LazyGroup):
    """``opencode session``: the commands below, and these from modules of their own."""

    lazy: ClassVar[dict[str, tuple[str, str]]] = {
        "search": ("opencode.cli.search", "search_command"),
        "import": ("opencode.cli.importing", "import_command"),
        "stats": ("opencode.cli.stats", "stats_command"),
        "share": ("opencode.cli.share", "share_command"),
        "delete": ("opencode.cli.cleanup", "delete_command"),
        "cleanup": ("opencode.cli.cleanup", "cleanup_command"),
        "trash": ("opencode.cli.cleanup", "trash_app"),
        "fork": ("opencode.cli.lifecycle", "fork_command"),
        "archive": ("opencode.cli.lifecycle", "archive_command"),
        "unarchive": ("opencode.cli.lifecycle", "unarchive_command"),
        "pin": ("opencode.cli.lifecycle", "pin_command"),
        "unpin": ("opencode.cli.lifecycle", "unpin_command"),
        "resolve": ("opencode.cli.lifecycle", "resolve_command"),
    }


app = typer.Typer(
    name="session",
    cls=SessionGroup,
    help="Create, list, inspect, resume, tag, export and clean up sessions.",
    no_args_is_help=True,
)


# -- shared helpers ---------------------------------------------------------------------------


# -- parameter types --------------------------------------------------------------------------


class SortField(str, Enum):
    """What ``session list --sort`` orders by: the library's short sort names.

    ``SessionIndex.list`` maps them to fields (``SORT_ALIASES``); a test checks the two agree.
    """

    updated = "updated"  # the last message: what "recent" means
    changed = "changed"  # any change, a new title or tag included
    created = "created"
    title_ = "title"  # ``title`` would shadow str.title
    messages = "messages"
    tokens = "tokens"


class ExportFormat(str, Enum):
    """What ``session export`` writes."""

    markdown = "markdown"
    json = "json"


# -- commands ---------------------------------------------------------------------------------


@app.command("new", cls=Command)
def new_session(
    title: Annotated[str, typer.Option("--title", "-t", help="Title (default: none yet).")] = "",
    tags: Annotated[
        list[str] | None, typer.Option("--tag", help="Tag to add (repeatable).", show_default=False)
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model to record.", show_default=False)
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Working folder of the session (default: the current one).",
            exists=True,
            file_okay=False,
            resolve_path=True,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a session without starting a chat, and print its id."""
    from opencode.cli.actions import create_session

    create_session(
        title=title,
        tags=tags or (),
        model=model,
        directory=str(directory) if directory is not None else None,
    )


@app.command("list", cls=Command)
def list_sessions(
    ctx: typer.Context,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            min=0,
            help="At most N sessions (0: all; default 20 in the table, all with --json/-q).",
            show_default=False,
        ),
    ] = None,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip the first N.")] = 0,
    tags: Annotated[
        list[str] | None,
        typer.Option(
            "--tag",
            help="Only sessions with this tag (repeatable: all of them).",
            show_default=False,
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search", help="Only titles containing this (any case).", show_default=False
        ),
    ] = None,
    here: Annotated[
        bool,
        typer.Option("--here", help="Only sessions of this project (git root, else this folder)."),
    ] = False,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Only sessions started in this folder.", show_default=False),
    ] = None,
    sort: Annotated[SortField, typer.Option("--sort", help="Order by this field.")] = (
        SortField.updated
    ),
    ascending: Annotated[
        bool | None,
        typer.Option(
            "--asc/--desc",
            help="Oldest / smallest / A-Z first, or the reverse "
            "(default: A-Z for titles, newest and largest first otherwise).",
            show_default=False,
        ),
    ] = None,
    archived: Annotated[bool, typer.Option("--archived", help="Only archived sessions.")] = False,
    everything: Annotated[bool, typer.Option("--all", help="Archived sessions too.")] = False,
    tree: Annotated[bool, typer.Option("--tree", help="Show forks under their parent.")] = False,
    details: Annotated[
        bool, typer.Option("--wide", help="Add size, tokens and model columns.")
    ] = False,
    json_output: JsonFlag = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print ids only.")] = False,
) -> None:
    """List sessions, pinned first, then the most recently used."""
    from opencode.cli.listing import list_command, listing_conflict

    conflict = listing_conflict(
        here=here,
        directory=directory is not None,
        json_output=json_output,
        quiet=quiet,
        archived=archived,
        everything=everything,
    )
    if conflict:
        ctx.fail(conflict)
    list_command(
        limit=limit,
        offset=offset,
        tags=tags or (),
        search=search,
        here=here,
        directory=str(directory) if directory else None,
        sort=sort.value,
        ascending=ascending,
        archived=archived,
        everything=everything,
        tree=tree,
        details=details,
        output="json" if json_output else "ids" if quiet else "table",
    )


@app.command("show", cls=Command)
def show(session_id: SessionIdArg, json_output: JsonFlag = False) -> None:
    """Show a session's details, usage and transcript (tool calls and results included)."""
    manager = open_manager()
    session = manager.storage.load(resolve_session_id(manager, session_id))
    if json_output:
        sys.stdout.write(render.dumps_json(session.to_dict()) + "\n")
    else:
        from opencode.cli.views import print_session

        print_session(out(), session)


@app.command("resume", cls=Command)
def resume(
    ctx: typer.Context,
    session_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]",
            help=f"{ID_HELP} Default: the most recent session.",
            autocompletion=complete_session_id,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Resume a session and chat in it (same as 'opencode --resume [ID]')."""
    from opencode.cli.chat import resume_and_chat

    resume_and_chat(ctx, session_id)


@app.command("title", cls=Command)
def title(
    session_id: SessionIdArg,
    words: Annotated[list[str], typer.Argument(metavar="TITLE...", help="The new title.")],
) -> None:
    """Rename a session."""
    manager = open_manager()
    session = manager.update_session(resolve_session_id(manager, session_id), title=" ".join(words))
    say(f"Renamed {render.short_id(session.id)}: {render.title_of(session.title)}")


@app.command("tag", cls=Command)
def tag(
    session_id: SessionIdArg,
    tags: Annotated[list[str], typer.Argument(metavar="TAG...", help="Tags to add or remove.")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove the tags instead.")] = False,
) -> None:
    """Add tags to a session (or remove them with --remove)."""
    from opencode.cli.actions import retag

    manager = open_manager()
    for line in retag(manager, resolve_session_id(manager, session_id), tags, remove=remove):
        say(line)


@app.command("export", cls=Command)
def export(
    session_id: SessionIdArg,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="Markdown for people, JSON for tools.")
    ] = ExportFormat.markdown,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to this file instead of stdout ('-': stdout).",
            dir_okay=False,
            allow_dash=True,
            show_default=False,
        ),
    ] = None,
    redact: Annotated[
        bool,
        typer.Option(
            "--redact",
            help="Replace credential-shaped values (API keys, tokens, passwords, private "
            "keys) with [REDACTED:<kind>]. A safety net: review before sharing.",
        ),
    ] = False,
) -> None:
    """Export a session as a Markdown transcript or as JSON that Session.from_json loads."""
    manager = open_manager()
    session = manager.storage.load(resolve_session_id(manager, session_id))
    if redact:
        from opencode.sessions.redact import redact_session

        session, count = redact_session(session)
        say(f"Redacted {count} secret-shaped value{'' if count == 1 else 's'}")
    if fmt is ExportFormat.json:
        text = render.dumps_json(session.to_dict()) + "\n"
    else:
        from opencode.cli.markdown import to_markdown

        text = to_markdown(session)
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        return
    from opencode.cli.output_file import write_output_file

    # A file is replaced all or nothing; a FIFO, a device or a link is written into, never
    # replaced (``-o /dev/null`` must not swap the system's /dev/null for a file).
    write_output_file(output, text.encode("utf-8"))
    say(f"Exported {render.short_id(session.id)} to {output}")


@app.command("recover", cls=Command)
def recover(
    session_id: SessionIdArg,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Restore even though the session still loads; its newest changes are lost.",
        ),
    ] = False,
) -> None:
    """Restore a session whose file is damaged from its last good version (.backup)."""
    from opencode.sessions import SessionNotDamagedError

    manager = open_manager()
    sid = resolve_session_id(manager, session_id)
    try:
        session = manager.recover(sid, force=force)
    except SessionNotDamagedError as exc:
        raise CommandError(
            str(exc), hint="re-run with --force to restore the backup anyway"
        ) from None
    count = session.message_count
    messages = f"{count} message{'s' if count != 1 else ''}"
    say(f"Restored {render.short_id(sid)} ({messages}) from its backup")
