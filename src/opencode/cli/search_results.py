"""``opencode session search``: run the library's search and print what it found.

Plain text and ANSI styles, no Rich: the command is served by the entry point's fast path
(``fastpath.py``) as well as by Typer (``search.py``), and both call ``run_search``. Each
hit is two lines: the session (short id, title, age; cut to the terminal's width) and its
best snippet with the match in bold reverse on a terminal, unmarked when piped.
"""

from __future__ import annotations

import os
import sys

from opencode.cli import console, render
from opencode.cli.boxtable import cell_len, fit, terminal_width
from opencode.cli.console import printable, say

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from opencode.sessions.quicksearch import QuickHit
    from opencode.sessions.search import SearchHit

    # What a hit shows: session id, title, last activity, role and snippet of its message.
    HitLine = tuple[str, str, datetime, str, str]

_RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
MATCH = "\x1b[1;7m"  # bold reverse
Segment = tuple[str, str]  # (text, ANSI style or "")


def run_search(
    query: str,
    *,
    roles: Sequence[str] = (),
    tags: Sequence[str] = (),
    here: bool = False,
    since: str | None = None,
    limit: int = 20,
    archived: bool = False,
    json_output: bool = False,
) -> None:
    """Search every session for ``query`` and print the hits (or JSON with ``json_output``)."""
    from opencode.cli.resources import open_index
    from opencode.paths import project_root
    from opencode.sessions.dates import parse_since
    from opencode.sessions.search import search

    root = project_root(os.getcwd()) if here else None
    hits = search(
        open_index(),
        query,
        roles=list(roles),
        tags=tags,
        under_dir=root,
        since=parse_since(since) if since else None,
        include_archived=archived,
        limit=limit,
    )
    if json_output:
        sys.stdout.write(render.dumps_json([hit_dict(hit) for hit in hits]) + "\n")
        return
    if root is not None:
        say(f"Searching sessions under {root}")
    if not hits:
        say("No sessions match.")
        return
    print_hits([_line(hit) for hit in hits])


def run_quick_search(
    query: str, *, roles: Sequence[str] = (), limit: int = 20, archived: bool = False
) -> bool:
    """Print the hits as ``run_search`` would, answered straight from a fresh index
    (``opencode.sessions.quicksearch``); False, having printed nothing, when it cannot be."""
    from opencode.paths import data_root
    from opencode.sessions.quicksearch import search_fresh_index

    storage_dir = os.path.join(data_root(), "sessions")
    hits = search_fresh_index(
        storage_dir, query, roles=roles, include_archived=archived, limit=limit
    )
    if hits is None:
        return False
    if not hits:
        say("No sessions match.")
        return True
    print_hits([_quick_line(hit) for hit in hits])
    return True


def _line(hit: SearchHit) -> HitLine:
    summary = hit.summary
    return (summary.id, summary.title, summary.last_active, hit.role, hit.snippet)


def _quick_line(hit: QuickHit) -> HitLine:
    session = hit.session
    return (session.id, session.title, session.last_active, hit.role, hit.snippet)


def hit_dict(hit: SearchHit) -> dict[str, object]:
    """A hit as JSON: the session's listing keys, then the message and its unmarked snippet."""
    from opencode.sessions.fts import HIGHLIGHT_END, HIGHLIGHT_START

    snippet = hit.snippet.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")
    return {
        **hit.summary.to_dict(),
        "message_id": hit.message_id,
        "role": hit.role,
        "message_at": hit.at.isoformat(),
        "snippet": snippet,
        "score": hit.score,
    }


def print_hits(hits: Sequence[HitLine]) -> None:
    """Two lines a hit on stdout, styled on a terminal."""
    styled = _styles_wanted()
    width = terminal_width(sys.stdout)
    lines: list[str] = []
    for session_id, title, last_active, role, snippet in hits:
        heading = [
            (render.short_id(session_id), BOLD),
            ("  " + render.title_of(title), ""),
            (f"  {render.ago(last_active)}", DIM),
        ]
        lines.append(_render(_cut(heading, width), styled))
        lines.append(_render(snippet_segments(role, snippet), styled))
    sys.stdout.write("".join(line + "\n" for line in lines))


def snippet_segments(role: str, snippet: str) -> list[Segment]:
    """``  User: ...match...``: the snippet on one line, the matches marked."""
    from opencode.sessions.fts import HIGHLIGHT_END, HIGHLIGHT_START

    segments: list[Segment] = [("  ", ""), (f"{role.capitalize()}: ", DIM)]
    text = " ".join(snippet.split())
    for i, part in enumerate(text.split(HIGHLIGHT_START)):
        marked, _, rest = part.partition(HIGHLIGHT_END) if i else ("", "", part)
        if marked:
            segments.append((printable(marked), MATCH))
        if rest:
            segments.append((printable(rest), ""))
    return segments


def _styles_wanted() -> bool:
    """Styles on a terminal that shows them (as Rich decides: not for ``TERM=dumb``)."""
    if os.environ.get("FORCE_COLOR"):
        return True
    return console.stdout_is_tty() and os.environ.get("TERM", "") != "dumb"


def _cut(segments: Sequence[Segment], width: int) -> list[Segment]:
    """The segments cut to ``width`` cells, the last one kept ending in an ellipsis."""
    kept: list[Segment] = []
    used = 0
    for text, style in segments:
        cells = cell_len(text)
        if used + cells <= width:
            kept.append((text, style))
            used += cells
            continue
        room = width - used
        if room > 0:
            kept.append((fit(text, room).rstrip(), style))
        break
    return kept


def _render(segments: Sequence[Segment], styled: bool) -> str:
    if not styled:
        return "".join(text for text, _ in segments)
    return "".join(f"{style}{text}{_RESET}" if style else text for text, style in segments)
