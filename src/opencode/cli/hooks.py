"""``opencode hooks``: see which hooks are configured and trust a project's hooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from opencode.cli.console import printable, say
from opencode.cli.groups import ReportingGroup
from opencode.hooks import load_hooks, trust_project

# Errors travel up to the group, which reports them like every other command's.
app = typer.Typer(
    cls=ReportingGroup,
    help="Inspect lifecycle hooks and trust a project's hooks.",
    no_args_is_help=True,
)


def _status(trusted: bool, enabled: bool) -> str:
    if not enabled:
        return "no (disabled)"
    return "yes" if trusted else "no (untrusted)"


@app.command("list")
def list_hooks(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the hooks as a JSON list.")
    ] = False,
) -> None:
    """List every configured hook, where it comes from, and whether it will run."""
    configured = load_hooks(notify_untrusted=False)
    if json_output:
        rows: list[dict[str, Any]] = [
            {
                "source": item.source,
                "file": str(item.file),
                "index": item.index,
                "event": item.hook.event_pattern,
                "command": item.hook.command,
                "description": item.hook.description,
                "timeout": item.hook.timeout,
                "enabled": item.hook.enabled,
                "trusted": item.trusted,
                "will_run": item.will_run,
            }
            for item in configured
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not configured:
        say("No hooks configured.")
        return
    table = [("SOURCE", "RUNS", "EVENT", "COMMAND")] + [
        (
            item.source,
            _status(item.trusted, item.hook.enabled),
            printable(item.hook.event_pattern),
            printable(item.hook.command),
        )
        for item in configured
    ]
    widths = [max(len(row[col]) for row in table) for col in range(3)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        typer.echo("  ".join([*cells, row[3]]))
    untrusted = sorted({str(item.file) for item in configured if not item.trusted})
    for path in untrusted:
        say(
            f"Project hooks in {path} are not trusted; "
            "review them, then run `opencode hooks trust`."
        )


@app.command("trust")
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
