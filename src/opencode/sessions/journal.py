"""The append-only journal: one JSON line per change, so saving a message costs the same at
any session length.

A session on disk is its snapshot ``<id>.json`` plus the records of ``<id>.jsonl``. Each
record carries a sequence number; the snapshot remembers the last one it contains
(``journal_seq``), so replaying after a crash between "snapshot written" and "journal
emptied" applies nothing twice. A torn last line (the process died mid-write) is skipped and
reported.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from opencode import fsutil
from opencode.logs import get_logger
from opencode.sessions.errors import InvalidSessionValueError, SessionCorruptedError
from opencode.sessions.fileio import encode_json, storage_error
from opencode.sessions.models import Session, SessionMessage, ToolInvocation, check_token_totals
from opencode.sessions.validate import as_object, format_timestamp, opt_int, timestamp, utc_now

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, Final

logger = get_logger(__name__)

OP_MESSAGE: Final = "message"
OP_TOOL: Final = "tool"
OP_USAGE: Final = "usage"
OP_SET: Final = "set"
# Fields a "set" record may change; everything else in a session changes through its own op.
SETTABLE_FIELDS: Final = ("title", "tags", "model", "working_dir", "metadata")
_EPOCH: Final = "1970-01-01T00:00:00+00:00"


def make_record(session: Session, op: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The next journal record for ``session`` (not yet applied)."""
    return {"seq": session.journal_seq + 1, "op": op, "at": format_timestamp(utc_now()), **payload}


def apply_record(session: Session, record: Mapping[str, Any]) -> None:
    """Apply one record to ``session``; live changes and replay share this one code path."""
    op = record.get("op")
    at = timestamp(record, "at", "journal.")
    if op == OP_MESSAGE:
        message = as_object(record.get("message"), "journal.message")
        session.messages.append(SessionMessage.from_dict(message, "journal.message."))
    elif op == OP_TOOL:
        tool = as_object(record.get("tool"), "journal.tool")
        session.tool_history.append(ToolInvocation.from_dict(tool, "journal.tool."))
    elif op == OP_USAGE:
        prompt = opt_int(record, "prompt_tokens", "journal.")
        completion = opt_int(record, "completion_tokens", "journal.")
        try:
            check_token_totals(session, prompt, completion)
        except InvalidSessionValueError as exc:
            raise SessionCorruptedError(f"journal usage record: {exc}") from None
        session.total_prompt_tokens += prompt
        session.total_completion_tokens += completion
    elif op == OP_SET:
        _apply_set(session, as_object(record.get("fields"), "journal.fields"))
    else:
        raise SessionCorruptedError(f"journal record has unknown op {op!r}")
    session.journal_seq = opt_int(record, "seq", "journal.")
    session.updated_at = at


def _apply_set(session: Session, fields: Mapping[str, Any]) -> None:
    probe = Session.from_dict(
        {"id": session.id, "created_at": "1970-01-01T00:00:00+00:00", **fields}
    )
    for name in SETTABLE_FIELDS:
        if name in fields:
            setattr(session, name, getattr(probe, name))


@dataclass
class ReplayReport:
    """What a replay found besides the records it applied."""

    applied: int = 0
    skipped_already_in_snapshot: int = 0
    bad_lines: list[int] = field(default_factory=list)
    torn_tail: bool = False
    # Lines whose sequence number went backwards (skipped) or jumped ahead (applied).
    out_of_sequence: list[int] = field(default_factory=list)


def replay(session: Session, data: bytes, path: Path) -> ReplayReport:
    """Apply the records of journal bytes ``data`` that the snapshot does not contain yet.

    Records the snapshot already holds (a crash between writing it and emptying the journal)
    are skipped silently, as expected; any other record out of order is reported.
    """
    report = ReplayReport()
    lines = data.split(b"\n")
    last = len(lines) - 1
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
            seq = opt_int(as_object(record, "journal record"), "seq", "journal.")
            if seq <= session.journal_seq:
                if report.applied or report.out_of_sequence:
                    _out_of_sequence(report, path, number, seq, session.journal_seq, "skipped")
                else:
                    report.skipped_already_in_snapshot += 1
                continue
            if seq != session.journal_seq + 1:
                _out_of_sequence(report, path, number, seq, session.journal_seq, "applied")
            apply_record(session, record)
            report.applied += 1
        except (orjson.JSONDecodeError, SessionCorruptedError) as exc:
            if number == last:
                report.torn_tail = True
                logger.warning("%s: skipped a torn last record (the writer was interrupted)", path)
            else:
                report.bad_lines.append(number + 1)
                logger.warning(
                    "%s: skipped unreadable record on line %d: %s", path, number + 1, exc
                )
    return report


def _out_of_sequence(
    report: ReplayReport, path: Path, number: int, seq: int, current: int, outcome: str
) -> None:
    report.out_of_sequence.append(number + 1)
    logger.warning(
        "%s: record on line %d is out of sequence (number %d after %d); %s it",
        path,
        number + 1,
        seq,
        current,
        outcome,
    )


class SessionJournal:
    """An open append-only journal file owned by the session's single writer."""

    def __init__(self, path: Path, *, durable: bool = True) -> None:
        self.path = path
        self.durable = durable
        self._fd: int | None = None
        self.size = 0

    def open(self) -> None:
        """Open for appending, cutting off a torn last line so new records start cleanly."""
        if self._fd is not None:
            return
        try:
            created = not os.path.lexists(self.path)
            self._fd = fsutil.open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
            if created:
                fsutil.fsync_dir(self.path.parent)  # the new name must survive a power cut too
            self.size = os.fstat(self._fd).st_size
            self._cut_torn_tail()
        except OSError as exc:
            self._drop_fd()  # never close(): it would remove a journal it failed to read
            raise storage_error(f"cannot open journal {self.path}", exc) from exc

    def _cut_torn_tail(self) -> None:
        assert self._fd is not None
        if self.size == 0 or os.pread(self._fd, 1, self.size - 1) == b"\n":
            return
        keep = self.size
        step = 4096
        while keep > 0:
            start = max(0, keep - step)
            chunk = os.pread(self._fd, keep - start, start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            keep = start
        os.ftruncate(self._fd, keep)
        os.fsync(self._fd)
        self.size = keep

    def append(self, records: list[dict[str, Any]]) -> None:
        """Append records as JSON lines in a single write; fsync unless relaxed."""
        if self._fd is None:
            self.open()
        assert self._fd is not None
        data = b"".join(encode_json(record) + b"\n" for record in records)
        try:
            fsutil.write_all(self._fd, data)
            if self.durable:
                fsutil.sync_data(self._fd)
        except OSError as exc:
            # Never leave a partial record behind for the next append to run into.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.size)
            raise storage_error(f"cannot append to {self.path}", exc) from exc
        self.size += len(data)

    def truncate(self) -> None:
        """Empty the journal after its records went into a snapshot."""
        if self._fd is None:
            self.open()
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)
        except OSError as exc:
            raise storage_error(f"cannot empty journal {self.path}", exc) from exc
        self.size = 0

    def _drop_fd(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        """Close the file; an empty journal is removed so closed sessions are one file each."""
        if self._fd is None:
            return
        self._drop_fd()
        if self.size == 0:
            with contextlib.suppress(OSError):
                fsutil.unlink_if_present(self.path)
