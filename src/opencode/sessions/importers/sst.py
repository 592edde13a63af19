"""sst/opencode exports: what ``opencode export [sessionID]`` prints.

One JSON object: ``{"info": Session.Info, "messages": [{"info": Message, "parts": [Part]}],
"todos": [...]}``. ``info`` has ``id`` (``ses_...``), ``title``, ``directory`` and
``time.created``/``time.updated`` in milliseconds since 1970. A message's ``info`` has its
``role``, ``time.created`` and, for the assistant, ``modelID``, ``providerID``,
``path.cwd``, ``tokens`` (``input``, ``output``, ``reasoning``, ``cache.read``,
``cache.write``) and ``error``. Parts carry the content: ``text``, ``reasoning``, ``file``,
and ``tool`` (``callID``, ``tool``, ``state`` with ``status``, ``input``, ``output`` or
``error`` and ``time``); ``step-start``/``step-finish`` separate the model calls of one
answer. Snapshots, patches, agents, retries and compaction markers are left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from opencode.sessions.importers import records as rec
from opencode.sessions.importers.errors import ImportFormatError, NothingToImportError
from opencode.sessions.importers.sources import ImportInput
from opencode.sessions.importers.transcript import (
    ParsedSession,
    TranscriptBuilder,
    arguments_text,
    source_title,
)
from opencode.sessions.models import SessionMessage

NAME: Final = "sst"
DESCRIPTION: Final = "sst/opencode export (JSON)"
# Parts that are no conversation: workspace snapshots, patches, agent and retry markers.
BOOKKEEPING: Final = frozenset(
    {"snapshot", "patch", "agent", "retry", "compaction", "subtask", "step-start"}
)
# What ``error.name`` of an unfinished answer means, in the words our sessions use.
INCOMPLETE: Final = {
    "MessageAbortedError": "interrupted",
    "MessageOutputLengthError": "length",
}


def looks_like(document: object) -> bool:
    """True for an export: session info beside a list of messages with parts."""
    if not isinstance(document, Mapping):
        return False
    info, messages = document.get("info"), document.get("messages")
    return isinstance(info, Mapping) and isinstance(messages, list) and "time" in info


def parse(source: ImportInput) -> ParsedSession:
    """The conversation in an sst/opencode export."""
    document = rec.parse_json(source.data, source.label, "an sst/opencode export")
    if not looks_like(document):
        raise ImportFormatError(
            "not an sst/opencode export (expected 'info' and 'messages')", source.label
        )
    info = rec.obj(document, "info", "info") or {}
    times = rec.obj(info, "time", "info") or {}
    reader = _Reader()
    for position, item in enumerate(rec.array(document, "messages", "export") or []):
        reader.message(item, f"messages[{position}]")
    if not reader.builder.messages:
        raise NothingToImportError("holds no messages", source.label)
    session = reader.builder.build(
        title=source_title(rec.text(info, "title", "info")),
        working_dir=rec.text(info, "directory", "info") or reader.cwd or "",
        model=reader.model,
        created_at=rec.epoch_ms(times, "created", "info.time"),
        updated_at=rec.epoch_ms(times, "updated", "info.time"),
    )
    return ParsedSession(session, NAME, rec.text(info, "id", "info"), reader.unknown)


class _Reader:
    """Walks the messages and their parts in order, feeding a ``TranscriptBuilder``."""

    def __init__(self) -> None:
        self.builder = TranscriptBuilder()
        self.unknown: Counter[str] = Counter()
        self.model: str | None = None
        self.cwd: str | None = None
        self._results: list[tuple[str, str, datetime | None, bool]] = []

    def message(self, item: object, where: str) -> None:
        if not isinstance(item, Mapping):
            raise ImportFormatError(f"{where}: not an object")
        info = rec.obj(item, "info", where)
        if info is None:
            raise ImportFormatError(f"{where}: no 'info'")
        parts = rec.array(item, "parts", where) or []
        role = rec.text(info, "role", f"{where}.info")
        when = rec.epoch_ms(rec.obj(info, "time", where) or {}, "created", f"{where}.info.time")
        if role == "user":
            self._user(parts, when, where)
        elif role == "assistant":
            self._assistant(info, parts, when, where)
        else:
            self.unknown[f"message role {role}"] += 1

    def _user(self, parts: list[Any], when: datetime | None, where: str) -> None:
        texts = []
        for part in _parts(parts, where):
            kind = part.get("type")
            if kind == "text":
                if not rec.flag(part, "synthetic", where) and not rec.flag(part, "ignored", where):
                    texts.append(rec.text(part, "text", where) or "")
            elif kind == "file":
                name = rec.text(part, "filename", where) or rec.text(part, "url", where) or "file"
                texts.append(f"[file: {name}]")
            elif kind not in BOOKKEEPING:
                self.unknown[f"user part {kind}"] += 1
        if texts:
            self.builder.add("user", "\n\n".join(texts), when)

    def _assistant(
        self, info: Mapping[str, Any], parts: list[Any], when: datetime | None, where: str
    ) -> None:
        key = rec.text(info, "id", where) or where
        start = len(self.builder.messages)
        self.model = rec.text(info, "modelID", where) or self.model
        path = rec.obj(info, "path", where) or {}
        self.cwd = self.cwd or rec.text(path, "cwd", where)
        step = 0
        for part in _parts(parts, where):
            kind = part.get("type")
            if kind == "step-finish":
                self._flush_results()
                step += 1
            elif kind == "text":
                self._flush_results()
                self.builder.assistant_text(rec.text(part, "text", where) or "", when, (key, step))
            elif kind == "reasoning":
                self.builder.reasoning(rec.text(part, "text", where) or "", when, (key, step))
            elif kind == "tool":
                self._tool(part, when, (key, step), where)
            elif kind not in BOOKKEEPING and kind != "file":
                self.unknown[f"assistant part {kind}"] += 1
        self._flush_results()
        self._usage_and_errors(info, self.builder.last_assistant(start), key, where)

    def _tool(
        self, part: Mapping[str, Any], when: datetime | None, key: object, where: str
    ) -> None:
        state = rec.obj(part, "state", where) or {}
        times = rec.obj(state, "time", where) or {}
        call_id = rec.text(part, "callID", where) or ""
        started = rec.epoch_ms(times, "start", where) or when
        arguments = arguments_text(state.get("input", {}))
        self.builder.tool_call(
            call_id, rec.text(part, "tool", where) or "tool", arguments, started, key
        )
        status = rec.text(state, "status", where)
        ended = rec.epoch_ms(times, "end", where) or started
        if status == "completed":
            self._results.append((call_id, rec.text(state, "output", where) or "", ended, False))
        elif status == "error":
            self._results.append((call_id, rec.text(state, "error", where) or "", ended, True))

    def _flush_results(self) -> None:
        """Tool results follow the assistant message that asked for them."""
        for call_id, output, at, failed in self._results:
            self.builder.tool_result(call_id, output, at, failed=failed)
        self._results.clear()

    def _usage_and_errors(
        self, info: Mapping[str, Any], answer: SessionMessage | None, key: str, where: str
    ) -> None:
        """Usage goes on the answer's last assistant message; so does an error."""
        tokens = rec.obj(info, "tokens", where)
        if tokens is not None:
            cache = rec.obj(tokens, "cache", where) or {}
            prompt = rec.count(tokens, "input", where) + sum(
                rec.count(cache, name, where) for name in ("read", "write")
            )
            completion = rec.count(tokens, "output", where) + rec.count(tokens, "reasoning", where)
            self.builder.usage(prompt, completion, answer, key)
        error = rec.obj(info, "error", where)
        if error is not None:
            name = rec.text(error, "name", where) or ""
            self.builder.mark_incomplete(INCOMPLETE.get(name, "error"), answer)


def _parts(parts: list[Any], where: str) -> list[Mapping[str, Any]]:
    for part in parts:
        if not isinstance(part, Mapping):
            raise ImportFormatError(f"{where}: a part is not an object")
    return parts
