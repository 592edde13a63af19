"""``opencode session share ID``: upload one session (redacted) and print a link to it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from opencode.cli import render
from opencode.cli.console import say
from opencode.cli.options import SessionIdArg, open_manager, resolve_session_id


def share_command(
    session_id: SessionIdArg,
    remote_name: Annotated[
        str | None,
        typer.Option(
            "--remote", help="The remote to upload to (default: the only one).", show_default=False
        ),
    ] = None,
    expires: Annotated[
        str, typer.Option("--expires", help="How long the link works: 30m, 12h, 7d (at most).")
    ] = "7d",
    no_redact: Annotated[
        bool,
        typer.Option(
            "--no-redact", help="Share as it is, without replacing credential-shaped values."
        ),
    ] = False,
) -> None:
    """Share a session by link: a redacted copy, readable by anyone with the link until it
    expires. 'opencode session import URL' brings it in on another machine."""
    from opencode.sync.remotes import RemoteStore
    from opencode.sync.share import parse_expiry, share_session

    seconds = parse_expiry(expires)
    store = RemoteStore()
    remote = store.get(remote_name) if remote_name is not None else store.default()
    manager = open_manager()
    session = manager.storage.load(resolve_session_id(manager, session_id))
    link = share_session(remote, session, expires_seconds=seconds, redact=not no_redact)
    sys.stdout.write(link.url + "\n")
    if link.redacted is None:
        redaction = "not redacted"
    else:
        redaction = f"{link.redacted} value{'s' if link.redacted != 1 else ''} redacted"
    say(
        f"Shared {render.short_id(link.session_id)} ({render.title_of(link.title)}, "
        f"{render.size(link.size)}, {redaction}); the link works until "
        f"{render.local_time(link.expires_at)}"
    )
