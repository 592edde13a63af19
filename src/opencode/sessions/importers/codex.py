"""Codex CLI rollouts: ``~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``.

Each line is ``{"timestamp", "type", "payload"}`` (codex-rs ``RolloutLine``): the first is
``session_meta`` (id, cwd, cli_version, ...); ``response_item`` lines carry the Responses API
items the model saw and produced (``message``, ``reasoning``, ``function_call``,
``function_call_output``, ``custom_tool_call`` and its output, ``local_shell_call``);
``turn_context`` names the model; ``event_msg`` lines are UI events, of which only
``token_count`` (cumulative usage) is read: the others repeat the response items. Rollouts
written before September 2025 have no envelope: a bare ``{"id", "timestamp"}`` first line,
bare response items, and ``{"record_type": "state"}`` markers; they are read too.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import orjson

from opencode.sessions.importers import records as rec
from opencode.sessions.importers.errors import ImportFormatError, NothingToImportError
from opencode.sessions.importers.records import Record
from opencode.sessions.importers.sources import ImportInput
from opencode.sessions.importers.transcript import (
    ParsedSession,
    TranscriptBuilder,
    arguments_text,
)

NAME: Final = "codex"
DESCRIPTION: Final = "Codex CLI rollout (JSONL)"
ENVELOPE_TYPES: Final = frozenset(
    {"session_meta", "response_item", "turn_context", "event_msg", "compacted"}
)
ITEM_TYPES: Final = frozenset(
    {
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "local_shell_call",
    }
)
# Items the model history holds that are no conversation (snapshots, encrypted state).
IGNORED_ITEMS: Final = frozenset({"ghost_snapshot", "compaction", "compaction_summary", "other"})
# User messages Codex itself writes into the history (context, instructions, aborts).
_INJECTED: Final = re.compile(
    r"\s*(<(environment_context|user_instructions|user_shell_command|turn_aborted|INSTRUCTIONS)"
    r"[\s>]|# AGENTS\.md instructions)"
)
_CWD_TAG: Final = re.compile(r"<cwd>([^<]+)</cwd>")
IMAGE_PLACEHOLDER: Final = "[image]"


def looks_like(record: object) -> bool:
    """True for a rollout line, in either the current or the first format."""
    if not isinstance(record, Mapping):
        return False
    if "payload" in record:
        return record.get("type") in ENVELOPE_TYPES
    if record.get("record_type") == "state":
        return True
    return "id" in record and "timestamp" in record and "type" not in record


def default_folder() -> Path:
    """Where Codex keeps rollouts: ``$CODEX_HOME/sessions`` or ``~/.codex/sessions``."""
    base = os.environ.get("CODEX_HOME") or os.path.join(Path.home(), ".codex")
    return Path(base) / "sessions"


def find_files(folder: Path) -> list[Path]:
    """Every ``rollout-*.jsonl`` below ``folder`` (links to folders are not followed)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [
            Path(root, name)
            for name in files
            if name.startswith("rollout-") and name.endswith(".jsonl")
        ]
    return sorted(found)


def parse(source: ImportInput) -> ParsedSession:
    """The conversation in a Codex rollout."""
    lines = rec.parse_json_lines(source.data, source.label, "a Codex rollout")
    reader = _Reader()
    for record in lines.records:
        reader.read(record)
    if not reader.seen_codex:
        raise ImportFormatError(
            "not a Codex rollout (no session_meta or response items)", source.label
        )
    if not any(m.role in ("user", "assistant") for m in reader.builder.messages):
        raise NothingToImportError("holds no messages", source.label)
    session = reader.builder.build(
        working_dir=reader.cwd or "",
        model=reader.model,
        usage=reader.totals or reader.builder.usage_totals(),
    )
    parsed = ParsedSession(session, NAME, reader.session_id, reader.unknown)
    if lines.partial_tail:
        parsed.notes.append("the last line was cut off (still being written?) and was skipped")
    return parsed


