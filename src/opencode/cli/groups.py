"""The Typer group class every ``opencode`` command group uses: library errors become one line.

The root app and sub-apps loaded on their own (``opencode.cli.hooks``) share it, so a command
raises and ``errors.report`` alone decides what the user reads and the exit code.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from opencode.cli import exit_codes
from opencode.cli.errors import is_broken_pipe, report, silence_stdout
from opencode.errors import OpencodeError


class ReportingGroup(TyperGroup):
    """A group whose commands' library errors, Ctrl-C and OS errors go through ``report``."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (OpencodeError, KeyboardInterrupt) as exc:
            raise typer.Exit(report(exc)) from None
        except OSError as exc:
            if is_broken_pipe(exc):
                silence_stdout()
                raise typer.Exit(exit_codes.ERROR) from None
            raise typer.Exit(report(exc)) from None
