"""``session show`` and ``/session``: a session's details, its transcript and tool runs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from opencode.cli.console import printable
from opencode.cli.render import ago, local_time, rich_text, spec_table, title_of, utc_now

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.table import Table
    from rich.text import Text

    from opencode.sessions import Session, SessionMessage

TOOL_RESULT_PREVIEW_LINES: Final = 20
_ROLE_STYLES: Final = {
    "user": "bold cyan",
    "assistant": "bold green",
    "system": "bold magenta",
    "tool": "bold yellow",
}


def tool_call_parts(call: dict[str, Any]) -> tuple[str, str, str]:
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
        *_lifecycle_rows(session),
    ]
    width = max(len(label) for label, _ in rows) + 2
    lines = []
    for label, value in rows:
        line = rich_text(f"{label}:".ljust(width), "bold")
        line.append(value)
        lines.append(line)
    return lines


def _lifecycle_rows(session: Session) -> list[tuple[str, str]]:
    """Where a fork came from, and whether the session is pinned or archived."""
    from opencode.sessions.forks import parent_of

    rows = []
    parent = parent_of(session)
    if parent is not None:
        session_id, message_id = parent
        at = f" at message {printable(message_id)}" if message_id else " at its start"
        rows.append(("Forked from", f"{printable(session_id)}{at}"))
    if session.metadata.get("pinned") is True:
        rows.append(("Pinned", "yes"))
    archived = session.metadata.get("archived_at")
    if isinstance(archived, str):
        rows.append(("Archived", printable(archived)))
    return rows


def transcript(session: Session) -> list[RenderableType]:
    """The conversation, message by message, with tool calls and (shortened) tool results."""
    parts: list[RenderableType] = []
    for message in session.messages:
        parts.append(rich_text(""))
        parts.append(_message_header(message))
        content = message.content
        if message.role == "tool":
            content = _preview(content, TOOL_RESULT_PREVIEW_LINES)
        if content:
            body = rich_text(printable(content, multiline=True))
            parts.append(Indented(body))
        for call in message.tool_calls or []:
            name, arguments, call_id = tool_call_parts(call)
            line = rich_text("")
            line.append("-> ", "yellow")
            line.append(printable(name), "bold yellow")
            line.append(f" {printable(arguments)}")
            if call_id:
                line.append(f" [{printable(call_id)}]", "dim")
            parts.append(Indented(line))
    if session.tool_history:
        parts.append(rich_text(""))
        parts.append(tool_history_table(session))
    return parts


def tool_history_table(session: Session) -> Table:
    """Every recorded tool run: when, which tool, outcome, duration."""
    table = spec_table(title="Tool runs:")
    table.add_column("Time", no_wrap=True)
    table.add_column("Tool", no_wrap=True)
    table.add_column("Result", overflow="ellipsis", no_wrap=True, max_width=60)
    table.add_column("Duration", no_wrap=True, justify="right")
    for run in session.tool_history:
        outcome = "ok" if run.success else f"failed: {run.error or 'error'}"
        table.add_row(
            rich_text(local_time(run.timestamp)),
            rich_text(printable(run.tool_name)),
            rich_text(printable(outcome), "" if run.success else "red"),
            rich_text(f"{run.duration:.2f}s"),
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
