"""The ``opencode`` Typer app: root options, the ``session`` group, and error handling.

``opencode`` alone starts a new session in the current folder; ``--resume``, ``--continue``
and ``--list-sessions`` are the spec's shortcuts. Library errors are turned into one line on
stderr by the group's ``invoke`` (see ``groups.py`` and ``errors.py``), so tests and terminals
agree.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Annotated, Any, Final

import typer

from opencode import __version__
from opencode.cli import session
from opencode.cli.console import setup_logging
from opencode.cli.datadir import use_data_dir
from opencode.cli.groups import ReportingGroup
from opencode.cli.options import complete_session_id

# Sub-apps imported only when used: ``opencode hooks`` pulls in the hooks engine.
LAZY_COMMANDS: Final = {"hooks": "opencode.cli.hooks"}
_COMPLETION_PARAMS: Final = frozenset({"install_completion", "show_completion"})


class OpencodeGroup(ReportingGroup):
    """The root group: maps library errors to exit codes and loads some sub-apps lazily."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        names = list(super().list_commands(ctx))
        for name, module in LAZY_COMMANDS.items():
            if name not in names and importlib.util.find_spec(module) is not None:
                names.append(name)
        return names

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        command = super().get_command(ctx, cmd_name)
        module_name = LAZY_COMMANDS.get(cmd_name)
        if command is None and module_name is not None:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise  # the sub-app is there but broken: show the real error
                return None
            command = typer.main.get_command(module.app)
            command.name = cmd_name
            # A standalone Typer app carries --install-completion; as a subcommand it must not.
            command.params = [p for p in command.params if p.name not in _COMPLETION_PARAMS]
            self.add_command(command, cmd_name)
        return command


app = typer.Typer(
    name="opencode",
    cls=OpencodeGroup,
    help=(
        "OpenCode: an AI coding assistant whose sessions survive anything.\n\n"
        "Run without a command to start a new session in the current folder."
    ),
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(session.app, name="session")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"opencode {__version__}")
        raise typer.Exit()


def _check_data_dir(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise typer.BadParameter("must name a folder, not be empty")
    return value


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            "-r",
            metavar="[ID]",
            help="Resume a session (id, id prefix or title; the latest without ID) and chat.",
            autocompletion=complete_session_id,
            show_default=False,
        ),
    ] = None,
    continue_latest: Annotated[
        bool,
        typer.Option("--continue", "-c", help="Resume the latest session started in this folder."),
    ] = False,
    list_sessions: Annotated[
        bool, typer.Option("--list-sessions", help="List the most recent sessions.")
    ] = False,
    data_dir: Annotated[
        str | None,
        typer.Option(
            "--data-dir",
            envvar="OPENCODE_DATA_DIR",
            metavar="PATH",
            callback=_check_data_dir,
            help="Data folder (sessions live in its 'sessions' folder).",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="Model to chat with (recorded in new sessions).", show_default=False
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="OpenAI-compatible API base URL.", show_default=False),
    ] = None,
    history_tokens: Annotated[
        int | None,
        typer.Option(
            "--history-tokens",
            min=1,
            help="Token budget for the history sent to the model (default: 8000).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Start a new session, resume one, or list them."""
    use_data_dir(data_dir)  # the whole process (and the hooks it runs) see it
    setup_logging()
    chosen = [
        name
        for name, given in (
            ("--resume", resume is not None),
            ("--continue", continue_latest),
            ("--list-sessions", list_sessions),
        )
        if given
    ]
    if len(chosen) > 1:
        ctx.fail(f"{' and '.join(chosen)} cannot be used together")
    if ctx.invoked_subcommand is not None:
        if chosen:
            ctx.fail(f"{chosen[0]} cannot be combined with a command")
        return
    if list_sessions:
        from opencode.cli.listing import print_listing

        print_listing()
    else:
        from opencode.cli import chat

        if resume is not None:
            chat.resume_and_chat(ctx, resume or None)
        elif continue_latest:
            chat.continue_and_chat(ctx)
        else:
            chat.new_and_chat(ctx)
