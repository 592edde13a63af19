"""``opencode session search QUERY``: which sessions said it, with the best snippet of each."""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from opencode.cli import console, render
from opencode.cli.console import say
from opencode.cli.options import JsonFlag, open_manager

if TYPE_CHECKING:
    from rich.text import Text

    from opencode.sessions.search import SearchHit


class Role(str, Enum):
    """Whose words to search."""

    user = "user"
    assistant = "assistant"
    tool = "tool"


def search_command(
    ctx: typer.Context,
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
    from opencode.paths import project_root
    from opencode.sessions.dates import parse_since

    manager = open_manager()
    root = project_root(os.getcwd()) if here else None
    hits = manager.search(
        query,
        roles=[r.value for r in roles or ()],
        tags=tags or (),
        under_dir=root,
        since=parse_since(since) if since else None,
        include_archived=archived,
        limit=limit,
    )
    if json_output:
        sys.stdout.write(render.dumps_json([_hit_dict(hit) for hit in hits]) + "\n")
        return
    if root is not None:
        say(f"Searching sessions under {root}")
    if not hits:
        say("No sessions match.")
        return
    _print_hits(hits)


def _hit_dict(hit: SearchHit) -> dict[str, object]:
    from opencode.sessions.search import HIGHLIGHT_END, HIGHLIGHT_START

    snippet = hit.snippet.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")
    return {
        **hit.summary.to_dict(),
        "message_id": hit.message_id,
        "role": hit.role,
        "message_at": hit.at.isoformat(),
        "snippet": snippet,
        "score": hit.score,
    }


def _print_hits(hits: list[SearchHit]) -> None:
    from rich.text import Text

    out = console.out()
    highlight = console.stdout_is_tty()
    for hit in hits:
        summary = hit.summary
        line = Text()
        line.append(render.short_id(summary.id), "bold")
        line.append("  ")
        line.append(render.title_of(summary.title))
        line.append(f"  {render.ago(summary.last_active)}", "dim")
        out.print(line, overflow="ellipsis", no_wrap=True, crop=True)
        out.print(_snippet_line(hit, highlight=highlight))


def _snippet_line(hit: SearchHit, *, highlight: bool) -> Text:
    """``  User: ...match...``: the snippet on one line, the match in bold reverse."""
    from rich.text import Text

    from opencode.sessions.search import HIGHLIGHT_END, HIGHLIGHT_START

    line = Text("  ")
    line.append(f"{hit.role.capitalize()}: ", "dim")
    text = " ".join(hit.snippet.split())
    for i, part in enumerate(text.split(HIGHLIGHT_START)):
        marked, _, rest = part.partition(HIGHLIGHT_END) if i else ("", "", part)
        if marked:
            line.append(console.printable(marked), "bold reverse" if highlight else "")
        line.append(console.printable(rest))
    return line
