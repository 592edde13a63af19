"""The launchers of the chat loop: ``opencode``, ``--resume [ID]``, ``--continue``.

Each checks the model settings first (a typo must not leave an empty session behind), opens
the session through the library, and hands it to the loop in ``opencode.cli.repl``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from opencode.cli.console import say
from opencode.cli.errors import CommandError
from opencode.cli.options import open_manager, resolve_session_id

if TYPE_CHECKING:
    from opencode.chat import ChatConfig
    from opencode.cli.repl import ReplOptions
    from opencode.sessions import Session, SessionManager


@dataclass
class _ChatSetup:
    options: ReplOptions
    config: ChatConfig | None


def _chat_setup(ctx: typer.Context) -> _ChatSetup:
    """The chat loop's settings (the root options), checked before any session is opened.

    A typo in ``--base-url`` or ``OPENCODE_TIMEOUT`` raises ``ChatConfigError`` (exit 2)
    without leaving an empty session behind.
    """
    from opencode.cli.repl import ReplOptions, resolve_repl_chat_config

    root = ctx.find_root().params
    options = ReplOptions(model=root.get("model"), base_url=root.get("base_url"))
    if root.get("history_tokens") is not None:
        options.history_tokens = root["history_tokens"]
    return _ChatSetup(options, resolve_repl_chat_config(options))


def chat(manager: SessionManager, session: Session, setup: _ChatSetup, *, resumed: bool) -> None:
    """Hand an open session to the interactive loop and exit with its code."""
    from opencode.cli.repl import run_repl

    try:
        code = run_repl(
            manager, session, resumed=resumed, options=setup.options, config=setup.config
        )
    finally:
        manager.close()
    if code:
        raise typer.Exit(code)


def resume_and_chat(ctx: typer.Context, text: str | None) -> None:
    """``--resume [ID]`` and ``session resume [ID]``: the named or the latest session."""
    setup = _chat_setup(ctx)
    manager = open_manager()
    if text:
        session = manager.resume(resolve_session_id(manager, text))
    else:
        latest = manager.resume_latest()
        if latest is None:
            raise CommandError("no sessions to resume", hint="run 'opencode' to start one")
        session = latest
    chat(manager, session, setup, resumed=True)


def continue_and_chat(ctx: typer.Context) -> None:
    """``--continue``: the most recent session of this project (the git work tree it is
    in, else this folder), started here or in any folder below its root."""
    from opencode.paths import project_root

    setup = _chat_setup(ctx)
    manager = open_manager()
    root = project_root(os.getcwd())
    found = manager.list_sessions(limit=1, under_dir=root)
    if not found:
        raise CommandError(
            f"no session was started under {root}",
            hint="run 'opencode' to start one here, or 'opencode --resume' for the latest",
        )
    say(f"Continuing the latest session under {root}")
    chat(manager, manager.resume(found[0].id), setup, resumed=True)


def new_and_chat(ctx: typer.Context) -> None:
    """``opencode``: a new session in the current folder."""
    setup = _chat_setup(ctx)
    manager = open_manager()
    # A draft: written at the first message, so leaving at once leaves nothing behind.
    session = manager.create(working_dir=os.getcwd(), model=setup.options.model, draft=True)
    chat(manager, session, setup, resumed=False)
