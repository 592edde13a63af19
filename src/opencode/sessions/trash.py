"""The trash: deleted sessions kept until the user empties it, restorable with their ids.

``<data>/trash/`` (0700) holds, per trashed session, ``<id>.json`` (its snapshot with every
change folded in, a hard link to the file it was, so trashing costs no copy) and
``<id>.trashed`` (when, and what it was called). Moving a session in is crash-safe in this
order: fold the journal into the snapshot, link it into the trash with its record, then
delete the session's files (snapshot last). A crash part-way leaves the session listed and
also in the trash, never in neither.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

import orjson

from opencode import fsutil
from opencode.sessions.errors import (
    InvalidSessionValueError,
    SessionExistsError,
    SessionNotFoundError,
    SessionStorageError,
)
from opencode.sessions.fileio import (
    MAX_SIDE_FILE_BYTES,
    atomic_write,
    ensure_private_dir,
    fsync_dir,
    read_session_file,
    storage_error,
)
from opencode.sessions.ids import is_valid_session_id, validate_session_id
from opencode.sessions.storage import SESSION_SUFFIX, parse_session_bytes
from opencode.sessions.validate import format_timestamp, parse_timestamp, utc_now

if TYPE_CHECKING:
    from opencode.sessions.index import SessionIndex
    from opencode.sessions.models import Session
    from opencode.sessions.storage import SessionStorage

logger = logging.getLogger(__name__)

RECORD_SUFFIX: Final = ".trashed"
MAX_TRASH_AGE_DAYS: Final = 36500


@dataclass(frozen=True)
class TrashEntry:
    """One session in the trash."""

    id: str
    title: str
    trashed_at: datetime
    message_count: int
    size_bytes: int

    def to_dict(self) -> dict[str, object]:
        """The entry as ``session trash list --json`` prints it."""
        return {
            "id": self.id,
            "title": self.title,
            "trashed_at": format_timestamp(self.trashed_at),
            "message_count": self.message_count,
            "size_bytes": self.size_bytes,
        }


def trash_dir_of(storage: SessionStorage) -> Path:
    """The trash next to a sessions folder: ``<data root>/trash`` for the default one."""
    return storage.storage_dir.parent / "trash"


class Trash:
    """The trash beside one sessions folder."""

    def __init__(self, storage: SessionStorage) -> None:
        self.folder = trash_dir_of(storage)

    def _snapshot(self, session_id: str) -> Path:
        return self.folder / f"{validate_session_id(session_id)}{SESSION_SUFFIX}"

    def _record(self, session_id: str) -> Path:
        return self.folder / f"{validate_session_id(session_id)}{RECORD_SUFFIX}"

    # -- in ---------------------------------------------------------------------------------

    def put(self, storage: SessionStorage, session: Session) -> None:
        """Keep ``session``'s snapshot here; the caller deletes it from ``storage`` next.

        The snapshot must hold everything (the caller folded the journal in) and the caller
        holds the session's writer lock.
        """
        ensure_private_dir(self.folder)
        record = {
            "id": session.id,
            "title": session.title,
            "trashed_at": format_timestamp(utc_now()),
            "message_count": session.message_count,
        }
        atomic_write(self._record(session.id), orjson.dumps(record) + b"\n")
        source = storage.get_path(session.id)
        target = self._snapshot(session.id)
        staging = target.with_name(f".{target.name}.link")
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staging)
            os.link(source, staging, follow_symlinks=False)
            os.replace(staging, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise storage_error(f"cannot move session {session.id} to the trash", exc) from exc
            atomic_write(target, read_session_file(source))  # another file system: a copy
        fsync_dir(self.folder)

    # -- out --------------------------------------------------------------------------------

    def entries(self) -> list[TrashEntry]:
        """Every trashed session, most recently trashed first."""
        found = []
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise storage_error(f"cannot list {self.folder}", exc) from exc
        for name in names:
            stem = name.removesuffix(SESSION_SUFFIX)
            if name.endswith(SESSION_SUFFIX) and is_valid_session_id(stem):
                found.append(self.entry(stem))
        return sorted(found, key=lambda e: (e.trashed_at, e.id), reverse=True)

    def entry(self, session_id: str) -> TrashEntry:
        """What the trash knows of ``session_id``; ``SessionNotFoundError`` when absent."""
        snapshot = self._snapshot(session_id)
        try:
            size = snapshot.lstat().st_size
        except FileNotFoundError:
            raise SessionNotFoundError(f"{session_id} (in the trash)") from None
        record = self._read_record(session_id)
        when = record.get("trashed_at")
        try:
            trashed_at = parse_timestamp(when) if isinstance(when, str) else None
        except (ValueError, OverflowError):
            trashed_at = None
        if trashed_at is None:
            trashed_at = datetime.fromtimestamp(snapshot.lstat().st_mtime).astimezone()
        title, count = record.get("title"), record.get("message_count")
        return TrashEntry(
            session_id,
            title if isinstance(title, str) else "",
            trashed_at,
            count if isinstance(count, int) and not isinstance(count, bool) else 0,
            size,
        )

    def _read_record(self, session_id: str) -> dict[str, object]:
        try:
            data = fsutil.read_regular(self._record(session_id), MAX_SIDE_FILE_BYTES)
            record = orjson.loads(data)
        except (OSError, orjson.JSONDecodeError):
            return {}
        return record if isinstance(record, dict) else {}

    def restore(self, storage: SessionStorage, session_id: str) -> Session:
        """Put a trashed session back under its id; ``SessionExistsError`` when a session
        with that id exists again. The caller holds the id's writer lock."""
        source = self._snapshot(session_id)
        session = parse_session_bytes(_read_or_missing(source, session_id), source)
        target = storage.get_path(session_id)
        storage.ensure_dir()
        try:
            os.link(source, target, follow_symlinks=False)
        except FileExistsError:
            raise SessionExistsError(session_id) from None
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise storage_error(f"cannot restore session {session_id}", exc) from exc
            if storage.exists(session_id):
                raise SessionExistsError(session_id) from None
            atomic_write(target, read_session_file(source))
        fsync_dir(storage.storage_dir)
        self.discard(session_id)
        return session

    def keep_conflict_copy(self, path: Path) -> Path:
        """Move a sync tool's conflict copy into ``<trash>/conflicts/`` (kept, not deleted)."""
        folder = self.folder / "conflicts"
        ensure_private_dir(folder)
        target = folder / path.name
        try:
            os.replace(path, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise storage_error(f"cannot move {path} to the trash", exc) from exc
            atomic_write(target, read_session_file(path))
            fsutil.unlink_if_present(path)
        fsync_dir(folder)
        fsync_dir(path.parent)
        return target

    def discard(self, session_id: str) -> bool:
        """Remove a session from the trash for good; False when it was not there."""
        try:
            removed = fsutil.unlink_if_present(self._snapshot(session_id))
            fsutil.unlink_if_present(self._record(session_id))
        except OSError as exc:
            raise storage_error(f"cannot remove {session_id} from the trash", exc) from exc
        if removed:
            with contextlib.suppress(SessionStorageError):
                fsync_dir(self.folder)
        return removed

    def empty(self, older_than_days: float | None = None) -> list[TrashEntry]:
        """Remove trashed sessions for good (those trashed more than ``older_than_days``
        ago, or all); returns what was removed."""
        if older_than_days is not None and not 0 <= older_than_days <= MAX_TRASH_AGE_DAYS:
            raise InvalidSessionValueError(
                f"days must be between 0 and {MAX_TRASH_AGE_DAYS}, got {older_than_days}"
            )
        cutoff = None if older_than_days is None else utc_now() - timedelta(days=older_than_days)
        removed = []
        for entry in self.entries():
            due = cutoff is None or entry.trashed_at < cutoff
            if due and self.discard(entry.id):
                removed.append(entry)
        return removed


def _read_or_missing(path: Path, session_id: str) -> bytes:
    try:
        return read_session_file(path)
    except FileNotFoundError:
        raise SessionNotFoundError(f"{session_id} (in the trash)") from None


def move_to_trash(storage: SessionStorage, index: SessionIndex, session_id: str) -> bool:
    """Move a session that is not open here to the trash, under its writer lock; False when
    there was nothing to move. Files left by a crash under that id (no snapshot) are
    removed outright. Refused (``SessionLockedError``) when another process has it open.
    """
    with storage.writer_lock(session_id, "short"):
        before = index.folder_state()
        try:
            session, report = storage.load_with_report(session_id)
        except SessionNotFoundError:
            session = None
        if session is not None:
            if report.applied:
                storage.save(session)  # the trash keeps one complete file
            Trash(storage).put(storage, session)
        removed = storage.delete(session_id)
        try:
            index.remove(session_id, folder_before=before)
        except SessionStorageError as exc:  # the index heals from the files later
            logger.warning("could not update the index for session %s: %s", session_id, exc)
    return session is not None or removed
