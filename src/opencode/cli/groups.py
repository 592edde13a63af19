"""The Typer classes every ``opencode`` command uses: errors become one line.

The root app and sub-apps loaded on their own (``opencode.cli.hooks``) share ``ReportingGroup``,
so a command raises and ``errors.report`` alone decides what the user reads and the exit code.
A usage mistake (a missing argument, an unknown option) is one ``error:`` line plus a ``Try``
line when stderr is not a terminal; on a terminal Typer's framed message is kept.
``Command`` shows arguments in usage lines as ``ID`` and ``TITLE...``, not ``{ID}``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any, ClassVar, Final

import typer
from typer.core import TyperCommand, TyperGroup

from opencode.cli import exit_codes
from opencode.cli.errors import is_broken_pipe, report, silence_stdout
from opencode.cli.resources import close_all
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
        finally:
            close_all()

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode or _isatty(sys.stderr):
            return super().main(
                args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra
            )
        try:
            result = super().main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )
        except Exception as exc:
            code = _usage_error(exc)
            if code is None:
                raise
            sys.exit(code)
        sys.exit(result if isinstance(result, int) else exit_codes.OK)


class LazyGroup(ReportingGroup):
    """A group whose commands live in modules imported only when one of them runs (or help
    lists them), so starting ``opencode session new`` builds one command, not thirty.

    ``lazy`` maps a command name to ``(module, attribute)``: a function becomes a command,
    a ``typer.Typer`` app becomes a group.
    """

    lazy: ClassVar[dict[str, tuple[str, str]]] = {}

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        names = list(super().list_commands(ctx))
        return names + [name for name in self.lazy if name not in names]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            command = self._load(cmd_name)
            if command is not None:
                self.add_command(command, cmd_name)
        return command

    def _load(self, name: str) -> Any:
        """The command, or None when its module is not installed (a broken one raises)."""
        module_name, attribute = self.lazy[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise  # the module is there but broken: show the real error
            return None
        target = getattr(module, attribute)
        if not isinstance(target, typer.Typer):
            single = typer.Typer()
            single.command(name, cls=Command)(target)
            target = single
        command = typer.main.get_command(target)
        command.name = name
        # A standalone Typer app carries --install-completion; as a subcommand it must not.
        command.params = [p for p in command.params if p.name not in _COMPLETION_PARAMS]
        return command


_COMPLETION_PARAMS: Final = frozenset({"install_completion", "show_completion"})


class Command(TyperCommand):
    """A command whose usage line names its arguments plainly (``ID``, ``TITLE...``)."""

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return [_plain(piece) for piece in super().collect_usage_pieces(ctx)]


def _plain(piece: str) -> str:
    return piece[1:-1] if piece.startswith("{") and piece.endswith("}") else piece


def _usage_error(exc: Exception) -> int | None:
    """Print a parsing error as ``error: ...`` and a ``Try`` line; its exit code, or None
    when ``exc`` is not one (Click's exceptions carry ``format_message`` and ``exit_code``)."""
    message = getattr(exc, "format_message", None)
    code = getattr(exc, "exit_code", None)
    if not callable(message) or not isinstance(code, int):
        if type(exc).__name__ == "Abort":
            print("error: aborted", file=sys.stderr)
            return exit_codes.ERROR
        return None
    if type(exc).__name__ == "NoArgsIsHelpError":
        return code  # the help text has been printed already
    from opencode.cli.console import error

    error(str(message()).replace("\n", " "))
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        print(f"Try '{ctx.command_path} --help' for help.", file=sys.stderr)
    return code


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
