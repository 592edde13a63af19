"""Is the index as the sessions folder is? The look every use of the index starts with.

A writer records the folder's identity (inode and mtime) after indexing its own change, and
every reconcile records it after comparing each file with its row. While the folder keeps
that identity, no session was added, renamed or removed behind the index's back; only the
journals of sessions open elsewhere may have grown, and their rows carry each journal's
identity. So a fresh index is known from one folder ``stat`` and the open journals.

Standard library only: the quick search path asks this without loading the session layer.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time

from opencode.sessions.filenames import JOURNAL_SUFFIX
from opencode.sessions.ids import is_valid_session_id
from opencode.sessions.indexfile import SCHEMA_OBJECTS, SCHEMA_VERSION, index_file, schema_objects

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final

# A folder identity recorded less than this long after the folder last changed may be
# shared by a later change in the same clock tick: it is not trusted (as git's "racy" index).
RACY_SECONDS: Final = 2.0
# Even a folder that looks unchanged is compared file by file this often.
FULL_RECONCILE_SECONDS: Final = 600.0
# A quick answer never waits on a writer: a busy index goes the usual way, which waits.
QUICK_TIMEOUT_SECONDS: Final = 0.5
_INDEX_FILES: Final = ("", "-wal", "-shm", "-journal")


def file_stat(path: str | os.PathLike[str]) -> str | None:
    """``inode:size:mtime_ns`` of a file (not following links); None when absent."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return f"{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"


def folder_state(path: str | os.PathLike[str]) -> str | None:
    """``inode:mtime_ns`` of a folder: changes whenever a file in it is added, renamed or
    removed. None when the folder does not exist."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return f"{info.st_ino}:{info.st_mtime_ns}"


def state_mtime(state: str) -> float:
    """The mtime (seconds) in a ``folder_state``."""
    return int(state.rpartition(":")[2]) / 1e9


def get_state(db: sqlite3.Connection, key: str) -> str | None:
    """A value of the index's own bookkeeping."""
    row = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def folder_unchanged(db: sqlite3.Connection, state: str | None) -> bool:
    """True when the folder (now ``state``) is as the index last saw it, and the last look
    at every file is recent enough to trust that."""
    if state is None or state != get_state(db, "folder"):
        return False
    checked = float(get_state(db, "checked_at") or 0)
    return time.time() - checked <= FULL_RECONCILE_SECONDS


def grown_journals(db: sqlite3.Connection, storage_dir: str | os.PathLike[str]) -> list[str]:
    """Ids of the sessions whose journal is not as their row says (appended to since).
    A row with an id no file could have (a hand-edited index) counts as grown, so the
    reader that re-reads it is the one that reports it."""
    folder = os.fspath(storage_dir)
    rows = db.execute("SELECT id, journal_stat FROM sessions WHERE journal_stat IS NOT NULL")
    return [
        session_id
        for session_id, recorded in rows.fetchall()
        if not is_valid_session_id(session_id)
        or file_stat(os.path.join(folder, session_id + JOURNAL_SUFFIX)) != recorded
    ]


def has_unwarned_damage(db: sqlite3.Connection) -> bool:
    """True when a damaged session has not been warned about yet."""
    row = db.execute(
        "SELECT 1 FROM sessions WHERE damaged IS NOT NULL AND warned = 0 LIMIT 1"
    ).fetchone()
    return row is not None


def open_fresh(storage_dir: str) -> sqlite3.Connection | None:
    """A read-only connection to the index of ``storage_dir``, inside one read transaction,
    when the index needs no reconciling and nothing to be warned about; else None (the
    usual way, ``SessionIndex``, then reconciles, repairs and reports).

    For answers read straight from the index (``quicksearch``, ``quicklist``): it never
    creates, repairs or waits for anything. The caller closes the connection.
    """
    path = index_file(storage_dir)
    if not _plain_files(path):
        return None
    try:
        db = sqlite3.connect(path, timeout=QUICK_TIMEOUT_SECONDS, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        db.execute("PRAGMA query_only = ON")
        db.execute("PRAGMA trusted_schema = OFF")
        db.execute("BEGIN")  # one snapshot for the freshness check and every query
        if _ours(db) and _fresh(db, storage_dir):
            return db
    except (sqlite3.Error, ValueError, OverflowError, RecursionError):
        pass
    db.close()
    return None


def _plain_files(path: str) -> bool:
    """The index folder is a folder and the index a regular file, its companions absent or
    regular files: nothing a link or a FIFO could redirect or block (``indexdb`` repairs them)."""
    try:
        if not stat.S_ISDIR(os.lstat(os.path.dirname(path)).st_mode):
            return False
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
    except OSError:
        return False
    for suffix in _INDEX_FILES[1:]:
        try:
            if not stat.S_ISREG(os.lstat(path + suffix).st_mode):
                return False
        except FileNotFoundError:
            continue
        except OSError:
            return False
    return True


def _ours(db: sqlite3.Connection) -> bool:
    """This schema version, holding exactly the objects opencode makes (anything else is
    for ``indexdb`` to upgrade, or to report and rebuild)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    return bool(version == SCHEMA_VERSION and schema_objects(db) == SCHEMA_OBJECTS)


def _fresh(db: sqlite3.Connection, storage_dir: str) -> bool:
    """As ``SessionIndex`` would find it: nothing to reconcile and nothing to warn about."""
    return (
        folder_unchanged(db, folder_state(storage_dir))
        and not grown_journals(db, storage_dir)
        and not has_unwarned_damage(db)
    )
