"""Session files on disk: snapshots, journals, backups, and the rules that keep them safe.

Layout of a storage folder (0700, every file 0600)::

    <id>.json     the snapshot, in the spec's format
    <id>.jsonl    the append-only journal of changes since the snapshot
    <id>.backup   the previous snapshot (a hard link, never a copy)
    <id>.lock     the writer lock; <id>.owner says who holds it (pid, host, purpose)
    .index/       the index database (see ``index.py``), with its -wal and -shm files
"""

from __future__ import annotations

import contextlib
import gc
import os
from pathlib import Path

import orjson

from opencode import fsutil, paths
from opencode.logs import get_logger
from opencode.sessions.errors import (
    SessionCorruptedError,
    SessionNotFoundError,
    SessionStorageError,
)
from opencode.sessions.fileio import (
    atomic_write,
    dumps_json,
    ensure_private_dir,
    fsync_dir,
    read_session_file,
    storage_error,
)
from opencode.sessions.filenames import (
    BACKUP_SUFFIX,
    JOURNAL_SUFFIX,
    LOCK_SUFFIX,
    OWNER_SUFFIX,
    SESSION_SUFFIX,
)
from opencode.sessions.ids import conflict_copy_of, is_valid_session_id, validate_session_id
from opencode.sessions.models import Session

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Final

    # Imported where used: listing and search never open a journal or take a lock.
    from opencode.sessions.journal import ReplayReport, SessionJournal
    from opencode.sessions.locks import Purpose, SessionWriterLock

logger = get_logger(__name__)

# A session's files besides its snapshot; without a snapshot they are leftovers of a crash.
_CONTENT_LEFTOVERS: Final = (JOURNAL_SUFFIX, BACKUP_SUFFIX, OWNER_SUFFIX, LOCK_SUFFIX)


