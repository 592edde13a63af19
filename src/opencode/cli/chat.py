"""The launchers of the chat loop: ``opencode``, ``--resume [ID]``, ``--continue``.

Each checks the model settings first (a typo must not leave an empty session behind), opens
the session through the library, and hands it to the loop in ``opencode.cli.repl``.
"""

from __future__ import annotations

import os
import sys
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
    setup = _chat_setup(ctx)
    manager = open_manager()
    session = _resume_project_latest(manager)
    chat(manager, session, setup, resumed=True)


def _resume_project_latest(manager: SessionManager) -> Session:
    """Resume the latest session of the project the current folder is in, saying which."""
    from opencode.paths import project_root

    root = project_root(os.getcwd())
    found = manager.list_sessions(limit=1, under_dir=root, pinned_first=False)
    if not found:
        raise CommandError(
            f"no session was started under {root}",
            hint="run 'opencode' to start one here, or 'opencode --resume' for the latest",
        )
    say(f"Continuing the latest session under {root}")
    return manager.resume(found[0].id)


def new_and_chat(ctx: typer.Context) -> None:
    """``opencode``: a new session in the current folder."""
    setup = _chat_setup(ctx)
    manager = open_manager()
    # A draft: written at the first message, so leaving at once leaves nothing behind.
    session = manager.create(working_dir=os.getcwd(), model=setup.options.model, draft=True)
    chat(manager, session, setup, resumed=False)


def print_answer(
    ctx: typer.Context, prompt: str, *, resume: str | None, latest: bool, as_json: bool
) -> None:
    """``opencode -p PROMPT``: one message, only the answer on stdout, then exit.

    ``-p -`` (or a bare ``-p``) sends all of stdin; ``-p PROMPT`` with stdin piped sends the
    prompt followed by stdin. Both land in a new session, or in the one ``--resume ID`` /
    ``-c`` name. A failed turn exits 1, so a script can tell an answer from a failure.
    """
    from opencode.chat import NO_MODEL_HINT, ChatConfigError
    from opencode.cli.repl.oneshot import ask_once, read_prompt

    setup = _chat_setup(ctx)
    if setup.config is None:
        raise ChatConfigError(f"--print needs a model. {NO_MODEL_HINT}")
    text = read_prompt(prompt, sys.stdin)
    manager = open_manager()
    if resume:
        manager.resume(resolve_session_id(manager, resume))
    elif resume is not None:  # --resume without an id: the latest
        if manager.resume_latest() is None:
            raise CommandError("no sessions to resume", hint="drop --resume to start one")
    elif latest:
        _resume_project_latest(manager)
    else:
        manager.create(working_dir=os.getcwd(), model=setup.options.model, draft=True)
    try:
        code = ask_once(manager, text, setup.options, setup.config, as_json=as_json)
    finally:
        manager.close()
    if code:
        raise typer.Exit(code)
