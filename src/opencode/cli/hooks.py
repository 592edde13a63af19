"""``opencode hooks``: see which hooks are configured and trust a project's hooks."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from opencode.errors import OpencodeError
from opencode.hooks import load_hooks, trust_project

EXIT_ERROR: Final = 1

app = typer.Typer(help="Inspect lifecycle hooks and trust a project's hooks.", no_args_is_help=True)


def _fail(exc: OpencodeError) -> typer.Exit:
    typer.echo(f"Error: {exc}", err=True)
    return typer.Exit(EXIT_ERROR)


def _printable(text: str) -> str:
    """Show control characters as escapes so a hooks file cannot drive the terminal."""
    return "".join(repr(ch)[1:-1] if unicodedata.category(ch)[0] == "C" else ch for ch in text)


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
        typer.echo("No hooks configured.", err=True)
        return
    table = [("SOURCE", "RUNS", "EVENT", "COMMAND")] + [
        (
            item.source,
            _status(item.trusted, item.hook.enabled),
            _printable(item.hook.event_pattern),
            _printable(item.hook.command),
        )
        for item in configured
    ]
    widths = [max(len(row[col]) for row in table) for col in range(3)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        typer.echo("  ".join([*cells, row[3]]))
    untrusted = sorted({str(item.file) for item in configured if not item.trusted})
    for path in untrusted:
        typer.echo(
            f"Project hooks in {_printable(path)} are not trusted; "
            "review them, then run `opencode hooks trust`.",
            err=True,
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
    try:
        record = trust_project(path if path is not None else Path.cwd())
    except OpencodeError as exc:
        raise _fail(exc) from None
    typer.echo(f"Trusted {_printable(str(record.hooks_file))} (sha256 {record.sha256})")