class SessionStorage:
    """Reads and writes sessions in one folder; safe against crashes and concurrent readers."""

    def __init__(self, storage_dir: Path | str | None = None) -> None:
        self.storage_dir = Path(storage_dir) if storage_dir is not None else self.get_default_dir()
        self._dir_ready = False

    @staticmethod
    def get_default_dir() -> Path:
        """``<data root>/sessions``; the data root honours ``OPENCODE_DATA_DIR`` and XDG."""
        return paths.sessions_dir()

    @staticmethod
    def get_project_dir(project_root: Path | str) -> Path:
        """Sessions kept inside a project: ``<root>/.opencode/sessions``."""
        return Path(project_root) / ".opencode" / "sessions"

    # -- paths --------------------------------------------------------------------------------

    def _file(self, session_id: str, suffix: str) -> Path:
        return self.storage_dir / f"{validate_session_id(session_id)}{suffix}"

    def get_path(self, session_id: str) -> Path:
        """The snapshot file of ``session_id``."""
        return self._file(session_id, SESSION_SUFFIX)

    def get_backup_path(self, session_id: str) -> Path:
        """Where the previous snapshot of ``session_id`` is kept."""
        return self._file(session_id, BACKUP_SUFFIX)

    def get_journal_path(self, session_id: str) -> Path:
        """The append-only journal of ``session_id``."""
        return self._file(session_id, JOURNAL_SUFFIX)

    @property
    def index_path(self) -> Path:
        """The index database (a cache of summaries and searchable text)."""
        from opencode.sessions.indexdb import index_path

        return index_path(self.storage_dir)

    def ensure_dir(self) -> None:
        """Create the folder (0700) before the first write, tightening looser modes."""
        if not self._dir_ready:
            ensure_private_dir(self.storage_dir)
            self._dir_ready = True

    # -- reading ------------------------------------------------------------------------------

    def exists(self, session_id: str) -> bool:
        """True when ``session_id`` has a snapshot here."""
        return os.path.lexists(self.get_path(session_id))

    def load(self, session_id: str) -> Session:
        """The session as last written: snapshot plus journal replay."""
        session, _ = self.load_with_report(session_id)
        return session

    def load_with_report(self, session_id: str) -> tuple[Session, ReplayReport]:
        """Like ``load``, also saying what the journal replay skipped."""
        from opencode.sessions.journal import ReplayReport, replay

        session = self._load_snapshot(self.get_path(session_id), session_id)
        journal_path = self.get_journal_path(session_id)
        try:
            data = read_session_file(journal_path)
        except FileNotFoundError:
            return session, ReplayReport()
        return session, replay(session, data, journal_path)

    def load_or_none(self, session_id: str) -> Session | None:
        """The session, or None when it does not exist (corruption still raises)."""
        try:
            return self.load(session_id)
        except SessionNotFoundError:
            return None

    def _load_snapshot(self, path: Path, session_id: str) -> Session:
        try:
            data = read_session_file(path)
        except FileNotFoundError:
            raise SessionNotFoundError(session_id) from None
        session = parse_session_bytes(data, path)
        if session.id != session_id:
            raise SessionCorruptedError(f"holds session {session.id!r}, not {session_id!r}", path)
        return session

    def list_session_ids(self) -> list[str]:
        """Ids of every session file in the folder, sorted."""
        return sorted(self.session_ids())

    def session_ids(self) -> set[str]:
        """Ids of every session file in the folder (one directory scan, no file reads)."""
        try:
            entries = os.scandir(self.storage_dir)
        except FileNotFoundError:
            return set()
        except OSError as exc:
            raise storage_error(f"cannot list {self.storage_dir}", exc) from exc
        ids: set[str] = set()
        with entries:
            for entry in entries:
                name = entry.name
                if name.endswith(SESSION_SUFFIX) and conflict_copy_of(name) is None:
                    session_id = name[: -len(SESSION_SUFFIX)]
                    if is_valid_session_id(session_id):
                        ids.add(session_id)
        return ids

    def get_storage_size(self) -> int:
        """Bytes used by every file in the folder."""
        total = 0
        try:
            with os.scandir(self.storage_dir) as entries:
                for entry in entries:
                    with contextlib.suppress(OSError):
                        if entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
        except FileNotFoundError:
            return 0
        return total

    def snapshot_size(self, session_id: str) -> int:
        """Bytes of the snapshot alone (0 when there is none)."""
        try:
            return self.get_path(session_id).lstat().st_size
        except OSError:
            return 0

    def session_size(self, session_id: str) -> int:
        """Bytes used by one session's snapshot, journal and backup."""
        total = 0
        for suffix in (SESSION_SUFFIX, JOURNAL_SUFFIX, BACKUP_SUFFIX):
            with contextlib.suppress(OSError):
                total += self._file(session_id, suffix).lstat().st_size
        return total

    # -- writing ------------------------------------------------------------------------------

    def save(self, session: Session, journal: SessionJournal | None = None) -> int:
        """Write a full snapshot atomically (old one kept as backup), then empty the journal.

        A crash between the two steps is harmless: the snapshot records ``journal_seq``, so
        replay skips the records it already holds. Returns the snapshot's size in bytes.
        """
        path = self.get_path(session.id)
        self.ensure_dir()
        data = dumps_json(session.to_dict())
        atomic_write(path, data, backup_path=self.get_backup_path(session.id))
        if journal is not None:
            journal.truncate()
        else:
            # No live writer: the snapshot now holds everything the journal had.
            try:
                fsutil.unlink_if_present(self.get_journal_path(session.id))
            except OSError as exc:
                raise storage_error(f"cannot remove journal of {session.id}", exc) from exc
        return len(data)

    def open_journal(self, session_id: str, *, durable: bool = True) -> SessionJournal:
        """An open journal for the single writer of ``session_id``."""
        from opencode.sessions.journal import SessionJournal

        self.ensure_dir()
        journal = SessionJournal(self.get_journal_path(session_id), durable=durable)
        journal.open()
        return journal

    def writer_lock(self, session_id: str, purpose: Purpose = "open") -> SessionWriterLock:
        """The (not yet acquired) writer lock of ``session_id``.

        ``purpose="short"`` is for a change made and released at once: it waits a few seconds
        for another short writer; use it as ``with storage.writer_lock(id, "short"):``.
        """
        from opencode.sessions.locks import SessionWriterLock

        self.ensure_dir()
        return SessionWriterLock(
            session_id,
            self._file(session_id, LOCK_SUFFIX),
            self._file(session_id, OWNER_SUFFIX),
            purpose,
        )

    def has_files(self, session_id: str) -> bool:
        """True when any file of ``session_id`` is here: a snapshot, leftovers of a crash, or
        a folder-sync tool's conflict copy."""
        return any(
            os.path.lexists(self._file(session_id, suffix))
            for suffix in (SESSION_SUFFIX, *_CONTENT_LEFTOVERS)
        ) or bool(self.conflict_copies(session_id))

    def conflict_copies(self, session_id: str) -> list[Path]:
        """Copies of ``session_id`` that a folder-sync tool left beside it, oldest name first."""
        validate_session_id(session_id)
        try:
            names = os.listdir(self.storage_dir)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise storage_error(f"cannot list {self.storage_dir}", exc) from exc
        return [self.storage_dir / n for n in sorted(names) if conflict_copy_of(n) == session_id]

    def orphan_ids(self) -> set[str]:
        """Ids with leftover files but no snapshot (a crash mid-delete or mid-create)."""
        try:
            names = os.listdir(self.storage_dir)
        except FileNotFoundError:
            return set()
        except OSError as exc:
            raise storage_error(f"cannot list {self.storage_dir}", exc) from exc
        snapshots = {n[: -len(SESSION_SUFFIX)] for n in names if n.endswith(SESSION_SUFFIX)}
        found = set()
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            leftover = dot and f".{suffix}" in _CONTENT_LEFTOVERS and stem not in snapshots
            if leftover and is_valid_session_id(stem):
                found.add(stem)
        return found

    def delete(self, session_id: str) -> bool:
        """Remove the session and everything of it; False when there was nothing.

        The snapshot goes first, so a crash part-way never leaves an older version of the
        session listed (its journal gone, its snapshot back). What a crash leaves (journal,
        backup, lock files) is an orphan the index reports and that ``delete`` of the same id,
        or a cleanup, removes.
        """
        removed = False
        for suffix in (SESSION_SUFFIX, JOURNAL_SUFFIX, BACKUP_SUFFIX, OWNER_SUFFIX, LOCK_SUFFIX):
            try:
                gone = fsutil.unlink_if_present(self._file(session_id, suffix))
            except OSError as exc:
                raise storage_error(f"cannot delete session {session_id}", exc) from exc
            removed = removed or (gone and suffix not in (OWNER_SUFFIX, LOCK_SUFFIX))
        removed = self._remove_leftovers(session_id) or removed
        if removed:
            fsync_dir(self.storage_dir)
        return removed

    def _remove_leftovers(self, session_id: str) -> bool:
        """Remove temp files a crash mid-save left behind: they hold the session's text too."""
        prefixes = tuple(f".{session_id}{suffix}." for suffix in (SESSION_SUFFIX, BACKUP_SUFFIX))
        removed = False
        try:
            with os.scandir(self.storage_dir) as entries:
                names = [e.name for e in entries if e.name.startswith(prefixes)]
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise storage_error(f"cannot list {self.storage_dir}", exc) from exc
        for name in names:
            try:
                removed = fsutil.unlink_if_present(self.storage_dir / name) or removed
            except OSError as exc:
                raise storage_error(f"cannot delete session {session_id}", exc) from exc
        return removed

    def remove_stale_temp_files(self, older_than_seconds: float = 3600.0) -> int:
        """Sweep temp files no writer can still be using; returns how many were removed."""
        import time

        cutoff = time.time() - older_than_seconds
        count = 0
        try:
            with os.scandir(self.storage_dir) as entries:
                stale = [
                    e.path
                    for e in entries
                    if e.name.startswith(".")
                    and e.name.endswith((".tmp", ".link"))
                    and e.stat(follow_symlinks=False).st_mtime < cutoff
                ]
        except FileNotFoundError:
            return 0
        for path in stale:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                count += 1
        return count

    def recover_from_backup(self, session_id: str) -> bool:
        """Put the last good snapshot back in place; False when there is no usable backup."""
        backup = self.get_backup_path(session_id)
        try:
            data = read_session_file(backup)
            session = parse_session_bytes(data, backup)
        except (FileNotFoundError, SessionStorageError):
            return False
        if session.id != session_id:
            return False
        atomic_write(self.get_path(session_id), data)
        logger.info("restored session %s from its backup %s", session_id, backup)
        return True

    def cleanup_old_sessions(self, max_age_days: float = 30, keep_minimum: int = 10) -> list[str]:
        """Delete sessions not active for ``max_age_days``, keeping the newest ``keep_minimum``.

        A session whose writer lock is held (open here or in another process) or that is
        pinned is never deleted. Returns the deleted ids.
        """
        from opencode.sessions import cleanup
        from opencode.sessions.index import SessionIndex

        index = SessionIndex(self)
        try:
            plan = cleanup.plan_cleanup(self, index, max_age_days, keep_minimum)
            return [item.summary.id for item in cleanup.carry_out(self, index, plan).deleted]
        finally:
            index.close()

    def delete_if_unlocked(self, session_id: str) -> bool:
        """Delete ``session_id`` unless a writer holds it; True when something was deleted."""
        lock = self.writer_lock(session_id, "short")
        if not lock.try_acquire():
            return False
        try:
            return self.delete(session_id)
        finally:
            lock.release()


def parse_session_bytes(data: bytes, path: Path) -> Session:
    """Parse a snapshot, turning every kind of malformation into ``SessionCorruptedError``."""
    if not data[:4096].strip() and not data.strip():
        raise SessionCorruptedError("file is empty", path)
    with _collection_paused(len(data)):
        try:
            raw = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise SessionCorruptedError(f"not valid JSON ({exc})", path) from None
        try:
            return Session.from_dict(raw)
        except SessionCorruptedError as exc:
            raise type(exc)(exc.problem, path) from None


@contextlib.contextmanager
def _collection_paused(size: int) -> Iterator[None]:
    """No cyclic garbage collection while a large snapshot becomes objects: building a
    100,000-message session otherwise triggers repeated full collections (a fifth of its
    load time) that find nothing, since none of those objects is garbage yet."""
    if size < 1 << 20 or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
