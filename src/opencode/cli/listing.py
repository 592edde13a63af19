"""Session listings: the spec's table (``--list-sessions``, ``session list``), ``--json``,
``-q``, and the small tables of cleanup and ambiguous ids.

What to list is the library's decision (``opencode.sessions.listing``); this renders it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from opencode.cli.boxtable import box_table, cell_len, terminal_width
from opencode.cli.console import printable, say
from opencode.cli.render import (
    SHORT_ID_LENGTH,
    WIDE_TABLE_COLUMNS,
    age,
    ago,
    dumps_json,
    rich_text,
    short_id,
    size,
    spec_table,
    title_of,
    utc_now,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final, TextIO

    from rich.table import Table

    from opencode.sessions import SessionStorage, SessionSummary
    from opencode.sessions.listing import ListedSummary, ListingPage, ListingQuery
    from opencode.sessions.trash import TrashEntry


# A title narrower than this makes the table switch to short headers and ages.
MIN_TITLE_WIDTH: Final = 12
MAX_TITLE_WIDTH: Final = 60
MAX_TAGS_WIDTH: Final = 24
MAX_MODEL_WIDTH: Final = 24
# ``--wide`` columns, dropped from the right when the terminal is too narrow for them all.
_DETAILS: Final = ("tokens", "size", "model")


class _Layout:
    """Headers and age format for a width: full as the spec shows, or compact."""

    __slots__ = ("compact", "messages", "updated")

    def __init__(self, messages: str, updated: str, *, compact: bool) -> None:
        self.messages = messages
        self.updated = updated
        self.compact = compact


_FULL: Final = _Layout("Messages", "Updated", compact=False)
_COMPACT: Final = _Layout("Msgs", "Age", compact=True)


def sessions_table(
    summaries: Sequence[ListedSummary],
    *,
    width: int,
    short_ids: Mapping[str, str] | None = None,
    wide: bool = False,
    now: datetime | None = None,
    depths: Mapping[str, int] | None = None,
    details: bool = False,
) -> list[str]:
    """The lines of the spec's session table, fitted to ``width`` columns.

    The short id, the message count and the age are never cut; the title absorbs the
    squeeze (cut with an ellipsis). Below about 60 columns the headers and ages get short
    forms. ``wide`` adds tokens and tags when there is room; ``details`` (``--wide``) adds
    tokens, size and model, dropping model, then size, then tokens when there is not.
    """
    now = now or utc_now()
    ids = {s.id: (short_ids or {}).get(s.id) or short_id(s.id) for s in summaries}
    depth = depths or {}
    for extras in _extra_columns(wide=wide, details=details):
        for layout in (_FULL, _COMPACT):
            table = _fitted_table(
                summaries, ids, layout, depth, width=width, extras=extras, now=now
            )
            if table is not None:
                return table
    table = _fitted_table(
        summaries, ids, _COMPACT, depth, width=width, extras=frozenset(), now=now, force=True
    )
    assert table is not None
    return table


def _extra_columns(*, wide: bool, details: bool) -> list[frozenset[str]]:
    """The optional columns to try, most first."""
    if not details:
        return [frozenset({"tokens", "tags"}) if wide else frozenset()]
    names = [*_DETAILS, "tags"] if wide else list(_DETAILS)
    return [frozenset(names[:count]) for count in range(len(names), 0, -1)]


def _fitted_table(
    summaries: Sequence[ListedSummary],
    ids: Mapping[str, str],
    layout: _Layout,
    depths: Mapping[str, int],
    *,
    width: int,
    extras: frozenset[str],
    now: datetime,
    force: bool = False,
) -> list[str] | None:
    """The table in ``layout``, or None when the title would get too little room."""

    def id_cell(summary: ListedSummary) -> str:
        shown = ids[summary.id]
        return shown + "..." if not layout.compact and len(shown) < len(summary.id) else shown

    id_cells = [printable(id_cell(s)) for s in summaries]
    counts = [str(s.message_count) for s in summaries]
    ages = [age(s.last_active, now, compact=layout.compact) for s in summaries]
    titles = [_title_cell(s, depths.get(s.id, 0)) for s in summaries]
    columns: list[tuple[str, list[str]]] = [("ID", id_cells), (layout.messages, counts)]
    if "tokens" in extras:
        columns.append(("Tokens", [f"{s.total_tokens:,}" for s in summaries]))
    if "size" in extras:
        columns.append(("Size", [size(s.size_bytes) for s in summaries]))
    columns.append((layout.updated, ages))
    fixed = {name: max(cell_len(v) for v in [name, *values]) for name, values in columns}
    elastic = _elastic_columns(summaries, extras)
    widths = {
        name: min(limit, max(cell_len(v) for v in [name, *values]))
        for name, values, limit in elastic
    }
    column_count = len(columns) + 1 + len(elastic)
    room = width - (3 * column_count + 1) - sum(fixed.values()) - sum(widths.values())
    natural = max(cell_len(t) for t in ["Title", *titles])
    if room < min(MIN_TITLE_WIDTH, natural) and not force:
        return None
    headers = ["ID", "Title", *(name for name, _ in columns[1:]), *(n for n, _, _ in elastic)]
    column_widths = [
        fixed["ID"],
        max(1, min(room, natural, MAX_TITLE_WIDTH)),
        *(fixed[name] for name, _ in columns[1:]),
        *(widths[name] for name, _, _ in elastic),
    ]
    rows = [
        [
            id_cells[row],
            titles[row],
            *(values[row] for _, values in columns[1:]),
            *(values[row] for _, values, _ in elastic),
        ]
        for row in range(len(summaries))
    ]
    return box_table(headers, rows, column_widths)


def _elastic_columns(
    summaries: Sequence[ListedSummary], extras: frozenset[str]
) -> list[tuple[str, list[str], int]]:
    """Optional text columns cut with an ellipsis past their limit: model, then tags."""
    elastic = []
    if "model" in extras:
        elastic.append(("Model", [printable(s.model or "") for s in summaries], MAX_MODEL_WIDTH))
    if "tags" in extras:
        elastic.append(("Tags", [printable(", ".join(s.tags)) for s in summaries], MAX_TAGS_WIDTH))
    return elastic


def _title_cell(summary: ListedSummary, depth: int = 0) -> str:
    """The title (``(untitled)`` when there is none) with markers for damaged, pinned and
    conflicting sessions; a fork shown under its parent is indented with ``└``."""
    cell = "  " * (depth - 1) + "└ " if depth else ""
    if summary.damaged is not None:
        cell += "(damaged) "
    if summary.pinned:
        cell += "[pinned] "
    if summary.conflicts:
        cell += "(conflict) "
    return cell + title_of(summary.title)


def print_sessions(
    stream: TextIO,
    summaries: Sequence[ListedSummary],
    *,
    heading: str = "Recent Sessions:",
    wide: bool = False,
    short_ids: Mapping[str, str] | None = None,
    depths: Mapping[str, int] | None = None,
    details: bool = False,
) -> None:
    """The heading and table of a listing, as section 10 of the spec shows it, fitted to
    the terminal's width; ``wide`` adds tokens and tags when the terminal has room for them,
    ``details`` (``--wide``) tokens, size and model; ``depths`` indents forks under their
    parent."""
    width = terminal_width(stream)
    lines = sessions_table(
        summaries,
        width=width,
        short_ids=short_ids,
        wide=wide and width >= WIDE_TABLE_COLUMNS,
        depths=depths,
        details=details,
    )
    stream.write("\n" + heading + "\n" + "\n".join(lines) + "\n")
    stream.flush()


def trash_table(entries: Sequence[TrashEntry], *, now: datetime | None = None) -> Table:
    """What ``session trash list`` shows: id, title, messages, when deleted, size."""
    now = now or utc_now()
    table = spec_table()
    table.add_column("ID", no_wrap=True, min_width=SHORT_ID_LENGTH)
    table.add_column("Title", overflow="ellipsis", no_wrap=True, max_width=MAX_TITLE_WIDTH)
    table.add_column("Messages", no_wrap=True, min_width=len("Messages"))
    table.add_column("Deleted", no_wrap=True)
    table.add_column("Size", no_wrap=True, justify="right", min_width=9)
    for entry in entries:
        table.add_row(
            rich_text(printable(short_id(entry.id))),
            rich_text(title_of(entry.title), "" if entry.title else "dim"),
            rich_text(str(entry.message_count)),
            rich_text(ago(entry.trashed_at, now)),
            rich_text(size(entry.size_bytes)),
        )
    return table


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
    query: ListingQuery | None = None,
    *,
    output: str = "table",
    wide: bool = False,
    tree: bool = False,
    details: bool = False,
    storage: SessionStorage | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> None:
    """List sessions from the index: a table (``output="table"``), JSON, or bare ids.

    ``query`` says what to list (default: the newest page). The table shows a page and
    says on stderr how many sessions there are in all; JSON and ids are data, printed
    without comment. ``tree`` shows forks under their parent; ``details`` (``--wide``) adds
    size, tokens and model to the table, size and the token split to JSON. ``storage``
    defaults to the data folder's; ``stdout`` and ``stderr`` to the process's (the REPL
    passes its own).
    """
    from opencode.sessions.listing import ListingQuery

    streams = (
        sys.stdout if stdout is None else stdout,
        sys.stderr if stderr is None else stderr,
    )
    if query is None:
        query = ListingQuery()
    page = _quick_page(query) if storage is None and output != "json" else None
    if page is None:
        page = _indexed_page(query, storage)
    out = streams[0]
    if output == "json":
        from opencode.sessions.models import SessionSummary

        rows = [_json_row(s, details=details) for s in page.rows if isinstance(s, SessionSummary)]
        out.write(dumps_json(rows) + "\n")
        return
    if output == "ids":
        out.write("".join(f"{printable(s.id)}\n" for s in page.rows))
        return
    _print_table(page, wide=wide, tree=tree, details=details, streams=streams)


def _quick_page(query: ListingQuery) -> ListingPage | None:
    """The page read straight from a fresh index of the data folder (no session layer
    loaded: ``opencode.sessions.quicklist``), or None."""
    from opencode.paths import data_root
    from opencode.sessions.quicklist import quick_page

    return quick_page(os.path.join(data_root(), "sessions"), query)


def _indexed_page(query: ListingQuery, storage: SessionStorage | None) -> ListingPage:
    """The page from ``SessionIndex``, reconciled with the folder (or built) first."""
    from opencode.cli.console import progress_bar
    from opencode.sessions import SessionIndex, SessionStorage
    from opencode.sessions.listing import list_page

    index = SessionIndex(storage if storage is not None else SessionStorage())
    index.rebuild_progress = progress_bar("Indexing sessions")
    try:
        return list_page(index, query)
    finally:
        index.close()


def listing_conflict(
    *,
    here: bool,
    directory: bool,
    json_output: bool,
    quiet: bool,
    archived: bool,
    everything: bool,
) -> str | None:
    """The usage error in ``session list``'s options (two that exclude each other), if any."""
    for first, second, both in (
        ("--here", "--dir", here and directory),
        ("--json", "--quiet", json_output and quiet),
        ("--archived", "--all", archived and everything),
    ):
        if both:
            return f"{first} and {second} cannot be used together"
    return None