class _Reader:
    """Walks the rollout in order, feeding a ``TranscriptBuilder``."""

    def __init__(self) -> None:
        self.builder = TranscriptBuilder()
        self.unknown: Counter[str] = Counter()
        self.session_id: str | None = None
        self.cwd: str | None = None
        self.model: str | None = None
        self.totals: tuple[int, int] | None = None
        self.seen_codex = False

    def read(self, record: Record) -> None:
        data, where = record.data, record.where
        if "payload" not in data:
            self._legacy(data, where)
            return
        kind = rec.text(data, "type", where)
        payload = rec.obj(data, "payload", where) or {}
        when = rec.iso_time(data, "timestamp", where)
        if kind not in ENVELOPE_TYPES:
            self.unknown[kind or "(no type)"] += 1
            return
        self.seen_codex = True
        if kind == "session_meta":
            self._meta(payload, where)
        elif kind == "turn_context":
            self.model = rec.text(payload, "model", where) or self.model
            self.cwd = self.cwd or rec.text(payload, "cwd", where)
        elif kind == "response_item":
            self._item(payload, when, where)
        elif kind == "event_msg" and payload.get("type") == "token_count":
            self._token_count(payload, where)

    def _legacy(self, data: Mapping[str, Any], where: str) -> None:
        """A line of the first rollout format (no envelope)."""
        if data.get("record_type") == "state":
            self.seen_codex = True
        elif "type" not in data and "id" in data and "timestamp" in data:
            self.seen_codex = True
            self._meta(data, where)
        elif data.get("type") in ITEM_TYPES | IGNORED_ITEMS:
            self.seen_codex = True
            self._item(data, rec.iso_time(data, "timestamp", where), where)
        else:
            self.unknown[str(data.get("type") or data.get("record_type") or "(no type)")] += 1

    def _meta(self, payload: Mapping[str, Any], where: str) -> None:
        """The first ``session_meta`` is this session's; a fork repeats its parent's after."""
        if self.session_id is None:
            self.session_id = rec.text(payload, "id", where)
            self.cwd = self.cwd or rec.text(payload, "cwd", where)
            self.builder.note_time(rec.iso_time(payload, "timestamp", where))

    def _token_count(self, payload: Mapping[str, Any], where: str) -> None:
        info = rec.obj(payload, "info", where)
        if info is None:
            return
        total = rec.obj(info, "total_token_usage", where)
        if total is not None:
            self.totals = (
                rec.count(total, "input_tokens", where),
                rec.count(total, "output_tokens", where),
            )
        last = rec.obj(info, "last_token_usage", where)
        if last is not None:
            prompt = rec.count(last, "input_tokens", where)
            completion = rec.count(last, "output_tokens", where)
            self.builder.usage(prompt, completion, self.builder.last_assistant())

    def _item(self, item: Mapping[str, Any], when: Any, where: str) -> None:
        kind = rec.text(item, "type", where)
        builder = self.builder
        if kind == "message":
            self._message(item, when, where)
        elif kind == "reasoning":
            builder.reasoning(_reasoning_text(item, where), when)
        elif kind == "function_call":
            call_id = rec.text(item, "call_id", where) or ""
            name = rec.text(item, "name", where) or "tool"
            builder.tool_call(call_id, name, rec.text(item, "arguments", where) or "", when)
        elif kind == "custom_tool_call":
            call_id = rec.text(item, "call_id", where) or ""
            name = rec.text(item, "name", where) or "tool"
            builder.tool_call(call_id, name, rec.text(item, "input", where) or "", when)
        elif kind == "local_shell_call":
            self._shell_call(item, when, where)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            output, failed = _output(item.get("output"), where)
            builder.tool_result(rec.text(item, "call_id", where) or "", output, when, failed=failed)
        elif kind not in IGNORED_ITEMS and kind != "web_search_call":
            self.unknown[f"response_item {kind}"] += 1

    def _message(self, item: Mapping[str, Any], when: Any, where: str) -> None:
        role = rec.text(item, "role", where) or ""
        content = _content_text(rec.array(item, "content", where) or [], where)
        if role == "assistant":
            self.builder.assistant_text(content, when)
        elif role == "user" and not _INJECTED.match(content):
            self.builder.add("user", content, when)
        elif role in ("user", "developer", "system"):
            self.cwd = self.cwd or _cwd_in(content)
            self.builder.add("system", content, when, {"source_role": role})
        else:
            self.unknown[f"message role {role}"] += 1

    def _shell_call(self, item: Mapping[str, Any], when: Any, where: str) -> None:
        call_id = rec.text(item, "call_id", where) or rec.text(item, "id", where) or ""
        action = rec.obj(item, "action", where) or {}
        self.builder.tool_call(call_id, "local_shell", arguments_text(dict(action)), when)


def _content_text(content: list[Any], where: str) -> str:
    """The text of a message's content items (``input_text``, ``output_text``, images)."""
    parts = []
    for item in content:
        if not isinstance(item, Mapping):
            raise ImportFormatError(f"{where}: a content item is not an object")
        kind = item.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append(rec.text(item, "text", where) or "")
        elif kind in ("input_image", "image"):
            parts.append(IMAGE_PLACEHOLDER)
    return "\n".join(parts)


def _reasoning_text(item: Mapping[str, Any], where: str) -> str:
    """Readable reasoning: the summary, else plain content (encrypted content is not)."""
    texts = []
    for field in ("summary", "content"):
        for part in rec.array(item, field, where) or []:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                texts.append(part["text"])
        if texts:
            break
    return "\n\n".join(texts)


def _output(output: Any, where: str) -> tuple[str, bool]:
    """A tool output: text, a list of content items, or ``{"content", "success"}``."""
    if output is None:
        return "", False
    if isinstance(output, str):
        return _unwrapped(output)
    if isinstance(output, list):
        return _content_text(output, where), False
    if isinstance(output, Mapping):
        text = rec.text(output, "content", where) or ""
        return text, output.get("success") is False
    raise ImportFormatError(f"{where}: a tool output is neither text, a list nor an object")


def _unwrapped(output: str) -> tuple[str, bool]:
    """Shell results come as ``{"output": ..., "metadata": {"exit_code": N, ...}}`` text:
    the output itself, failed when the exit code is not 0. Other text is kept as it is."""
    if not output.startswith("{"):
        return output, False
    try:
        value = orjson.loads(output)
    except orjson.JSONDecodeError:
        return output, False
    if not isinstance(value, dict) or not isinstance(value.get("output"), str):
        return output, False
    metadata = value.get("metadata")
    if not isinstance(metadata, dict):
        return output, False
    code = metadata.get("exit_code")
    return value["output"], isinstance(code, int) and code != 0


def _cwd_in(text: str) -> str | None:
    """The working folder an ``<environment_context>`` message names (first-format files
    record it nowhere else)."""
    found = _CWD_TAG.search(text)
    return found.group(1).strip() if found else None
