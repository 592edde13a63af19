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
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import orjson

from opencode import fsutil
from opencode.fsutil import PRIVATE_FILE_MODE
from opencode.logs import get_logger
from opencode.sessions.errors import (
    InvalidSessionValueError,
    SessionCorruptedError,
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
from opencode.sessions.filenames import JOURNAL_SUFFIX, SESSION_SUFFIX
from opencode.sessions.ids import is_valid_session_id, validate_session_id
from opencode.sessions.validate import format_timestamp, parse_timestamp, utc_now

if TYPE_CHECKING:
    from opencode.sessions.index import SessionIndex
    from opencode.sessions.storage import SessionStorage

logger = get_logger(__name__)

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

    def put(
        self,
        storage: SessionStorage,
        session_id: str,
        title: str,
        message_count: int,
        *,
        damaged: str | None = None,
    ) -> None:
        """Keep a session's files here; the caller deletes them from ``storage`` next.

        A loadable session's snapshot must hold everything (the caller folded the journal
        in); a damaged one keeps its journal too, as it is. The caller holds the session's
        writer lock.
        """
        ensure_private_dir(self.folder)
        record: dict[str, object] = {
            "id": session_id,
            "title": title,
            "trashed_at": format_timestamp(utc_now()),
            "message_count": message_count,
        }
        if damaged is not None:
            record["damaged"] = damaged
        atomic_write(self._record(session_id), orjson.dumps(record) + b"\n")
        suffixes = (SESSION_SUFFIX, JOURNAL_SUFFIX) if damaged is not None else (SESSION_SUFFIX,)
        for suffix in suffixes:
            source = storage.storage_dir / f"{session_id}{suffix}"
            if os.path.lexists(source):
                _link_into(source, self.folder / f"{session_id}{suffix}")
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

    def restore(self, storage: SessionStorage, session_id: str) -> None:
        """Put a trashed session's files back under its id (as they were, damaged or not);
        ``SessionExistsError`` when a session with that id exists again. The caller holds
        the id's writer lock."""
        source = self._snapshot(session_id)
        if not os.path.lexists(source):
            raise SessionNotFoundError(f"{session_id} (in the trash)")
        if storage.exists(session_id):
            raise SessionExistsError(session_id)
        storage.ensure_dir()
        journal = self.folder / f"{session_id}{JOURNAL_SUFFIX}"
        if os.path.lexists(journal):
            _link_into(journal, storage.get_journal_path(session_id), replace=False)
        try:
            _link_into(source, storage.get_path(session_id), replace=False)
        except FileExistsError:
            raise SessionExistsError(session_id) from None
        fsync_dir(storage.storage_dir)
        self.discard(session_id)

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
        with contextlib.suppress(OSError):
            os.chmod(target, PRIVATE_FILE_MODE)
        fsync_dir(folder)
        fsync_dir(path.parent)
        return target

    def discard(self, session_id: str) -> bool:
        """Remove a session from the trash for good; False when it was not there."""
        try:
            removed = fsutil.unlink_if_present(self._snapshot(session_id))
            fsutil.unlink_if_present(self.folder / f"{session_id}{JOURNAL_SUFFIX}")
            fsutil.unlink_if_present(self._record(session_id))
        except OSError as exc:
            raise storage_error(f"cannot remove {session_id} from the trash", exc) from exc
        if removed:
            with contextlib.suppress(SessionStorageError):
                fsync_dir(self.folder)
        return removed

    def due(self, older_than_days: float | None = None) -> list[TrashEntry]:
        """What ``empty`` would remove: everything, or what was trashed more than
        ``older_than_days`` ago (``InvalidSessionValueError`` for a count of days that is
        not a number from 0 to a century)."""
        if older_than_days is None:
            return self.entries()
        if not 0 <= older_than_days <= MAX_TRASH_AGE_DAYS:  # also refuses NaN
            raise InvalidSessionValueError(
                f"days must be between 0 and {MAX_TRASH_AGE_DAYS}, got {older_than_days}"
            )
        cutoff = utc_now() - timedelta(days=older_than_days)
        return [entry for entry in self.entries() if entry.trashed_at < cutoff]

    def empty(self, older_than_days: float | None = None) -> list[TrashEntry]:
        """Remove trashed sessions for good (see ``due``); returns what was removed."""
        return self.discard_all(self.due(older_than_days))

    def discard_all(self, entries: list[TrashEntry]) -> list[TrashEntry]:
        """Remove these entries for good (those still there); returns what was removed."""
        return [entry for entry in entries if self.discard(entry.id)]


TrashOutcome = Literal["trashed", "leftovers", "missing"]


def move_to_trash(storage: SessionStorage, index: SessionIndex, session_id: str) -> TrashOutcome:
    """Move a session that is not open here to the trash, under its writer lock.

    A damaged session goes as it is (snapshot and journal), restorable for
    ``session recover``. Files a crash left under an id with no snapshot are removed for
    good (``"leftovers"``); ``"missing"`` when there was nothing. Refused
    (``SessionLockedError``) when another process has it open.
    """
    with storage.writer_lock(session_id, "short"):
        before = index.folder_state()
        outcome: TrashOutcome = "trashed"
        if not storage.exists(session_id):
            outcome = "missing"
        else:
            _put_current(storage, session_id)
        removed = storage.delete(session_id)
        try:
            index.remove(session_id, folder_before=before)
        except SessionStorageError as exc:  # the index heals from the files later
            logger.warning("could not update the index for session %s: %s", session_id, exc)
    if outcome == "missing" and removed:
        return "leftovers"
    return outcome


def _put_current(storage: SessionStorage, session_id: str) -> None:
    """Put the session's files as they are now into the trash (journal folded in when the
    session loads, kept beside it when it does not)."""
    trash = Trash(storage)
    try:
        session, report = storage.load_with_report(session_id)
    except SessionCorruptedError as exc:
        trash.put(storage, session_id, "", 0, damaged=str(exc))
        return
    if report.applied:
        storage.save(session)  # the trash keeps one complete file
    trash.put(storage, session.id, session.title, session.message_count)


def _link_into(source: Path, target: Path, *, replace: bool = True) -> None:
    """Give ``source`` a second name ``target`` (a hard link: no copy), replacing what is
    there or (``replace=False``) refusing with ``FileExistsError``; a copy across file
    systems. The file ends up private."""
    staging = target.with_name(f".{target.name}.link")
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)
        if replace:
            os.link(source, staging, follow_symlinks=False)
            os.replace(staging, target)
        else:
            os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise storage_error(f"cannot move {source.name} to {target.parent}", exc) from exc
        if not replace and os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
        atomic_write(target, read_session_file(source))
    finally:
        # When target already named the same file, the rename did nothing: drop the extra name.
        with contextlib.suppress(OSError):
            os.unlink(staging)
    with contextlib.suppress(OSError):
        os.chmod(target, PRIVATE_FILE_MODE, follow_symlinks=False)
