"""``opencode session import FILE|-``: bring in a conversation from opencode, Claude Code,
Codex CLI or sst/opencode (``--all``: every session in Claude Code's or Codex's folder).

stdout gets the id of each session imported (or found imported before), or JSON; what
happened is told on stderr.
"""

from __future__ import annotations

import sys
from collections import Counter
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Final

import typer

from opencode.cli import console, render
from opencode.cli.console import say, warning
from opencode.cli.errors import CommandError
from opencode.cli.options import open_manager

if TYPE_CHECKING:
    from opencode.sessions.importers import ImportOutcome, ImportSummary

TOOL_NAMES: Final = {
    "opencode": "opencode",
    "claude": "Claude Code",
    "codex": "Codex CLI",
    "sst": "sst/opencode",
    "share": "shared",
}


class SourceFormat(str, Enum):
    """What ``--from`` accepts: the formats ``opencode.sessions.importers`` reads."""

    opencode = "opencode"
    claude = "claude"
    codex = "codex"
    sst = "sst"


def import_command(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Argument(
            metavar="FILE|-",
            help="The session file to import; '-' reads it from stdin.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        SourceFormat | None,
        typer.Option(
            "--from",
            help="The file's format (default: detected): opencode JSON, a Claude Code or "
            "Codex CLI transcript, or an sst/opencode export.",
            show_default=False,
        ),
    ] = None,
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Import every session in that tool's folder (with --from claude or codex).",
        ),
    ] = False,
    keep_id: Annotated[
        bool,
        typer.Option("--keep-id", help="Keep the source's session id (an error if it is taken)."),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print what was imported as JSON.")
    ] = False,
) -> None:
    """Import sessions from opencode JSON, Claude Code, Codex CLI or sst/opencode.

    Nothing is imported twice: importing the same source again names the session it
    became. A file that fails any check is one error and nothing is written.
    """
    from opencode.sessions import importers

    if everything:
        _check_all(ctx, source, fmt)
        assert fmt is not None
        summary = importers.import_all(open_manager(), fmt.value, keep_id=keep_id)
        _show_summary(summary, json_output=json_output)
        return
    if source is None:
        ctx.fail("give a FILE to import ('-' for stdin), or --all with --from claude|codex")
    if source == "-" and console.stdin_is_tty():
        raise CommandError(
            "'-' reads the session from stdin, but stdin is a terminal",
            hint="pipe it in: opencode session import - < FILE",
        )
    if importers.sources.is_url(source):  # a link from 'session share', or any URL of our JSON
        from opencode.sync.share import import_shared

        _show_outcome(import_shared(open_manager(), source), json_output=json_output)
        return
    outcome = importers.import_source(
        open_manager(),
        source,
        stdin=sys.stdin.buffer,
        fmt=fmt.value if fmt is not None else None,
        keep_id=keep_id,
    )
    _show_outcome(outcome, json_output=json_output)


def _check_all(ctx: typer.Context, source: str | None, fmt: SourceFormat | None) -> None:
    if source is not None:
        ctx.fail("give a FILE or --all, not both")
    if fmt not in (SourceFormat.claude, SourceFormat.codex):
        ctx.fail("--all needs --from claude or --from codex")


def _show_outcome(outcome: ImportOutcome, *, json_output: bool) -> None:
    if json_output:
        sys.stdout.write(render.dumps_json(outcome.to_dict()) + "\n")
    else:
        sys.stdout.write(f"{outcome.session_id}\n")
    tool = TOOL_NAMES.get(outcome.source.tool, outcome.source.tool)
    title = render.title_of(outcome.title)
    if not outcome.imported:
        say(f"Already imported as {outcome.session_id} ({title}); nothing written")
        return
    _warn_skipped(outcome.unknown_records)
    for note in outcome.notes:
        warning(note)
    count = outcome.message_count
    say(
        f"Imported {tool} session as {render.short_id(outcome.session_id)}: {title} "
        f"({count} message{'s' if count != 1 else ''})"
    )


def _show_summary(summary: ImportSummary, *, json_output: bool) -> None:
    if json_output:
        sys.stdout.write(render.dumps_json(summary.to_dict()) + "\n")
    else:
        sys.stdout.write("".join(f"{o.session_id}\n" for o in summary.imported))
    tool = TOOL_NAMES.get(summary.tool, summary.tool)
    if not summary.found:
        say(f"No {tool} sessions found in {summary.folder}")
        return
    for failure in summary.failed:
        warning(f"{failure.path}: {failure.error}")
    unknown: Counter[str] = Counter()
    for outcome in summary.imported:
        unknown.update(outcome.unknown_records)
    _warn_skipped(unknown)
    say(_summary_line(summary, tool))
    if summary.failed:
        raise CommandError(f"{len(summary.failed)} of {summary.found} files could not be imported")


def _summary_line(summary: ImportSummary, tool: str) -> str:
    parts = [f"Imported {len(summary.imported)} of {summary.found} {tool} sessions"]
    for count, what in (
        (len(summary.already_imported), "already imported"),
        (len(summary.empty), "without messages"),
        (len(summary.failed), "failed"),
    ):
        if count:
            parts.append(f"{count} {what}")
    return f"{', '.join(parts)} (from {summary.folder})"


def _warn_skipped(unknown: dict[str, int] | Counter[str]) -> None:
    """One line for the records no reader understood (a newer version of the tool?)."""
    if not unknown:
        return
    total = sum(unknown.values())
    kinds = ", ".join(f"{kind} ({count})" for kind, count in sorted(unknown.items()))
    warning(f"skipped {total} record{'s' if total != 1 else ''} of unknown type: {kinds}")