def list_command(
    *,
    limit: int | None = None,
    offset: int = 0,
    tags: Sequence[str] = (),
    search: str | None = None,
    here: bool = False,
    directory: str | None = None,
    sort: str = "updated",
    ascending: bool | None = None,
    archived: bool = False,
    everything: bool = False,
    tree: bool = False,
    details: bool = False,
    output: str = "table",
) -> None:
    """``opencode session list`` once its options are read (by Typer or the fast path).

    ``limit`` None is a page in the table and everything as data; ``sort`` is a short
    sort name (``updated``, ``title``, ...), ``ascending`` None its natural direction.
    """
    from opencode.paths import project_root
    from opencode.sessions.indexquery import SORT_ALIASES
    from opencode.sessions.listing import DEFAULT_PAGE, ListingQuery

    if limit is None:
        limit = DEFAULT_PAGE if output == "table" else 0
    root = project_root(os.getcwd()) if here else None
    if root is not None and output == "table":
        say(f"Sessions under {root}")
    query = ListingQuery(
        limit=limit or None,
        offset=offset,
        sort_by=SORT_ALIASES.get(sort, sort),
        descending=not ascending if ascending is not None else sort != "title",
        tags=tuple(tags),
        search=search,
        working_dir=directory,
        under_dir=root,
        archived=True if archived else None if everything else False,
    )
    print_listing(query, output=output, wide=True, tree=tree, details=details)


