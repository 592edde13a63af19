"""Slash commands typed at the interactive prompt: ``/session ...``, ``/help``, ``/quit``.

They act through the same ``SessionManager`` calls as the ``opencode session`` subcommands and
are never recorded as messages. Their output is data, so it goes to stdout; errors are reported
on stderr by ``errors.report``, exactly as the subcommands report them, and the loop goes on.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TextIO

from opencode.cli.console import console_for, printable
from opencode.cli.errors import CommandError, report
from opencode.cli.render import title_of
from opencode.errors import OpencodeError
from opencode.sessions import Session, SessionManager

# A command is "/" then a word; "/usr/bin is slow" is a message, not an unknown command.
_COMMAND: Final = re.compile(r"/[A-Za-z][\w-]*")
LIST_LIMIT: Final = 10
RECENT_EXCHANGES: Final = 3
_PREVIEW_CHARS: Final = 300
_PREVIEW_LINES: Final = 4

HELP_TEXT: Final = """\
Commands:
  /session                 show the current session
  /session list            list recent sessions
  /session new             start a new session in this folder
  /session resume [ID]     switch to a session (id prefix or exact title; default: the latest)
  /session title TEXT      rename the current session
  /session tag NAME...     tag the current session
  /fork                    continue in a copy of this session (the original stays as it is)
  /rewind [N]              go back N of your turns (in a fork; nothing is lost)
  /edit [TEXT]             write a message in $EDITOR (also Ctrl-X Ctrl-E)
  /help                    show this help
  /quit                    save and exit (also /exit, Ctrl-D)
