"""The ``opencode`` Typer app: root options, the ``session`` group, and error handling.

``opencode`` alone starts a new session in the current folder; ``--resume``, ``--continue``
and ``--list-sessions`` are the spec's shortcuts. Library errors are turned into one line on
stderr by the group's ``invoke`` (see ``groups.py`` and ``errors.py``), so tests and terminals
agree.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Final

import typer

from opencode import __version__
from opencode.cli.argv import ROOT_BY_NAME
from opencode.cli.console import setup_logging
from opencode.cli.datadir import use_data_dir
from opencode.cli.groups import LazyGroup
from opencode.cli.options import complete_session_id

_COMPLETION_PARAMS: Final = frozenset({"install_completion", "show_completion"})


class OpencodeGroup(LazyGroup):
    """The root group: maps library errors to exit codes and loads sub-apps lazily
    (``opencode hooks`` pulls in the hooks engine, ``remote`` and ``sync`` the sync
    library, and boto3 once a sync runs)."""

    lazy: ClassVar[dict[str, tuple[str, str]]] = {
        "session": ("opencode.cli.session", "app"),
        "hooks": ("opencode.cli.hooks", "app"),
        "remote": ("opencode.cli.remote", "app"),
        "sync": ("opencode.cli.sync", "app"),
    }

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        """Without the --install-completion and --show-completion Typer appends (the ones it
        does not expose): ``root`` declares ours, which take the shell's name."""
        return [
            param
            for param in super().get_params(ctx)
            if param.expose_value or param.name not in _COMPLETION_PARAMS
        ]


app = typer.Typer(
    name="opencode",
    cls=OpencodeGroup,
    help=(
        "OpenCode: an AI coding assistant whose sessions survive anything.\n\n"
        "Run without a command to start a new session in the current folder."
    ),
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,  # registers Typer's completion; its options give way to ours
    pretty_exceptions_show_locals=False,
)


def root_option(name: str, **typer_only: Any) -> Any:
    """``typer.Option`` for the root option ``name`` as ``opencode.cli.argv`` declares it
    (names, metavar, help); ``typer_only`` adds what only the app needs (callbacks, types)."""
    row = ROOT_BY_NAME[name]
    return typer.Option(
        *row.names, metavar=row.metavar, help=row.help, show_default=False, **typer_only
    )


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"opencode {__version__}")
        raise typer.Exit()


def _check_data_dir(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise typer.BadParameter("must name a folder, not be empty")
    return value


def _complete_shell_name(incomplete: str) -> list[str]:
    from opencode.cli.completion import SHELLS

    return [shell for shell in SHELLS if shell.startswith(incomplete)]


def _named_shell(value: str) -> str:
    from opencode.cli.completion_scripts import pick_shell

    try:
        return pick_shell(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _install_completion(ctx: typer.Context, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from opencode.cli.completion_scripts import install

    for line in install(_named_shell(value)):
        typer.echo(line, err=True)
    raise typer.Exit()


def _show_completion(ctx: typer.Context, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from opencode.cli.completion_scripts import completion_script

    typer.echo(completion_script(_named_shell(value)), nl=False)
    raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    resume: Annotated[
        str | None, root_option("--resume", autocompletion=complete_session_id)
    ] = None,
    continue_latest: Annotated[bool, root_option("--continue")] = False,
    print_prompt: Annotated[str | None, root_option("--print")] = None,
    json_output: Annotated[bool, root_option("--json")] = False,
    list_sessions: Annotated[bool, root_option("--list-sessions")] = False,
    data_dir: Annotated[
        str | None,
        root_option("--data-dir", envvar="OPENCODE_DATA_DIR", callback=_check_data_dir),
    ] = None,
    model: Annotated[str | None, root_option("--model")] = None,
    base_url: Annotated[str | None, root_option("--base-url")] = None,
    history_tokens: Annotated[int | None, root_option("--history-tokens", min=1)] = None,
    install_completion: Annotated[
        str | None,
        root_option(
            "--install-completion",
            callback=_install_completion,
            is_eager=True,
            autocompletion=_complete_shell_name,
        ),
    ] = None,
    show_completion: Annotated[
        str | None,
        root_option(
            "--show-completion",
            callback=_show_completion,
            is_eager=True,
            autocompletion=_complete_shell_name,
        ),
    ] = None,
    version: Annotated[
        bool, root_option("--version", callback=_print_version, is_eager=True)
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
        if chosen or print_prompt is not None or json_output:
            given = chosen[0] if chosen else "--print" if print_prompt is not None else "--json"
            ctx.fail(f"{given} cannot be combined with a command")
        return
    if json_output and print_prompt is None:
        ctx.fail("--json goes with --print (session commands take their own --json)")
    if print_prompt is not None:
        if list_sessions:
            ctx.fail("--print and --list-sessions cannot be used together")
        from opencode.cli import chat

        chat.print_answer(
            ctx, print_prompt, resume=resume, latest=continue_latest, as_json=json_output
        )
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
