"""The session index: summaries and searchable text of every session, in SQLite.

The index is never the source of truth; the session files are. It is rebuilt from them when
it is missing, damaged or of another schema version, and reconciled with them on read:

* every row carries the identity (inode, size, mtime) of the snapshot and journal it was
  built from, so a file changed behind the index's back (a crash between a file write and
  the index update, a hand edit, a sync tool) is re-read, and an unchanged one never is;
* the folder's own identity is recorded after every reconcile and by every writer that
  indexes its own change, so a listing with nothing new looks at one folder ``stat`` and
  the few journals of open sessions, not at 100,000 files;
* a writer updates its session's row (counts, tokens, times, searchable text) in the same
  call that appends a message, so other terminals list open sessions as they are.

Damaged session files are listed as damaged and warned about once; ids with leftover files
but no session file (orphans) are reported once.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

import orjson

from opencode.logs import get_logger
from opencode.sessions import fts, indexdb, indexquery
from opencode.sessions.errors import (
    InvalidSessionValueError,
    SessionCorruptedError,
    SessionNotFoundError,
    SessionStorageError,
)
from opencode.sessions.ids import conflict_copy_of, is_valid_session_id
from opencode.sessions.indexfresh import (
    RACY_SECONDS,
    file_stat,
    folder_state,
    folder_unchanged,
    grown_journals,
    state_mtime,
)
from opencode.sessions.indexquery import (
    SELECT_SUMMARIES,
    SORT_ALIASES,
    SORT_FIELDS,
    filter_clauses,
    normalize_dir,
    sort_field,
    where_clause,
)
from opencode.sessions.models import Session, SessionMessage, SessionSummary
from opencode.sessions.rebuild import FileState, read_all
from opencode.sessions.storage import SessionStorage
from opencode.sessions.validate import format_timestamp, parse_timestamp

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, Final

logger = get_logger(__name__)

REBUILD_BATCH: Final = 500
# A new index over this many sessions is built in bulk (parallel reads, one search pass).
BULK_FROM: Final = 200

ProgressCallback = Callable[[int, int], None]
_TRACKED_SUFFIXES: Final = frozenset({"json", "jsonl"})
_LEFTOVER_SUFFIXES: Final = frozenset({"backup", "lock", "owner"})


class SessionIndex:
    """Summaries of every session in a ``SessionStorage``, kept in step with the files."""

    def __init__(self, storage: SessionStorage) -> None:
        self.storage = storage
        self._db: sqlite3.Connection | None = None
        # Told ``(done, total)`` while an index is built from scratch (a CLI shows a bar).
        self.rebuild_progress: ProgressCallback | None = None
        self._conflicts: dict[str, list[str]] = {}
        self._synced = False
        self._read_only = False

    # -- connection ---------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The index database file."""
        return indexdb.index_path(self.storage.storage_dir)

    def _connection(self) -> sqlite3.Connection | None:
        """The open database, created or rebuilt as needed; None when the folder is empty
        and read-only use needs no index."""
        if self._db is not None:
            return self._db
        if not self.storage.storage_dir.is_dir():
            return None
        try:
            self._db = indexdb.connect(self.path, create=True)
        except indexdb.IndexUnusableError as exc:
            logger.warning("the session index %s was unusable (%s); rebuilding it", self.path, exc)
            self._db = self._recreate()
        except (OSError, sqlite3.Error) as exc:
            raise SessionStorageError(f"cannot open the session index {self.path}: {exc}") from exc
        self._retire_older_indexes()
        return self._db

    def _recreate(self) -> sqlite3.Connection:
        indexdb.remove_index_files(self.path)
        try:
            return indexdb.connect(self.path, create=True)
        except (indexdb.IndexUnusableError, OSError, sqlite3.Error) as exc:
            raise SessionStorageError(
                f"cannot create the session index {self.path}: {exc}"
            ) from exc

    def _retire_older_indexes(self) -> None:
        """Remove index files of earlier versions (``index.json``): ours replaces them."""
        for path in indexdb.older_index_files(self.storage.storage_dir):
            with contextlib.suppress(OSError):
                os.unlink(path)

    def close(self) -> None:
        """Close the database connection (a later call opens it again)."""
        if self._db is not None:
            self._db.close()
            self._db = None
        self._synced = False

    def _ready(self) -> sqlite3.Connection | None:
        """The database, reconciled with the folder once per ``refresh``."""
        db = self._connection()
        if db is not None and not self._synced:
            self._sync(db)
            self._synced = True
        return db

    def refresh(self) -> None:
        """Look at the folder again on the next query (other processes may have written)."""
        self._synced = False

    # -- reconciling --------------------------------------------------------------------------

    def _sync(self, db: sqlite3.Connection) -> None:
        state = folder_state(self.storage.storage_dir)
        if not folder_unchanged(db, state):
            self._reconcile_folder(db, state)
        else:
            self._reconcile_journals(db)
        self._warn_once(db)

    def _reconcile_folder(self, db: sqlite3.Connection, state: str | None) -> None:
        """Compare every file with its row; re-read what changed, drop what is gone."""
        started = time.time()
        on_disk, orphans = self._scan_folder()
        known = indexdb.file_states(db)
        if not known and len(on_disk) >= BULK_FROM:  # a new index: build it in bulk
            self._build_in_bulk(db, on_disk, orphans, state, started)
            return
        changed = [
            sid
            for sid, files in on_disk.items()
            if known.get(sid) != (files.snapshot, files.journal)
        ]
        gone = known.keys() - on_disk.keys()
        if gone:
            with self._writing(db):
                for sid in gone:
                    # Checked again under the write lock: a session created after the scan
                    # has its file before its row, and its writer keeps that row.
                    if not is_valid_session_id(sid) or not self.storage.exists(sid):
                        indexdb.delete_session(db, sid)
        self._index_files(db, changed, on_disk)
        with self._writing(db):
            for sid in indexdb.replace_orphans(db, orphans):
                logger.warning(
                    "session %s has leftover files but no session file; "
                    "'opencode session delete %s' removes them",
                    sid,
                    sid,
                )
            for name in indexdb.replace_conflicts(db, self._conflicts):
                logger.warning(
                    "%s is a copy a sync tool made of a session changed on two machines; "
                    "'opencode session resolve %s' keeps both",
                    name,
                    conflict_copy_of(name),
                )
            trusted = state is not None and started - state_mtime(state) > RACY_SECONDS
            indexdb.set_state(db, "folder", state if trusted else None)
            indexdb.set_state(db, "checked_at", f"{started:.3f}")

    def _reconcile_journals(self, db: sqlite3.Connection) -> None:
        """The folder is as last seen: only journals of open sessions may have grown."""
        stale = grown_journals(db, self.storage.storage_dir)
        foreign = [sid for sid in stale if not is_valid_session_id(sid)]
        if foreign:  # rows no file could have (a hand-edited index): a full look drops them
            self._reconcile_folder(db, folder_state(self.storage.storage_dir))
        elif stale:
            self._index_files(db, stale, None)

    def _scan_folder(self) -> tuple[dict[str, FileState], set[str]]:
        """Every session id in the folder with its files' identities, and the orphan ids
        (leftover files but no session file): one pass over the folder. Conflict copies
        left by folder-sync tools are collected in ``self._conflicts``."""
        snapshots: dict[str, str] = {}
        journals: dict[str, str] = {}
        sizes: dict[str, int] = {}
        leftovers: set[str] = set()
        self._conflicts = {}
        try:
            entries = os.scandir(self.storage.storage_dir)
        except FileNotFoundError:
            return {}, set()
        except OSError as exc:
            raise SessionStorageError(f"cannot list {self.storage.storage_dir}: {exc}") from exc
        with entries:
            for entry in entries:
                copy_of = conflict_copy_of(entry.name)
                if copy_of is not None:
                    self._conflicts.setdefault(copy_of, []).append(entry.name)
                    continue
                stem, dot, suffix = entry.name.rpartition(".")
                if not dot or not is_valid_session_id(stem):
                    continue
                if suffix not in _TRACKED_SUFFIXES:
                    if suffix in _LEFTOVER_SUFFIXES:
                        leftovers.add(stem)
                    if suffix == "backup":
                        with contextlib.suppress(OSError):
                            sizes[stem] = (
                                sizes.get(stem, 0) + entry.stat(follow_symlinks=False).st_size
                            )
                    continue
                leftovers.add(stem)
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    found = snapshots if suffix == "json" else journals
                    found[stem] = f"{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"
                    sizes[stem] = sizes.get(stem, 0) + info.st_size
        on_disk = {
            sid: FileState(snap, journals.get(sid), sizes.get(sid, 0))
            for sid, snap in snapshots.items()
        }
        return on_disk, leftovers - snapshots.keys()

    def _index_files(
        self, db: sqlite3.Connection, ids: Sequence[str], known: dict[str, FileState] | None
    ) -> None:
        """Re-read these sessions from their files and store their rows, in batches."""
        for start in range(0, len(ids), REBUILD_BATCH):
            batch = [self._read(sid, known) for sid in ids[start : start + REBUILD_BATCH]]
            with self._writing(db):
                for sid, files, session, problem in batch:
                    self._store_read(db, sid, files, session, problem)

    def _read(
        self, session_id: str, known: dict[str, FileState] | None
    ) -> tuple[str, FileState, Session | None, str | None]:
        """Stat, then load: a change after the stat shows up as a mismatch next time."""
        files = known[session_id] if known is not None else self._files(session_id)
        if files.snapshot is None:
            return session_id, files, None, None
        try:
            return session_id, files, self.storage.load(session_id), None
        except SessionNotFoundError:
            return session_id, FileState(None, None), None, None
        except SessionStorageError as exc:
            return session_id, files, None, str(exc)

    def _files(self, session_id: str) -> FileState:
        return FileState(
            file_stat(self.storage.get_path(session_id)),
            file_stat(self.storage.get_journal_path(session_id)),
        )

    def _store_read(
        self,
        db: sqlite3.Connection,
        session_id: str,
        files: FileState,
        session: Session | None,
        problem: str | None,
    ) -> None:
        if session is not None:
            size = files.size or self._size(session_id)
            indexdb.upsert_session(db, index_row(session, files.snapshot, files.journal, size))
            indexdb.delete_message_texts(db, session_id)
            indexdb.insert_message_texts(db, session_id, searchable_texts(session))
        elif problem is not None:
            indexdb.upsert_session(db, self._damaged_row(db, session_id, files, problem))
            indexdb.delete_message_texts(db, session_id)
        else:
            indexdb.delete_session(db, session_id)

    def _damaged_row(
        self, db: sqlite3.Connection, session_id: str, files: FileState, problem: str
    ) -> tuple[Any, ...]:
        """Keep what the index knew of a session whose files no longer load, marked."""
        previous = self._row_values(db, session_id)
        if previous is None:
            when = self._mtime(session_id)
            previous = dict.fromkeys(indexdb.SESSION_COLUMNS)
            previous.update(
                id=session_id,
                title="",
                title_folded="",
                created_at=when,
                updated_at=when,
                active_at=when,
                message_count=0,
                prompt_tokens=0,
                completion_tokens=0,
                tags="[]",
                tags_folded="[]",
                working_dir="",
                pinned=0,
                bytes=0,
            )
        previous.update(damaged=problem, snapshot_stat=files.snapshot, journal_stat=files.journal)
        return tuple(previous[c] for c in indexdb.SESSION_COLUMNS)

    def _row_values(self, db: sqlite3.Connection, session_id: str) -> dict[str, Any] | None:
        columns = ", ".join(indexdb.SESSION_COLUMNS)
        row = db.execute(f"SELECT {columns} FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else dict(zip(indexdb.SESSION_COLUMNS, row, strict=True))

    def _mtime(self, session_id: str) -> str:
        try:
            stamp = os.lstat(self.storage.get_path(session_id)).st_mtime
        except OSError:
            stamp = time.time()
        return format_timestamp(datetime.fromtimestamp(stamp, timezone.utc))

    def _row_of(self, session: Session, files: FileState) -> tuple[Any, ...]:
        size = files.size or self._size(session.id)
        return index_row(session, files.snapshot, files.journal, size)

    def _size(self, session_id: str) -> int:
        return self.storage.session_size(session_id)

    def _warn_once(self, db: sqlite3.Connection) -> None:
        """Tell about each damaged session once (the read is cheap; a write only then)."""
        damaged = indexdb.unwarned_damaged(db)
        if not damaged:
            return
        for session_id, problem in damaged:
            logger.warning("session %s is damaged: %s", session_id, problem)
        with contextlib.suppress(SessionStorageError), self._writing(db):
            indexdb.mark_warned(db, [session_id for session_id, _ in damaged])

    @contextlib.contextmanager
    def _writing(self, db: sqlite3.Connection) -> Iterator[None]:
        """A write transaction; a read-only index just skips writing."""
        if self._read_only:
            yield
            return
        try:
            with indexdb.transaction(db):
                yield
        except sqlite3.OperationalError as exc:
            if "readonly" not in str(exc):
                raise SessionStorageError(f"cannot update the session index: {exc}") from exc
            self._read_only = True
            logger.warning("the session index is read-only; listing without updating it")
        except sqlite3.DatabaseError as exc:  # a damaged file: start afresh next time
            self._discard_damaged(exc)
            raise SessionStorageError(f"cannot update the session index: {exc}") from exc

    # -- queries ------------------------------------------------------------------------------

    def _query(self, sql: str, args: Sequence[Any] = ()) -> builtins.list[Any]:
        db = self._ready()
        if db is None:
            return []
        try:
            return db.execute(sql, tuple(args)).fetchall()
        except sqlite3.OperationalError as exc:
            raise SessionStorageError(f"cannot read the session index: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            self._discard_damaged(exc)
        db = self._ready()  # rebuilt from the session files
        if db is None:
            return []
        try:
            return db.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as exc:
            raise SessionStorageError(f"cannot read the session index: {exc}") from exc

    def _discard_damaged(self, exc: sqlite3.DatabaseError) -> None:
        """A damaged index file (found on use: nothing scans it whole on open) is removed;
        the next use rebuilds it from the session files."""
        logger.warning("the session index %s is damaged (%s); rebuilding it", self.path, exc)
        self.close()
        indexdb.remove_index_files(self.path)

    def _summaries(self, sql: str, args: Sequence[Any] = ()) -> builtins.list[SessionSummary]:
        """Rows as summaries. A row that no longer reads (a hand-edited or damaged index)
        makes the index rebuild itself from the session files, once."""
        for attempt in (1, 2):
            rows = self._query(sql, args)
            try:
                return [_summary(row) for row in rows]
            except (ValueError, OverflowError, TypeError, orjson.JSONDecodeError) as exc:
                if attempt == 2:
                    raise SessionStorageError(f"the session index cannot be read: {exc}") from exc
                logger.warning(
                    "the session index %s has an unreadable row; rebuilding it", self.path
                )
                self.close()
                indexdb.remove_index_files(self.path)
        return []

    def count(self) -> int:
        """How many sessions are indexed."""
        return self._tally("sessions")

    def _tally(self, name: str) -> int:
        rows = self._query(indexquery.TALLY_SQL, (name,))
        return int(rows[0][0]) if rows else 0

    def __len__(self) -> int:
        return self.count()

    def __contains__(self, session_id: object) -> bool:
        if not isinstance(session_id, str):
            return False
        return bool(self._query("SELECT 1 FROM sessions WHERE id = ?", (session_id,)))

    def get(self, session_id: str) -> SessionSummary | None:
        """The summary of ``session_id``, if indexed."""
        found = self._summaries(f"{SELECT_SUMMARIES} WHERE id = ?", (session_id,))
        return found[0] if found else None

    def ids(self) -> builtins.list[str]:
        """Every indexed id."""
        return [row[0] for row in self._query("SELECT id FROM sessions ORDER BY id")]

    def file_states(self) -> dict[str, tuple[str | None, str | None]]:
        """``id -> (snapshot identity, journal identity)`` of every session, reconciled with
        the folder first: sync tells changed sessions apart without reading any of them."""
        db = self._ready()
        if db is None:
            return {}
        try:
            return indexdb.file_states(db)
        except sqlite3.Error as exc:
            raise SessionStorageError(f"cannot read the session index: {exc}") from exc

    def ids_starting_with(self, prefix: str) -> builtins.list[str]:
        """Indexed ids that begin with ``prefix``."""
        upper = prefix + "\U0010ffff"
        sql = "SELECT id FROM sessions WHERE id >= ? AND id < ? ORDER BY id"
        return [row[0] for row in self._query(sql, (prefix, upper))]

    def short_ids(self, session_ids: Iterable[str], minimum: int = 8) -> dict[str, str]:
        """The shortest prefix of each id (at least ``minimum`` characters) that no other
        indexed session shares, so a shown id can always be typed back."""
        shorts = {}
        for sid in session_ids:
            neighbours = self._query(indexquery.NEIGHBOURS_SQL, (sid, sid))
            shorts[sid] = indexquery.short_id(sid, neighbours[0] if neighbours else (), minimum)
        return shorts

    def with_title(self, title: str) -> builtins.list[SessionSummary]:
        """Sessions whose title is ``title``, ignoring case, most recently active first."""
        return self._summaries(
            f"{SELECT_SUMMARIES} WHERE title_folded = ? ORDER BY active_at DESC, id DESC",
            (title.casefold(),),
        )

    def damaged(self) -> builtins.list[SessionSummary]:
        """Sessions whose files do not load."""
        return self._summaries(f"{SELECT_SUMMARIES} WHERE damaged IS NOT NULL")

    def orphans(self) -> builtins.list[str]:
        """Ids with leftover files (journal, backup, lock) but no session file."""
        db = self._ready()
        return [] if db is None else indexdb.orphan_ids(db)

    def list(
        self,
        limit: int | None = None,
        offset: int = 0,
        sort_by: str = "active_at",
        descending: bool = True,
        tags: Iterable[str] | None = None,
        search: str | None = None,
        working_dir: str | os.PathLike[str] | None = None,
        *,
        under_dir: str | os.PathLike[str] | None = None,
        archived: bool | None = False,
        pinned_first: bool = False,
    ) -> builtins.list[SessionSummary]:
        """Filtered, sorted, paginated summaries.

        ``tags``: a session must carry all of them (any case); ``search``: case-insensitive
        substring of the title; ``working_dir``: the folder the session was started in;
        ``under_dir``: that folder or any folder below it (a project); ``archived``: False
        leaves archived sessions out, True lists only them, None lists both. With
        ``pinned_first`` pinned sessions come first (the way listings show them; "the
        latest session" never means a pinned one).
        """
        filters = where_clause(tags, search, working_dir, under_dir, archived)
        sql, args = indexquery.list_sql(limit, offset, sort_by, descending, filters, pinned_first)
        return self._summaries(sql, args)

    def count_matching(
        self,
        tags: Iterable[str] | None = None,
        search: str | None = None,
        working_dir: str | os.PathLike[str] | None = None,
        *,
        under_dir: str | os.PathLike[str] | None = None,
        archived: bool | None = False,
    ) -> int:
        """How many sessions ``list`` with these filters would return without a limit."""
        rows = self._query(*indexquery.count_sql(tags, search, working_dir, under_dir, archived))
        return int(rows[0][0]) if rows else 0

    def get_recent(self, count: int = 10) -> builtins.list[SessionSummary]:
        """The ``count`` most recently active sessions."""
        return self.list(limit=count)

    def get_by_working_dir(
        self, working_dir: str | os.PathLike[str]
    ) -> builtins.list[SessionSummary]:
        """Sessions started in ``working_dir``, most recent first."""
        return self.list(working_dir=working_dir)

    def search_rows(
        self,
        match: str,
        *,
        clauses: Sequence[str],
        args: Sequence[Any],
        limit: int,
        window: int,
    ) -> tuple[builtins.list[tuple[str, int, float]], dict[int, tuple[str, str, str, str]]]:
        """The best message of each matching session (ranked), and those messages' snippets.

        ``clauses`` filter the session row (``s``) and message (``t``). For a very common
        query only the newest ``window`` matching messages are ranked, which bounds the
        cost whatever the size of the store. ``sqlite3.OperationalError`` passes through
        for a malformed query.
        """
        db = self._ready()
        if db is None:
            return [], {}
        where = "".join(f" AND {clause}" for clause in clauses)
        return fts.ranked_matches(db, match, where=where, args=args, limit=limit, window=window)

    def usage_rows(
        self, group: str, clauses: Sequence[str], args: Sequence[Any]
    ) -> builtins.list[tuple[str, str, int, int, int, int, int]]:
        """Session counts, messages, tokens and bytes per ``group`` and model (see
        ``indexdb.usage_by_group``) of the sessions matching ``clauses``."""
        db = self._ready()
        if db is None:
            return []
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        try:
            return indexdb.usage_by_group(db, group, where=where, args=args)
        except sqlite3.Error as exc:
            raise SessionStorageError(f"cannot read the session index: {exc}") from exc

    def imports_from(self, tool: str) -> dict[str, str]:
        """``source id -> session id`` of every session imported from ``tool``."""
        db = self._ready()
        if db is None:
            return {}
        try:
            return indexdb.imported_sessions(db, tool)
        except sqlite3.Error as exc:
            raise SessionStorageError(f"cannot read the session index: {exc}") from exc

    # -- changes ------------------------------------------------------------------------------

    def add(self, session: Session, *, folder_before: str | None = None) -> None:
        """Index ``session`` as it is in memory (its files were just written).

        ``folder_before`` is the folder's state (``folder_state``) from just before the
        caller changed files in it: when nobody else changed the folder since the index
        last looked, the index can keep trusting it without a scan.
        """
        db = self._connection()
        if db is None:
            return
        files = self._files(session.id)
        with self._writing(db):
            indexdb.upsert_session(
                db, index_row(session, files.snapshot, files.journal, self._size(session.id))
            )
            indexdb.delete_message_texts(db, session.id)
            indexdb.insert_message_texts(db, session.id, searchable_texts(session))
            self._note_folder_change(db, folder_before)

    def update(self, session: Session, *, folder_before: str | None = None) -> None:
        """Refresh the row of ``session`` from memory (title, tags, counts, file identities)."""
        db = self._connection()
        if db is None:
            return
        files = self._files(session.id)
        with self._writing(db):
            indexdb.upsert_session(
                db, index_row(session, files.snapshot, files.journal, self._size(session.id))
            )
            self._note_folder_change(db, folder_before)

    def record_message(self, session: Session, message: SessionMessage | None = None) -> None:
        """After one journaled change, in one transaction with the journal's new identity:
        for a message, counts, tokens, times and its searchable text; for anything else
        (usage, a tool run, title, tags, metadata) the whole row. Recording the identity
        and the change together is what lets a crash in between heal on the next read.

        A session without a row (the index was rebuilt meanwhile) is indexed whole.
        """
        db = self._connection()
        if db is None:
            return
        journal = file_stat(self.storage.get_journal_path(session.id))
        with self._writing(db):
            found = message is not None and indexdb.update_activity(
                db,
                session.id,
                updated_at=format_timestamp(session.updated_at),
                active_at=format_timestamp(session.active_at),
                message_count=session.message_count,
                prompt_tokens=session.total_prompt_tokens,
                completion_tokens=session.total_completion_tokens,
                journal_stat=journal,
            )
            if found and message is not None:
                indexdb.insert_message_texts(db, session.id, _message_texts([message]))
                return
            files = FileState(file_stat(self.storage.get_path(session.id)), journal)
            known = db.execute("SELECT 1 FROM sessions WHERE id = ?", (session.id,)).fetchone()
            indexdb.upsert_session(
                db, index_row(session, files.snapshot, files.journal, self._size(session.id))
            )
            if known is None:
                indexdb.insert_message_texts(db, session.id, searchable_texts(session))

    def remove(self, session_id: str, *, folder_before: str | None = None) -> bool:
        """Drop ``session_id`` (row and searchable text); False when it was not there."""
        db = self._connection()
        if db is None:
            return False
        with self._writing(db):
            present = indexdb.delete_session(db, session_id)
            indexdb.forget_orphan(db, session_id)
            self._note_folder_change(db, folder_before)
        return present

    def _note_folder_change(self, db: sqlite3.Connection, before: str | None) -> None:
        """Our own change to the folder is indexed: if the index had seen the folder as it
        was just before it, it has now seen it as it is."""
        if before is None:
            return
        after = folder_state(self.storage.storage_dir)
        if after is not None:
            indexdb.replace_state(db, "folder", before, after)

    def folder_state(self) -> str | None:
        """The folder's state now, to pass as ``folder_before`` after changing files."""
        return folder_state(self.storage.storage_dir)

    @property
    def is_dirty(self) -> bool:
        """Always False: every change is written at once."""
        return False

    def save_if_dirty(self) -> bool:
        """Kept for the spec's API: changes are written as they happen, so there is never
        anything left to save. Returns False."""
        return False

    def rebuild(self, progress: ProgressCallback | None = None) -> int:
        """Build the index afresh from the session files (each read once, in parallel);
        returns the session count. ``progress(done, total)`` is called as sessions are read.
        """
        self.storage.ensure_dir()
        self.close()
        indexdb.remove_index_files(self.path)
        db = self._connection()
        if db is None:  # pragma: no cover - ensure_dir made the folder
            return 0
        state = folder_state(self.storage.storage_dir)
        started = time.time()
        on_disk, orphans = self._scan_folder()
        self._build_in_bulk(db, on_disk, orphans, state, started, progress)
        self._synced = True
        self._warn_once(db)
        return self.count()

    def _build_in_bulk(
        self,
        db: sqlite3.Connection,
        on_disk: dict[str, FileState],
        orphans: set[str],
        state: str | None,
        started: float,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Fill an empty index from the files: read in parallel, written in large
        transactions, searchable text indexed once at the end."""
        total = len(on_disk)
        progress = progress or self.rebuild_progress

        def report(done: int) -> None:
            if progress is not None:
                progress(done, total)

        batch: builtins.list[Any] = []
        for result in read_all(self.storage, on_disk, report):
            batch.append(result)
            if len(batch) >= REBUILD_BATCH * 4:
                self._store_rebuilt(db, batch)
                batch = []
        self._store_rebuilt(db, batch)
        with self._writing(db):
            indexdb.rebuild_search(db)
            indexdb.replace_orphans(db, orphans)
            indexdb.replace_conflicts(db, self._conflicts)
            trusted = state is not None and started - state_mtime(state) > RACY_SECONDS
            indexdb.set_state(db, "folder", state if trusted else None)
            indexdb.set_state(db, "checked_at", f"{started:.3f}")

    def _store_rebuilt(self, db: sqlite3.Connection, results: Sequence[Any]) -> None:
        """Rows and text of freshly read sessions, in one transaction (text not yet indexed)."""
        with self._writing(db):
            for result in results:
                if result.missing:
                    continue
                if result.row is None:
                    row = self._damaged_row(db, result.session_id, result.files, result.problem)
                    indexdb.upsert_session(db, row)
                    continue
                indexdb.upsert_session(db, result.row)
                texts = (indexdb.MessageText(*text) for text in result.texts)
                indexdb.insert_texts_for_rebuild(db, result.session_id, texts)


# -- rows -------------------------------------------------------------------------------------


def _summary(row: Sequence[Any]) -> SessionSummary:
    (sid, title, created, updated, count, prompt, completion, tags) = row[:8]
    (working_dir, model, active, damaged, pinned, archived, parent, size, conflicts) = row[8:]
    return SessionSummary(
        id=sid,
        title=title,
        created_at=parse_timestamp(created),
        updated_at=parse_timestamp(updated),
        message_count=count,
        total_tokens=prompt + completion,
        tags=_strings(tags),
        working_dir=working_dir,
        model=model,
        active_at=parse_timestamp(active),
        damaged=damaged,
        pinned=bool(pinned),
        archived_at=None if archived is None else parse_timestamp(archived),
        forked_from=parent,
        prompt_tokens=prompt,
        completion_tokens=completion,
        size_bytes=size,
        conflicts=_strings(conflicts) if conflicts and conflicts != "[]" else [],
    )


def _strings(text: str) -> list[str]:
    """A stored JSON list of strings; ``ValueError`` for anything else (a hand-edited row),
    which makes the index rebuild itself rather than fail while printing it."""
    value = orjson.loads(text)
    if type(value) is not list or not all(type(item) is str for item in value):
        raise ValueError("not a list of strings")
    return value


def index_row(
    session: Session, snapshot_stat: str | None, journal_stat: str | None, size: int
) -> tuple[Any, ...]:
    """A session's row, in ``indexdb.SESSION_COLUMNS`` order."""
    metadata = session.metadata
    parent = metadata.get("forked_from")
    parent = parent if isinstance(parent, dict) else {}
    archived = metadata.get("archived_at")
    origin = metadata.get("imported_from")
    return (
        session.id,
        session.title,
        session.title.casefold(),
        format_timestamp(session.created_at),
        format_timestamp(session.updated_at),
        format_timestamp(session.active_at),
        session.message_count,
        session.total_prompt_tokens,
        session.total_completion_tokens,
        orjson.dumps(session.tags).decode(),
        orjson.dumps([t.casefold() for t in session.tags]).decode(),
        _stored_dir(session.working_dir),
        session.model,
        1 if metadata.get("pinned") is True else 0,
        archived if isinstance(archived, str) and _is_timestamp(archived) else None,
        _str_or_none(parent.get("session_id")),
        _str_or_none(parent.get("message_id")),
        orjson.dumps(origin).decode() if isinstance(origin, dict) else None,
        _str_or_none(metadata.get("last_host")),
        size,
        None,
        snapshot_stat,
        journal_stat,
    )


def _stored_dir(folder: str) -> str:
    """A session's folder as queries compare it: absolute ones normalised; a folder from
    another system (``C:\\work``) kept as it is, never resolved against our cwd."""
    return normalize_dir(folder) if os.path.isabs(folder) else folder


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _is_timestamp(text: str) -> bool:
    try:
        parse_timestamp(text)
    except (ValueError, OverflowError):
        return False
    return True


def searchable_texts(session: Session) -> Iterator[indexdb.MessageText]:
    """What of each message the search index holds."""
    return _message_texts(session.messages)


def _message_texts(messages: Iterable[SessionMessage]) -> Iterator[indexdb.MessageText]:
    for message in messages:
        text = message.content
        if message.tool_calls:
            calls = " ".join(_tool_call_text(call) for call in message.tool_calls)
            text = f"{text}\n{calls}" if text else calls
        yield indexdb.MessageText(
            message.id, message.role, format_timestamp(message.timestamp), text
        )


def _tool_call_text(call: dict[str, Any]) -> str:
    function = call.get("function")
    if not isinstance(function, dict):
        return ""
    name, arguments = function.get("name"), function.get("arguments")
    return " ".join(part for part in (name, arguments) if isinstance(part, str))


def check_sort_field(sort_by: str) -> None:
    """Raise ``InvalidSessionValueError`` for a sort field ``list`` does not know."""
    try:
        sort_field(sort_by)
    except ValueError as exc:
        raise InvalidSessionValueError(str(exc)) from None


__all__ = [
    "SORT_ALIASES",
    "SORT_FIELDS",
    "SessionCorruptedError",
    "SessionIndex",
    "file_stat",
    "filter_clauses",
    "folder_state",
    "normalize_dir",
    "sort_field",
]
