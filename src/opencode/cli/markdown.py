"""``session export --format markdown``: a transcript people can read and share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencode.cli.console import printable
from opencode.cli.render import UNTITLED
from opencode.cli.views import tool_call_parts

if TYPE_CHECKING:
    from opencode.sessions import Session


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
            name, arguments, call_id = tool_call_parts(call)
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
