"""``opencode hooks``: see which hooks are configured and trust a project's hooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from opencode.cli.console import printable, say
from opencode.cli.groups import Command, ReportingGroup
from opencode.hooks import ConfiguredHook, load_hooks, trust_project

# Errors travel up to the group, which reports them like every other command's.
app = typer.Typer(
    cls=ReportingGroup,
    help="Inspect lifecycle hooks and trust a project's hooks.",
    no_args_is_help=True,
)


# Descriptions are free text: the table shows the start, ``--json`` the whole.
DESCRIPTION_CHARS: Final = 40


def _status(item: ConfiguredHook) -> str:
    if not item.hook.enabled:
        return "no (disabled)"
    if not item.matches_known_event:
        return "no (unknown event)"
    return "yes" if item.trusted else "no (untrusted)"


def _description_cell(description: str) -> str:
    text = " ".join(description.split())
    if not text:
        return "-"
    if len(text) > DESCRIPTION_CHARS:
        text = text[: DESCRIPTION_CHARS - 3] + "..."
    return printable(text)


def _json_row(item: ConfiguredHook) -> dict[str, Any]:
    return {
        "source": item.source,
        "file": str(item.file),
        "index": item.index,
        "event": item.hook.event_pattern,
        "command": item.hook.command,
        "description": item.hook.description,
        "timeout": item.hook.timeout,
        "enabled": item.hook.enabled,
        "trusted": item.trusted,
        "known_event": item.matches_known_event,
        "will_run": item.will_run,
    }


def _print_table(configured: list[ConfiguredHook]) -> None:
    table = [("SOURCE", "RUNS", "EVENT", "DESCRIPTION", "COMMAND")] + [
        (
            item.source,
            _status(item),
            printable(item.hook.event_pattern),
            _description_cell(item.hook.description),
            printable(item.hook.command),
        )
        for item in configured
    ]
    padded = len(table[0]) - 1  # the last column (the command) is not padded
    widths = [max(len(row[col]) for row in table) for col in range(padded)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row[:padded], widths, strict=True)]
        typer.echo("  ".join([*cells, row[padded]]))


@app.command("list", cls=Command)
def list_hooks(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the hooks as a JSON list.")
    ] = False,
) -> None:
    """List every configured hook, where it comes from, and whether it will run."""
    configured = load_hooks(notify_untrusted=False)
    if json_output:
        typer.echo(json.dumps([_json_row(item) for item in configured], indent=2))
        return
    if not configured:
        say("No hooks configured.")
        return
    _print_table(configured)
    untrusted = sorted({str(item.file) for item in configured if not item.trusted})
    for path in untrusted:
        say(
            f"Project hooks in {path} are not trusted; "
            "review them, then run `opencode hooks trust`."
        )


@app.command("trust", cls=Command)
def trust(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Project folder (default: the current folder; parents are searched too).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Allow a project's .opencode/hooks.json to run, as it is now (edits need trusting again)."""
    record = trust_project(path if path is not None else Path.cwd())
    typer.echo(f"Trusted {printable(str(record.hooks_file))} (sha256 {record.sha256})")
