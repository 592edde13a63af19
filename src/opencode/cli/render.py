"""What people read: session tables, transcripts, Markdown exports, humanized times and sizes.

Every piece of user or model text goes through ``printable`` and into a ``rich.text.Text``,
so neither Rich markup nor terminal escape sequences in a title or a message take effect.
Rich and humanize are imported inside the functions that use them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final, TextIO

from opencode.cli.console import printable

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.table import Table
    from rich.text import Text

    from opencode.sessions import Session, SessionMessage, SessionStorage, SessionSummary

SHORT_ID_LENGTH: Final = 8
UNTITLED: Final = "(untitled)"
WIDE_TABLE_COLUMNS: Final = 100
TOOL_RESULT_PREVIEW_LINES: Final = 20

# The spec's table (section 10): an outer frame, column rules, one rule under the header.
_SPEC_BOX: Final = "┌──┐\n│ ││\n├──┤\n│ ││\n├──┤\n├──┤\n│ ││\n└──┘\n"

_ROLE_STYLES: Final = {
    "user": "bold cyan",
    "assistant": "bold green",
    "system": "bold magenta",
    "tool": "bold yellow",
}


def utc_now() -> datetime:
    """The current time (aware, UTC)."""
    return datetime.now(timezone.utc)


def short_id(session_id: str) -> str:
    """The first eight characters of an id: enough to tell sessions apart and to type."""
    return session_id[:SHORT_ID_LENGTH]


def title_of(title: str) -> str:
    """A title fit for one line of a terminal; ``(untitled)`` when there is none."""
    return printable(title) if title else UNTITLED


def ago(when: datetime, now: datetime | None = None) -> str:
    """``2 hours ago``, ``3 days ago``: how long since ``when``."""
    import humanize

    delta = (now or utc_now()) - when
    return str(humanize.naturaltime(delta))


def size(num_bytes: int) -> str:
    """``1.2 MB``: a byte count people can read."""
    import humanize

    return str(humanize.naturalsize(num_bytes))


def local_time(when: datetime) -> str:
    """A timestamp in the user's time zone, to the second."""
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def dumps_json(data: Any) -> str:
    """Stable, readable JSON (``json.dumps``), ASCII only.

    Every non-ASCII character is a ``\\uXXXX`` escape, so no control character or escape
    sequence reaches a terminal and any stdout encoding can carry it.
    """
    return json.dumps(data, indent=2)


def _text(value: str, style: str = "") -> Text:
    from rich.text import Text

    return Text(value, style=style)


def _table(*, title: str | None = None) -> Table:
    from rich.box import Box
    from rich.table import Table

    return Table(box=Box(_SPEC_BOX), title=title, title_justify="left", header_style="bold")


def sessions_table(
    summaries: Sequence[SessionSummary], *, wide: bool = False, now: datetime | None = None
) -> Table:
    """The spec's session table: short id, title, messages, updated (plus tokens and tags)."""
    now = now or utc_now()
    table = _table()
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
            _text(printable(shown_id)),
            _text(title_of(summary.title), "" if summary.title else "dim"),
            _text(str(summary.message_count)),
        ]
        if wide:
            cells.append(_text(f"{summary.total_tokens:,}"))
        cells.append(_text(ago(summary.updated_at, now)))
        if wide:
            cells.append(_text(printable(", ".join(summary.tags))))
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
    console.print(_text(heading))
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
    table = _table()
    table.add_column("ID", no_wrap=True)
    table.add_column("Title", overflow="ellipsis", no_wrap=True, max_width=60)
    table.add_column("Age", no_wrap=True)
    table.add_column("Size", no_wrap=True, justify="right")
    for summary, num_bytes in rows:
        table.add_row(
            _text(printable(short_id(summary.id))),
            _text(title_of(summary.title), "" if summary.title else "dim"),
            _text(ago(summary.updated_at, now)),
            _text(size(num_bytes)),
        )
    return table