Anything else is sent to the model. For several lines, paste them, press Alt-Enter
(or Esc then Enter) for a newline, or end a line with \\ to continue it.
Ctrl-C cancels an answer; Ctrl-C twice exits."""

NO_SESSION: Final = "no session is open"
NO_SESSION_HINT: Final = "start one with '/session new' or switch with '/session resume'"

COMMAND_NAMES: Final = ("/session", "/fork", "/rewind", "/edit", "/help", "/quit", "/exit")
REWIND_CHOICES: Final = 10
SESSION_SUBCOMMANDS: Final = ("list", "new", "resume", "title", "tag")


class SlashAction(enum.Enum):
    """What the loop does after a slash command."""

    CONTINUE = "continue"
    SWITCHED = "switched"  # another session is now current
    SEND = "send"  # send ``SlashContext.message`` as the user's message
    QUIT = "quit"


@dataclass
class SlashContext:
    """What a slash command needs: the manager, where to write, and the model in use."""

    manager: SessionManager
    out: TextIO
    err: TextIO
    model: str | None = None
    interactive: bool = True
    message: str | None = None


def is_slash_command(line: str) -> bool:
    """True when ``line`` is a command (``/word ...``) rather than a message for the model."""
    first = line.strip().split(maxsplit=1)
    return bool(first) and _COMMAND.fullmatch(first[0]) is not None


def handle_slash(line: str, ctx: SlashContext) -> SlashAction:
    """Run one slash command; errors are reported as the commands report them, then go on."""
    name, _, rest = line.strip().partition(" ")
    command = _COMMANDS.get(name.lower())
    if command is None:
        print(f"Unknown command: {printable(name)} (try /help)", file=ctx.err)
        return SlashAction.CONTINUE
    try:
        return command(rest.strip(), ctx)
    except OpencodeError as exc:
        report(exc, file=ctx.err)
        return SlashAction.CONTINUE


def _help(args: str, ctx: SlashContext) -> SlashAction:
    print(HELP_TEXT, file=ctx.out)
    return SlashAction.CONTINUE


def _quit(args: str, ctx: SlashContext) -> SlashAction:
    return SlashAction.QUIT


def _session(args: str, ctx: SlashContext) -> SlashAction:
    sub, _, rest = args.partition(" ")
    rest = rest.strip()
    if not sub:
        return _session_info(ctx)
    handler = _SESSION_COMMANDS.get(sub.lower())
    if handler is None:
        print(
            f"Unknown subcommand: /session {printable(sub)} (try {', '.join(SESSION_SUBCOMMANDS)})",
            file=ctx.err,
        )
        return SlashAction.CONTINUE
    return handler(rest, ctx)


def _session_info(ctx: SlashContext) -> SlashAction:
    from opencode.cli.views import print_details

    print_details(console_for(ctx.out), _current(ctx))
    return SlashAction.CONTINUE


def _session_list(args: str, ctx: SlashContext) -> SlashAction:
    from opencode.cli.listing import print_listing
    from opencode.sessions.listing import ListingQuery

    query = ListingQuery(limit=LIST_LIMIT)
    print_listing(query, storage=ctx.manager.storage, wide=True, stdout=ctx.out, stderr=ctx.err)
    return SlashAction.CONTINUE


def _session_new(args: str, ctx: SlashContext) -> SlashAction:
    manager = ctx.manager
    old = manager.current_session
    working_dir = old.working_dir if old is not None and old.working_dir else None
    # create() saves and releases the current session; the new one is written once it has
    # a message, so trying /session new and leaving again leaves nothing behind.
    session = manager.create(working_dir=working_dir, model=ctx.model, draft=True)
    print(f"New session: {session.id}", file=ctx.out)
    return SlashAction.SWITCHED


def _session_resume(args: str, ctx: SlashContext) -> SlashAction:
    manager = ctx.manager
    current = manager.current_session
    if args:
        from opencode.sessions.lookup import resolve_session_id

        session_id = resolve_session_id(manager.index, args, refresh=True)
    else:
        # "The latest" from inside a session means the latest *other* one.
        others = [
            s for s in manager.list_sessions(limit=2) if current is None or s.id != current.id
        ]
        if not others:
            print("No other session to resume", file=ctx.err)
            return SlashAction.CONTINUE
        session_id = others[0].id
    if current is not None and current.id == session_id:
        print(f"Already in session {session_id}", file=ctx.err)
        return SlashAction.CONTINUE
    session = manager.resume(session_id)
    print(f"Resumed: {title_of(session.title)}", file=ctx.out)
    write_resume_summary(session, ctx.err)
    return SlashAction.SWITCHED


def _session_title(args: str, ctx: SlashContext) -> SlashAction:
    if not args:
        print("Usage: /session title <text>", file=ctx.err)
        return SlashAction.CONTINUE
    session = _current(ctx)
    ctx.manager.set_title(args)
    print(f"Title set: {printable(session.title)}", file=ctx.out)
    return SlashAction.CONTINUE


def _session_tag(args: str, ctx: SlashContext) -> SlashAction:
    from opencode.cli.actions import retag

    if not args:
        print("Usage: /session tag <name>...", file=ctx.err)
        return SlashAction.CONTINUE
    for line in retag(ctx.manager, _current(ctx).id, args.split()):
        print(line, file=ctx.out)
    return SlashAction.CONTINUE


_SESSION_COMMANDS: Final[dict[str, Callable[[str, SlashContext], SlashAction]]] = {
    "list": _session_list,
    "new": _session_new,
    "resume": _session_resume,
    "title": _session_title,
    "tag": _session_tag,
}


def _fork(args: str, ctx: SlashContext) -> SlashAction:
    manager = ctx.manager
    source = _current(ctx)
    if manager.is_draft:
        print("Nothing to fork yet: say something first", file=ctx.err)
        return SlashAction.CONTINUE
    fork = manager.fork(source.id, title=args or None)
    manager.resume(fork.id)
    print(
        f"Forked into {fork.id} ({fork.message_count} messages); the original stays in {source.id}",
        file=ctx.out,
    )
    return SlashAction.SWITCHED


def _rewind(args: str, ctx: SlashContext) -> SlashAction:
    session = _current(ctx)
    if not args and ctx.interactive:
        return _list_turns(session, ctx)
    try:
        turns = int(args) if args else 1
    except ValueError:
        print("Usage: /rewind [N]  (N: how many of your turns to go back)", file=ctx.err)
        return SlashAction.CONTINUE
    original = session.id
    fork = ctx.manager.rewind(turns)
    print(
        f"Went back {turns} turn{'s' if turns != 1 else ''} (now {fork.message_count} "
        f"message{'s' if fork.message_count != 1 else ''}, in session {fork.id}); "
        f"the full history stays in session {original}",
        file=ctx.out,
    )
    return SlashAction.SWITCHED


def _list_turns(session: Session, ctx: SlashContext) -> SlashAction:
    """The recent user turns, numbered as ``/rewind N`` counts them."""
    turns = [m for m in session.messages if m.role == "user"][-REWIND_CHOICES:]
    if not turns:
        print("No turns to go back to", file=ctx.err)
        return SlashAction.CONTINUE
    print("Go back to before which of your messages? Type /rewind N:", file=ctx.out)
    for number, message in enumerate(reversed(turns), start=1):
        first_line = next(iter(_preview(message.content).splitlines()), "")
        print(f"  {number}  {first_line}", file=ctx.out)
    return SlashAction.CONTINUE


def _edit(args: str, ctx: SlashContext) -> SlashAction:
    from opencode.cli.repl.terminal import edit_in_editor

    if not ctx.interactive:
        print("/edit needs a terminal", file=ctx.err)
        return SlashAction.CONTINUE
    try:
        text = edit_in_editor(args)
    except (OSError, RuntimeError) as exc:
        print(f"Cannot edit the message: {printable(str(exc))}", file=ctx.err)
        return SlashAction.CONTINUE
    if not text.strip():
        print("Nothing to send", file=ctx.err)
        return SlashAction.CONTINUE
    ctx.message = text
    return SlashAction.SEND


_COMMANDS: Final[dict[str, Callable[[str, SlashContext], SlashAction]]] = {
    "/session": _session,
    "/edit": _edit,
    "/fork": _fork,
    "/rewind": _rewind,
    "/help": _help,
    "/quit": _quit,
    "/exit": _quit,
}


# -- shown on resume (also by the loop at start-up) ---------------------------------------------


def write_resume_summary(session: Session, err: TextIO) -> None:
    """``(<title> - <n> messages)`` and the last few exchanges, so the user sees where they were."""
    print(f"({title_of(session.title)} - {session.message_count} messages)", file=err)
    exchanges = recent_exchanges(session)
    if exchanges:
        print("", file=err)
        for role, content in exchanges:
            print(f"{role}: {content}", file=err)


def recent_exchanges(session: Session, count: int = RECENT_EXCHANGES) -> list[tuple[str, str]]:
    """The last ``count`` user turns and the answers after them, shortened for display."""
    shown: list[tuple[str, str]] = []
    turns = 0
    for message in reversed(session.messages):
        if message.role == "user":
            label = "You"
        elif message.role == "assistant" and message.content:
            label = "Assistant"
        else:
            continue  # system prompts, tool traffic, empty tool-call turns
        shown.append((label, _preview(message.content)))
        if message.role == "user":
            turns += 1
            if turns >= count:
                break
    shown.reverse()
    return shown


def _preview(text: str) -> str:
    lines = text.strip("\n").splitlines() or [""]
    cut = len(lines) > _PREVIEW_LINES
    body = "\n".join(lines[:_PREVIEW_LINES])
    if len(body) > _PREVIEW_CHARS:
        body, cut = body[:_PREVIEW_CHARS].rstrip(), True
    return printable(body, multiline=True) + (" ..." if cut else "")


# -- helpers ------------------------------------------------------------------------------------


def _current(ctx: SlashContext) -> Session:
    session = ctx.manager.current_session
    if session is None:
        raise CommandError(NO_SESSION, hint=NO_SESSION_HINT)
    return session
