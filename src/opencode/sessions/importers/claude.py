"""Claude Code transcripts: ``~/.claude/projects/<escaped project path>/<session id>.jsonl``.

Each line is one record: ``{"type": "user" | "assistant" | "summary" | ..., "uuid",
"parentUuid", "sessionId", "cwd", "timestamp", "message": {...}}``. ``message`` holds an
Anthropic Messages API message: ``content`` is a string or a list of blocks (``text``,
``thinking``, ``tool_use`` from the assistant; ``text``, ``image``, ``tool_result`` from
the user). One API message is often written over several records (one block each) that
share ``message.id`` and repeat its ``usage``; they become one assistant message here and
their usage counts once. Subagent records (``isSidechain``) and harness notes (``isMeta``)
are left out.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from opencode.sessions.importers import records as rec
from opencode.sessions.importers.errors import ImportFormatError, NothingToImportError
from opencode.sessions.importers.records import Record
from opencode.sessions.importers.sources import ImportInput
from opencode.sessions.importers.transcript import (
    ParsedSession,
    TranscriptBuilder,
    arguments_text,
    source_title,
)

NAME: Final = "claude"
DESCRIPTION: Final = "Claude Code transcript (JSONL)"
MESSAGE_TYPES: Final = frozenset({"user", "assistant"})
# Records that carry nothing a conversation needs (file backups, queue and timing events).
BOOKKEEPING: Final = frozenset(
    {"file-history-snapshot", "queue-operation", "system", "progress", "summary"}
)
SYNTHETIC_MODEL: Final = "<synthetic>"
IMAGE_PLACEHOLDER: Final = "[image]"
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def looks_like(record: object) -> bool:
    """True for a record only Claude Code writes."""
    if not isinstance(record, Mapping):
        return False
    kind = record.get("type")
    if kind == "summary":
        return "leafUuid" in record
    if kind == "file-history-snapshot":
        return "snapshot" in record
    return kind in MESSAGE_TYPES | BOOKKEEPING and ("sessionId" in record or "uuid" in record)


def default_folder() -> Path:
    """Where Claude Code keeps transcripts: ``$CLAUDE_CONFIG_DIR/projects`` or
    ``~/.claude/projects``."""
    base = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(Path.home(), ".claude")
    return Path(base) / "projects"


def find_files(folder: Path) -> list[Path]:
    """Every session transcript under ``folder`` (one level of project folders); subagent
    transcripts (``agent-*.jsonl``) are parts of other sessions and are left out."""
    found: list[Path] = []
    try:
        projects = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    for project in projects:
        if not project.is_dir(follow_symlinks=False):
            continue
        with os.scandir(project.path) as entries:
            found += [
                Path(e.path)
                for e in entries
                if e.name.endswith(".jsonl") and not e.name.startswith("agent-")
            ]
    return sorted(found)


def parse(source: ImportInput) -> ParsedSession:
    """The conversation in a Claude Code transcript."""
    lines = rec.parse_json_lines(source.data, source.label, "a Claude Code transcript")
    reader = _Reader()
    for record in lines.records:
        reader.read(record)
    if not reader.builder.messages:
        if reader.seen_claude:
            raise NothingToImportError("holds no messages", source.label)
        raise ImportFormatError(
            "not a Claude Code transcript (no user or assistant records)", source.label
        )
    builder = reader.builder
    session = builder.build(
        title=source_title(reader.summary), working_dir=reader.cwd or "", model=reader.model
    )
    parsed = ParsedSession(session, NAME, _source_id(source, reader.session_id), reader.unknown)
    if lines.partial_tail:
        parsed.notes.append("the last line was cut off (still being written?) and was skipped")
    return parsed


def _source_id(source: ImportInput, recorded: str | None) -> str | None:
    """The file is named after the session; without a file, the records say."""
    stem = source.stem
    if stem is not None and _UUID.fullmatch(stem):
        return stem
    return recorded


class _Reader:
    """Walks the records in order, feeding a ``TranscriptBuilder``."""

    def __init__(self) -> None:
        self.builder = TranscriptBuilder()
        self.unknown: Counter[str] = Counter()
        self.summary: str | None = None
        self.cwd: str | None = None
        self.model: str | None = None
        self.session_id: str | None = None
        self.seen_claude = False

    def read(self, record: Record) -> None:
        data, where = record.data, record.where
        kind = rec.text(data, "type", where)
        if kind == "summary":
            self.seen_claude = True
            self.summary = rec.text(data, "summary", where) or self.summary
            return
        if kind in BOOKKEEPING:
            self.seen_claude = True
            return
        if kind not in MESSAGE_TYPES:
            self.unknown[kind or "(no type)"] += 1
            return
        self.seen_claude = True
        self._context(data, where)
        if rec.flag(data, "isSidechain", where) or rec.flag(data, "isMeta", where):
            return
        message = rec.obj(data, "message", where)
        if message is None:
            raise ImportFormatError(f"{where}: a {kind} record without a 'message'")
        if kind == "user":
            self._user(data, message, where)
        else:
            self._assistant(data, message, where)

    def _context(self, data: Mapping[str, Any], where: str) -> None:
        self.session_id = self.session_id or rec.text(data, "sessionId", where)
        self.cwd = self.cwd or rec.text(data, "cwd", where)

    def _user(self, data: Mapping[str, Any], message: Mapping[str, Any], where: str) -> None:
        when = rec.iso_time(data, "timestamp", where)
        content = message.get("content")
        if isinstance(content, str):
            self._user_text(content, data, when, where)
            return
        blocks = rec.array(message, "content", where) or []
        texts: list[str] = []
        for block in _blocks(blocks, where):
            kind = block.get("type")
            if kind == "text":
                texts.append(rec.text(block, "text", where) or "")
            elif kind == "image":
                texts.append(IMAGE_PLACEHOLDER)
            elif kind == "tool_result":
                call_id = rec.text(block, "tool_use_id", where) or ""
                output = _result_text(block.get("content"), where)
                failed = rec.flag(block, "is_error", where)
                self.builder.tool_result(call_id, output, when, failed=failed)
            else:
                self.unknown[f"user content {kind}"] += 1
        if texts:
            self._user_text("\n\n".join(texts), data, when, where)

    def _user_text(self, content: str, data: Mapping[str, Any], when: Any, where: str) -> None:
        if rec.flag(data, "isCompactSummary", where):
            self.builder.add("system", content, when, {"compact_summary": True})
        else:
            self.builder.add("user", content, when)

    def _assistant(self, data: Mapping[str, Any], message: Mapping[str, Any], where: str) -> None:
        when = rec.iso_time(data, "timestamp", where)
        key = rec.text(message, "id", where) or rec.text(data, "requestId", where) or where
        model = rec.text(message, "model", where)
        if model and model != SYNTHETIC_MODEL:
            self.model = model
        content = message.get("content")
        if isinstance(content, str):
            self.builder.assistant_text(content, when, key)
        else:
            for block in _blocks(rec.array(message, "content", where) or [], where):
                self._assistant_block(block, when, key, where)
        usage = rec.obj(message, "usage", where)
        if usage is not None:
            prompt = sum(
                rec.count(usage, name, where)
                for name in (
                    "input_tokens",
                    "cache_creation_input_tokens",
                    "cache_read_input_tokens",
                )
            )
            completion = rec.count(usage, "output_tokens", where)
            self.builder.usage(prompt, completion, self.builder.current_assistant(key), key)

    def _assistant_block(self, block: Mapping[str, Any], when: Any, key: str, where: str) -> None:
        kind = block.get("type")
        if kind == "text":
            self.builder.assistant_text(rec.text(block, "text", where) or "", when, key)
        elif kind == "thinking":
            self.builder.reasoning(rec.text(block, "thinking", where) or "", when, key)
        elif kind == "redacted_thinking":
            return
        elif kind == "tool_use":
            call_id = rec.text(block, "id", where) or ""
            name = rec.text(block, "name", where) or "tool"
            arguments = arguments_text(block.get("input", {}))
            self.builder.tool_call(call_id, name, arguments, when, key)
        else:
            self.unknown[f"assistant content {kind}"] += 1


def _blocks(blocks: list[Any], where: str) -> Iterator[Mapping[str, Any]]:
    for block in blocks:
        if not isinstance(block, Mapping):
            raise ImportFormatError(f"{where}: a content block is not an object")
        yield block


def _result_text(content: Any, where: str) -> str:
    """A tool result's text: a string, or text and image blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ImportFormatError(f"{where}: a tool result's content is neither text nor a list")
    parts = []
    for block in _blocks(content, where):
        if block.get("type") == "text":
            parts.append(rec.text(block, "text", where) or "")
        elif block.get("type") == "image":
            parts.append(IMAGE_PLACEHOLDER)
    return "\n".join(parts)