# -- transcripts ------------------------------------------------------------------------------


def _tool_call_parts(call: dict[str, Any]) -> tuple[str, str, str]:
    """(name, arguments, call id) of an OpenAI-shaped tool call, tolerating odd shapes."""
    function = call.get("function")
    if not isinstance(function, dict):
        function = call
    name = str(function.get("name") or "?")
    arguments = function.get("arguments", "")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return name, arguments, str(call.get("id") or "")
    return name, json.dumps(arguments, ensure_ascii=False), str(call.get("id") or "")


def _preview(text: str, max_lines: int) -> str:
    lines = text.splitlines()
    if len(lines) <= max_lines:
        return text
    hidden = len(lines) - max_lines
    kept = "\n".join(lines[:max_lines])
    return f"{kept}\n... ({hidden} more lines; 'opencode session export' has them all)"


def _message_header(message: SessionMessage) -> Text:
    from rich.text import Text

    role = printable(message.role)
    header = Text()
    shown = role.capitalize() if role in _ROLE_STYLES else role
    header.append(shown, _ROLE_STYLES.get(role, "bold"))
    if message.role == "tool":
        label = printable(message.name or "")
        if label:
            header.append(f" {label}", "yellow")
        if message.tool_call_id:
            header.append(f" [{printable(message.tool_call_id)}]", "dim")
    header.append(f"  {local_time(message.timestamp)}", "dim")
    return header


class Indented:
    """Text word-wrapped to the console, ``indent`` cells in, rendered one line at a time.

    Rich's ``Padding`` (and a plain ``Text``) hand the console one segment holding every
    wrapped line, which it then cuts at each newline by copying all that follows: time
    quadratic in the length of one long message (4 MB took 25 s). Here every wrapped line is
    a segment of its own, so the cost is linear.
    """

    def __init__(self, text: Text, indent: int = 2) -> None:
        self.text = text
        self.indent = indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        width = max(options.max_width - self.indent, 1)
        margin = Segment(" " * self.indent)
        for line in self.text.wrap(console, width, overflow="fold"):
            if line.plain:
                yield margin
                yield from line.render(console)
            yield Segment.line()


def session_details(session: Session, *, now: datetime | None = None) -> list[Text]:
    """Metadata and usage of a session, one ``Label  value`` line each."""
    now = now or utc_now()
    failed = sum(1 for t in session.tool_history if not t.success)
    rows = [
        ("Session", printable(session.id)),
        ("Title", title_of(session.title)),
        ("Created", f"{local_time(session.created_at)} ({ago(session.created_at, now)})"),
        ("Updated", f"{local_time(session.updated_at)} ({ago(session.updated_at, now)})"),
        ("Folder", printable(session.working_dir) or "-"),
        ("Model", printable(session.model or "-")),
        ("Tags", printable(", ".join(session.tags)) or "-"),
        ("Messages", str(session.message_count)),
        (
            "Tokens",
            f"{session.total_tokens:,} ({session.total_prompt_tokens:,} prompt, "
            f"{session.total_completion_tokens:,} completion)",
        ),
        ("Tool runs", f"{len(session.tool_history)}" + (f" ({failed} failed)" if failed else "")),
    ]
    width = max(len(label) for label, _ in rows) + 2
    lines = []
    for label, value in rows:
        line = _text(f"{label}:".ljust(width), "bold")
        line.append(value)
        lines.append(line)
    return lines


def transcript(session: Session) -> list[RenderableType]:
    """The conversation, message by message, with tool calls and (shortened) tool results."""
    parts: list[RenderableType] = []
    for message in session.messages:
        parts.append(_text(""))
        parts.append(_message_header(message))
        content = message.content
        if message.role == "tool":
            content = _preview(content, TOOL_RESULT_PREVIEW_LINES)
        if content:
            body = _text(printable(content, multiline=True))
            parts.append(Indented(body))
        for call in message.tool_calls or []:
            name, arguments, call_id = _tool_call_parts(call)
            line = _text("")
            line.append("-> ", "yellow")
            line.append(printable(name), "bold yellow")
            line.append(f" {printable(arguments)}")
            if call_id:
                line.append(f" [{printable(call_id)}]", "dim")
            parts.append(Indented(line))
    if session.tool_history:
        parts.append(_text(""))
        parts.append(tool_history_table(session))
    return parts