def _json_row(summary: SessionSummary, *, details: bool) -> dict[str, object]:
    """A summary as JSON; ``details`` adds bytes on disk and the tokens split."""
    row: dict[str, object] = summary.to_dict()
    if details:
        row["size_bytes"] = summary.size_bytes
        row["prompt_tokens"] = summary.prompt_tokens
        row["completion_tokens"] = summary.completion_tokens
    return row


def _print_table(
    page: ListingPage,
    *,
    wide: bool,
    tree: bool,
    details: bool,
    streams: tuple[TextIO, TextIO],
) -> None:
    out, err = streams
    if not page.rows:
        if page.total == 0 and not page.query.filtered:
            say("No sessions yet. Start one with 'opencode'.", file=err)
        elif page.offset and page.total:
            say(page.describe() or "", file=err)
        else:
            say("No sessions match.", file=err)
        return
    heading = "Recent Sessions:" if page.query.by_recency else "Sessions:"
    rows = page.rows
    depths: dict[str, int] = {}
    if tree:
        from opencode.sessions.listing import as_tree

        nested = as_tree(rows)
        rows = [summary for _, summary in nested]
        depths = {summary.id: depth for depth, summary in nested}
    print_sessions(
        out,
        rows,
        heading=heading,
        wide=wide,
        short_ids=page.short_ids,
        depths=depths,
        details=details,
    )
    footer = page.describe()
    if footer:
        say(footer, file=err)
