"""``opencode session search QUERY``: which sessions said it, with the best snippet of each.

The options are declared here for Typer (help, completion, usage errors); the work and the
output are ``search_results.run_search``, which the entry point's fast path calls too.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from opencode.cli.options import JsonFlag


class Role(str, Enum):
    """Whose words to search."""

    user = "user"
    assistant = "assistant"
    tool = "tool"


def search_command(
    query: Annotated[
        str,
        typer.Argument(
            metavar="QUERY",
            help='Words to find (FTS5 syntax: "a phrase", prefix*, OR, NOT, parentheses).',
        ),
    ],
    roles: Annotated[
        list[Role] | None,
        typer.Option(
            "--role", help="Only in messages by this role (repeatable).", show_default=False
        ),
    ] = None,
    tags: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Only sessions with this tag (repeatable).", show_default=False),
    ] = None,
    here: Annotated[
        bool, typer.Option("--here", help="Only sessions of this project (git root or folder).")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Only messages since DATE (2024-01-15, 7d, today).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=1000, help="At most N sessions.")
    ] = 20,
    archived: Annotated[
        bool, typer.Option("--archived", help="Search archived sessions too.")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Search what was said in every session; each matching session is listed once."""
    from opencode.cli.search_results import run_search

    run_search(
        query,
        roles=[r.value for r in roles or ()],
        tags=tags or (),
        here=here,
        since=since,
        limit=limit,
        archived=archived,
        json_output=json_output,
    )