def tool_history_table(session: Session) -> Table:
    """Every recorded tool run: when, which tool, outcome, duration."""
    table = _table(title="Tool runs:")
    table.add_column("Time", no_wrap=True)
    table.add_column("Tool", no_wrap=True)
    table.add_column("Result", overflow="ellipsis", no_wrap=True, max_width=60)
    table.add_column("Duration", no_wrap=True, justify="right")
    for run in session.tool_history:
        outcome = "ok" if run.success else f"failed: {run.error or 'error'}"
        table.add_row(
            _text(local_time(run.timestamp)),
            _text(printable(run.tool_name)),
            _text(printable(outcome), "" if run.success else "red"),
            _text(f"{run.duration:.2f}s"),
        )
    return table


def print_details(console: Console, session: Session) -> None:
    """The ``Label  value`` lines of ``session_details``: ``session show`` and ``/session``."""
    for line in session_details(session):
        console.print(line)


def print_session(console: Console, session: Session) -> None:
    """``session show``: details, then the transcript."""
    print_details(console, session)
    for part in transcript(session):
        console.print(part)


# -- Markdown export --------------------------------------------------------------------------


def _fence(text: str, info: str = "") -> str:
    """A code fence longer than any run of backticks inside ``text``."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


def _md_inline(text: str) -> str:
    return printable(text).replace("\n", " ")


def to_markdown(session: Session) -> str:
    """A transcript people can read: metadata, then every message and tool call."""
    lines = [f"# {_md_inline(session.title) or UNTITLED}", ""]
    meta = [
        ("Session", f"`{session.id}`"),
        ("Created", session.created_at.isoformat()),
        ("Updated", session.updated_at.isoformat()),
        ("Folder", f"`{_md_inline(session.working_dir)}`" if session.working_dir else "-"),
        ("Model", _md_inline(session.model or "-")),
        ("Tags", ", ".join(_md_inline(t) for t in session.tags) or "-"),
        ("Messages", str(session.message_count)),
        (
            "Tokens",
            f"{session.total_tokens} ({session.total_prompt_tokens} prompt, "
            f"{session.total_completion_tokens} completion)",
        ),
    ]
    lines += [f"- **{label}:** {value}" for label, value in meta]
    for message in session.messages:
        role = _md_inline(message.role)
        heading = role.capitalize()
        if message.role == "tool":
            heading = f"Tool result: {_md_inline(message.name or '?')}"
            if message.tool_call_id:
                heading += f" (`{_md_inline(message.tool_call_id)}`)"
        lines += ["", f"## {heading}", "", f"*{message.timestamp.isoformat()}*", ""]
        content = printable(message.content, multiline=True)
        if message.role == "tool":
            lines.append(_fence(content))
        elif content:
            lines.append(content)
        for call in message.tool_calls or []:
            name, arguments, call_id = _tool_call_parts(call)
            label = f"**Tool call:** `{_md_inline(name)}`"
            if call_id:
                label += f" (`{_md_inline(call_id)}`)"
            lines += ["", label, "", _fence(printable(arguments, multiline=True), "json")]
    if session.tool_history:
        lines += ["", "## Tool runs", "", "| Time | Tool | Result | Duration |"]
        lines.append("|---|---|---|---|")
        for run in session.tool_history:
            outcome = "ok" if run.success else f"failed: {run.error or 'error'}"
            cells = [run.timestamp.isoformat(), run.tool_name, outcome, f"{run.duration:.2f}s"]
            lines.append("| " + " | ".join(_md_inline(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


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
