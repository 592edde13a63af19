"""Session listings: the spec's table (``--list-sessions``, ``session list``), ``--json``,
``-q``, and the small tables of cleanup and ambiguous ids.

What to list is the library's decision (``opencode.sessions.listing``); this renders it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final, TextIO

from opencode.cli.console import printable
from opencode.cli.render import (
    SHORT_ID_LENGTH,
    WIDE_TABLE_COLUMNS,
    ago,
    dumps_json,
    rich_text,
    short_id,
    size,
    spec_table,
    title_of,
    utc_now,
)

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table

    from opencode.sessions import SessionStorage, SessionSummary


def sessions_table(
    summaries: Sequence[SessionSummary], *, wide: bool = False, now: datetime | None = None
) -> Table:
    """The spec's session table: short id, title, messages, updated (plus tokens and tags)."""
    now = now or utc_now()
    table = spec_table()
    table.add_column("ID", no_wrap=True)
    table.add_column("Title", overflow="ellipsis", no_wrap=True, max_width=50 if wide else 60)
    table.add_column("Messages", no_wrap=True)
    if wide:
        table.add_column("Tokens", no_wrap=True)
    table.add_column("Updated", no_wrap=True)
    if wide:
        table.add_column("Tags", overflow="ellipsis", no_wrap=True, max_width=24)
    for summary in summaries:
        shown_id = short_id(summary.id)
        if len(summary.id) > SHORT_ID_LENGTH:
            shown_id += "..."
        cells: list[RenderableType] = [
            rich_text(printable(shown_id)),
            rich_text(title_of(summary.title), "" if summary.title else "dim"),
            rich_text(str(summary.message_count)),
        ]
        if wide:
            cells.append(rich_text(f"{summary.total_tokens:,}"))
        cells.append(rich_text(ago(summary.updated_at, now)))
        if wide:
            cells.append(rich_text(printable(", ".join(summary.tags))))
        table.add_row(*cells)
    return table


def print_sessions(
    console: Console,
    summaries: Sequence[SessionSummary],
    *,
    heading: str = "Recent Sessions:",
    wide: bool = False,
) -> None:
    """The heading and table of a listing, as section 10 of the spec shows it.

    ``wide`` adds tokens and tags when the terminal has room for them.
    """
    wide = wide and console.width >= WIDE_TABLE_COLUMNS
    console.print()
    console.print(rich_text(heading))
    console.print(sessions_table(summaries, wide=wide))


def listing_footer(shown: int, offset: int, total: int) -> str | None:
    """``Showing 20 of 10000 sessions; ...`` when a listing is a page of a longer list."""
    if offset == 0 and shown >= total:
        return None
    if offset == 0:
        return f"Showing {shown} of {total} sessions; see 'opencode session list --limit N'"
    hint = "see 'opencode session list --limit N --offset N'"
    if shown == 0:
        return f"No sessions after the first {offset} of {total}; {hint}"
    return f"Showing sessions {offset + 1}-{offset + shown} of {total}; {hint}"


def candidate_lines(summaries: Iterable[SessionSummary], now: datetime | None = None) -> list[str]:
    """``  3f2a1b4c  Title  2 hours ago``: sessions an ambiguous id could mean."""
    now = now or utc_now()
    return [
        f"  {short_id(s.id)}  {title_of(s.title)}  (updated {ago(s.updated_at, now)})"
        for s in summaries
    ]


def cleanup_table(
    rows: Sequence[tuple[SessionSummary, int]], *, now: datetime | None = None
) -> Table:
    """What ``session cleanup`` deletes: short id, title, age and size."""
    now = now or utc_now()
    table = spec_table()
    table.add_column("ID", no_wrap=True)
    table.add_column("Title", overflow="ellipsis", no_wrap=True, max_width=60)
    table.add_column("Age", no_wrap=True)
    table.add_column("Size", no_wrap=True, justify="right")
    for summary, num_bytes in rows:
        table.add_row(
            rich_text(printable(short_id(summary.id))),
            rich_text(title_of(summary.title), "" if summary.title else "dim"),
            rich_text(ago(summary.updated_at, now)),
            rich_text(size(num_bytes)),
        )
    return table


# -- listings ---------------------------------------------------------------------------------

DEFAULT_PAGE: Final = 20


def print_listing(
    *,
    limit: int | None = DEFAULT_PAGE,
    offset: int = 0,
    sort_by: str = "active_at",
    descending: bool = True,
    tags: Sequence[str] = (),
    search: str | None = None,
    working_dir: str | None = None,
    output: str = "table",
    wide: bool = False,
    storage: SessionStorage | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> None:
    """List sessions from the index: a table (``output="table"``), JSON, or bare ids.

    ``limit=None`` (or 0) lists everything. The table shows a page and says on stderr how
    many sessions there are in all; JSON and ids are data, printed without comment.
    ``storage`` defaults to the data folder's; ``stdout`` and ``stderr`` to the process's
    (the REPL passes its own).
    """
    from opencode.sessions import SessionIndex, SessionStorage
    from opencode.sessions.listing import ListingQuery, list_page

    streams = (
        sys.stdout if stdout is None else stdout,
        sys.stderr if stderr is None else stderr,
    )
    if storage is None:
        storage = SessionStorage()
    query = ListingQuery(
        limit=limit or None,
        offset=offset,
        sort_by=sort_by,
        descending=descending,
        tags=tuple(tags),
        search=search,
        working_dir=working_dir,
    )
    page = list_page(SessionIndex(storage), query)
    _print_rows(
        page.rows,
        page.total,
        offset,
        output=output,
        wide=wide,
        filtered=query.filtered,
        recent=query.by_recency,
        streams=streams,
    )


def _print_rows(
    rows: Sequence[SessionSummary],
    total: int,
    offset: int,
    *,
    output: str,
    wide: bool,
    filtered: bool,
    recent: bool = True,
    streams: tuple[TextIO, TextIO],
) -> None:
    from opencode.cli.console import console_for, say

    out, err = streams
    if output == "json":
        out.write(dumps_json([s.to_dict() for s in rows]) + "\n")
        return
    if output == "ids":
        out.write("".join(f"{printable(s.id)}\n" for s in rows))
        return
    if not rows:
        if total == 0 and not filtered:
            say("No sessions yet. Start one with 'opencode'.", file=err)
        elif offset and total:
            say(listing_footer(0, offset, total) or "", file=err)
        else:
            say("No sessions match.", file=err)
        return
    heading = "Recent Sessions:" if recent else "Sessions:"
    print_sessions(console_for(out), rows, heading=heading, wide=wide)
    footer = listing_footer(len(rows), offset, total)
    if footer:
        say(footer, file=err)
