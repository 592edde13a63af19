"""The index database: schema, connection settings and every query, by name.

The index is a SQLite file in ``.index/`` inside the sessions folder, a cache derived from
the session files (which stay the source of truth). Its name carries the schema version, so
two opencode versions sharing a folder never fight over one file: each keeps its own, and
an older version's file is removed when a newer one builds its own.

Nothing outside ``opencode.sessions.index`` and ``opencode.sessions.search`` calls this
module; TAB completion reads the same file through ``indexfile``, with the standard
library only.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from opencode.sessions.indexfile import (
    FILE_PREFIX,
    FILE_SUFFIX,
    INDEX_FOLDER,
    OBJECTS_BEFORE_TALLIES,
    OBJECTS_BEFORE_TITLES,
    SCHEMA_OBJECTS,
    SCHEMA_VERSION,
    schema_objects,
)
from opencode.sessions.indexfresh import get_state

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, Final

# A writer waits this long for another before SQLITE_BUSY; nobody holds the lock that long.
BUSY_TIMEOUT_MS: Final = 30_000
# Text of one message indexed for search; a 10 MB tool result is searchable by its start.
MAX_INDEXED_CHARS: Final = 64 * 1024
SEARCH_COLUMNS: Final = ("user_text", "assistant_text", "tool_text")

_SCHEMA: Final = (
    """CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        title_folded TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        active_at TEXT NOT NULL,
        message_count INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        tags TEXT NOT NULL,
        tags_folded TEXT NOT NULL,
        working_dir TEXT NOT NULL,
        model TEXT,
        pinned INTEGER NOT NULL DEFAULT 0,
        archived_at TEXT,
        parent_id TEXT,
        parent_message_id TEXT,
        origin TEXT,
        host TEXT,
        bytes INTEGER NOT NULL DEFAULT 0,
        damaged TEXT,
        warned INTEGER NOT NULL DEFAULT 0,
        snapshot_stat TEXT,
        journal_stat TEXT
    )""",
    "CREATE INDEX sessions_by_activity ON sessions(active_at, id)",
    # The default listing (pinned first, then recent, archived left out) reads one page.
    "CREATE INDEX sessions_listed ON sessions(pinned DESC, active_at DESC, id DESC)"
    " WHERE archived_at IS NULL",
    "CREATE INDEX sessions_recent ON sessions(active_at, id) WHERE archived_at IS NULL",
    # The few rows a read checks every time: open journals, damage not yet reported.
    "CREATE INDEX sessions_with_journal ON sessions(id) WHERE journal_stat IS NOT NULL",
    "CREATE INDEX sessions_unwarned ON sessions(id) WHERE damaged IS NOT NULL AND warned = 0",
    """CREATE TABLE message_text (
        rowid INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        role TEXT NOT NULL,
        at TEXT NOT NULL,
        user_text TEXT,
        assistant_text TEXT,
        tool_text TEXT
    )""",
    "CREATE INDEX message_text_by_session ON message_text(session_id)",
    """CREATE VIRTUAL TABLE message_search USING fts5(
        user_text, assistant_text, tool_text,
        content='message_text', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2'
    )""",
    "CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID",
    "CREATE TABLE orphans (id TEXT PRIMARY KEY, warned INTEGER NOT NULL DEFAULT 0)",
    """CREATE TABLE conflicts (
        session_id TEXT NOT NULL,
        file_name TEXT NOT NULL,
        PRIMARY KEY (session_id, file_name)
    ) WITHOUT ROWID""",
)
# Counts kept by triggers: the listing's "20 of 100,000" footer reads one row instead of
# scanning an index (tens of milliseconds at 100,000 sessions in a fresh process). Appends
# do not touch ``archived_at``, so they fire nothing.
_TALLIES: Final = (
    "CREATE TABLE tallies (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID",
    """CREATE TRIGGER sessions_tally_insert AFTER INSERT ON sessions BEGIN
        UPDATE tallies SET n = n + 1
            WHERE name = 'sessions' OR (name = 'listed' AND NEW.archived_at IS NULL);
    END""",
    """CREATE TRIGGER sessions_tally_delete AFTER DELETE ON sessions BEGIN
        UPDATE tallies SET n = n - 1
            WHERE name = 'sessions' OR (name = 'listed' AND OLD.archived_at IS NULL);
    END""",
    """CREATE TRIGGER sessions_tally_archive AFTER UPDATE OF archived_at ON sessions
        WHEN (OLD.archived_at IS NULL) != (NEW.archived_at IS NULL) BEGIN
        UPDATE tallies SET n = n + CASE WHEN NEW.archived_at IS NULL THEN 1 ELSE -1 END
            WHERE name = 'listed';
    END""",
    """INSERT INTO tallies (name, n) VALUES
        ('sessions', (SELECT count(*) FROM sessions)),
        ('listed', (SELECT count(*) FROM sessions WHERE archived_at IS NULL))""",
)
# ``list --search`` counts title matches over this small index instead of visiting 100,000
# table rows (300 ms at 100,000 sessions, 13 ms with it).
_TITLES: Final = (
    "CREATE INDEX sessions_titles ON sessions(title_folded) WHERE archived_at IS NULL",
)
# Indexes of this schema version made by older releases, and the statements that bring each
# up to date in place (a few counts and one small index, not a rebuild).
_UPGRADES: Final = (
    (OBJECTS_BEFORE_TALLIES, (*_TALLIES, *_TITLES)),
    (OBJECTS_BEFORE_TITLES, _TITLES),
)

SESSION_COLUMNS: Final = (
    "id",
    "title",
    "title_folded",
    "created_at",
    "updated_at",
    "active_at",
    "message_count",
    "prompt_tokens",
    "completion_tokens",
    "tags",
    "tags_folded",
    "working_dir",
    "model",
    "pinned",
    "archived_at",
    "parent_id",
    "parent_message_id",
    "origin",
    "host",
    "bytes",
    "damaged",
    "snapshot_stat",
    "journal_stat",
)
_UPSERT: Final = (
    f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(SESSION_COLUMNS))}) "
    "ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in SESSION_COLUMNS[1:])
    + ", warned = CASE WHEN excluded.damaged IS sessions.damaged THEN sessions.warned ELSE 0 END"
)


class IndexUnusableError(Exception):
    """The index file is damaged, foreign or of another schema: rebuild it."""


def index_folder(storage_dir: Path) -> Path:
    """The folder of the index files, inside the sessions folder.

    A folder of its own because SQLite creates and removes its ``-wal`` and ``-shm`` files
    on every open and last close: in the sessions folder that would change the folder's
    mtime, which is how the index notices files added behind its back.
    """
    return storage_dir / INDEX_FOLDER


def index_path(storage_dir: Path) -> Path:
    """Where this version's index lives for the sessions folder ``storage_dir``."""
    return index_folder(storage_dir) / f"{FILE_PREFIX}{SCHEMA_VERSION}{FILE_SUFFIX}"


# An early layout kept the database beside the sessions.
_EARLY_LAYOUT: Final = tuple(
    f"{FILE_PREFIX}{version}{FILE_SUFFIX}{suffix}"
    for version in range(1, SCHEMA_VERSION + 1)
    for suffix in ("", "-wal", "-shm", "-journal")
)
_INDEX_FILE: Final = re.compile(r"index-v(?P<version>\d{1,6})\.db(?:-wal|-shm|-journal)?")


def older_index_files(storage_dir: Path) -> list[Path]:
    """Index files of older schema versions, and ``index.json``/``index.lock`` of the first
    (found by name: the sessions folder may hold 100,000 files and is never listed here)."""
    early = ("index.json", "index.lock", *_EARLY_LAYOUT)
    found = [storage_dir / name for name in early]
    with contextlib.suppress(OSError):
        for name in os.listdir(index_folder(storage_dir)):
            match = _INDEX_FILE.fullmatch(name)
            if match is not None and int(match.group("version")) < SCHEMA_VERSION:
                found.append(index_folder(storage_dir) / name)
    return [path for path in found if os.path.lexists(path)]


def remove_index_files(path: Path) -> None:
    """Delete an index file with its -wal and -shm companions (links, not their targets)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def _refuse_foreign_folder(folder: Path) -> None:
    """The index folder must be a real folder: a file or a link in its place (even to a
    folder) is moved aside, so the cache is never written anywhere else."""
    try:
        mode = os.lstat(folder).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        return
    aside = f"{folder}.unusable-{os.getpid()}-{time.time_ns()}"
    os.rename(folder, aside)
    raise IndexUnusableError(f"{folder} was not a folder; moved it to {aside}")


def _refuse_special_files(path: Path) -> None:
    """SQLite follows links and would block on a FIFO: anything but a regular file in
    place of the index or its companions is moved out of the way (a folder, renamed
    aside) or removed (it is a cache), never opened."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        name = f"{path}{suffix}"
        try:
            mode = os.lstat(name).st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISREG(mode):
            continue
        if stat.S_ISDIR(mode):
            aside = f"{name}.unusable-{os.getpid()}-{time.time_ns()}"
            os.rename(name, aside)
            raise IndexUnusableError(f"{name} was a folder; moved it to {aside}")
        os.unlink(name)
        raise IndexUnusableError(f"{name} was not a regular file; removed it")


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open (or create) the index: WAL, a busy timeout, no trust in the file's schema.

    Raises ``IndexUnusableError`` when the file must be rebuilt, ``FileNotFoundError`` when
    it is missing and ``create`` is false.
    """
    _refuse_foreign_folder(path.parent)
    _refuse_special_files(path)
    existed = path.exists()
    if not existed:
        if not create:
            raise FileNotFoundError(path)
        from opencode import fsutil

        fsutil.make_private_dir(path.parent)
        os.close(fsutil.open_regular(path, os.O_RDWR | os.O_CREAT))  # 0600 before SQLite
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            return _open(path, existed)
        except sqlite3.OperationalError as exc:
            # Another process holds a lock SQLite would not wait for (switching a new file
            # to WAL, say): the file is fine, so wait and try again, never rebuild it.
            if not _is_busy(exc):
                raise IndexUnusableError(str(exc)) from None
            if time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)  # a retry back-off in library code, not a test's synchronisation
        pause = min(pause * 2, 0.25)


def _open(path: Path, existed: bool) -> sqlite3.Connection:
    """One attempt at ``connect``; a busy database raises ``sqlite3.OperationalError``."""
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise IndexUnusableError(str(exc)) from None
    try:
        _configure(db)
        if existed and _has_schema(db):
            _check_schema(db)
        else:
            _create_schema(db)
    except sqlite3.OperationalError as exc:
        db.close()
        if _is_busy(exc):
            raise
        raise IndexUnusableError(str(exc)) from None
    except (sqlite3.Error, IndexUnusableError) as exc:
        db.close()
        raise IndexUnusableError(str(exc)) from None
    return db


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED (any extended code): another connection's lock."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF in (5, 6)
    return "locked" in str(exc) or "busy" in str(exc)


def _configure(db: sqlite3.Connection) -> None:
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA trusted_schema = OFF")
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise IndexUnusableError(f"cannot use write-ahead logging (journal mode {mode})")
    # A cache: after a power cut it may lose its newest changes, which the reconcile redoes.
    db.execute("PRAGMA synchronous = NORMAL")


def _has_schema(db: sqlite3.Connection) -> bool:
    return bool(db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])


def _check_schema(db: sqlite3.Connection) -> None:
    """Refuse files of another version and files with objects we did not create (a
    planted trigger would run our writes through someone else's SQL)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version != SCHEMA_VERSION:
        raise IndexUnusableError(f"index schema version {version}, expected {SCHEMA_VERSION}")
    found = schema_objects(db)
    for before, statements in _UPGRADES:
        if found == before:
            _upgrade(db, before, statements)
            found = schema_objects(db)
    if found != SCHEMA_OBJECTS or not _triggers_are_ours(db):
        raise IndexUnusableError("the index holds objects opencode did not create")
    # No integrity scan here (it reads the whole file: seconds at 100,000 sessions); a
    # damaged page surfaces as sqlite3.DatabaseError on use, and the index is rebuilt then.


def _triggers_are_ours(db: sqlite3.Connection) -> bool:
    """Our trigger names with someone else's bodies would run their SQL on our writes."""
    ours = {s for s in _TALLIES if s.startswith("CREATE TRIGGER")}
    found = {sql for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'")}
    return found == ours


def _upgrade(
    db: sqlite3.Connection, before: frozenset[tuple[str, str]], statements: Sequence[str]
) -> None:
    """Bring an index made by an older release up to date in place."""
    with transaction(db):
        if schema_objects(db) == before:  # else another process did it first
            for statement in statements:
                db.execute(statement)


def _create_schema(db: sqlite3.Connection) -> None:
    with transaction(db):
        if _has_schema(db):
            return  # another process created it first
        for statement in (*_SCHEMA, *_TALLIES, *_TITLES):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction, taken up front so two writers queue instead of deadlocking."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


# -- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageText:
    """One message as the search index holds it."""

    message_id: str
    role: str
    at: str
    text: str


def upsert_session(db: sqlite3.Connection, row: Sequence[Any]) -> None:
    """Insert or replace one session's row (values in ``SESSION_COLUMNS`` order)."""
    db.execute(_UPSERT, tuple(row))


def upsert_sessions(db: sqlite3.Connection, rows: Iterable[Sequence[Any]]) -> None:
    """``upsert_session`` for many rows at once."""
    db.executemany(_UPSERT, (tuple(row) for row in rows))


def update_activity(
    db: sqlite3.Connection,
    session_id: str,
    *,
    updated_at: str,
    active_at: str,
    message_count: int,
    prompt_tokens: int,
    completion_tokens: int,
    journal_stat: str | None,
) -> bool:
    """Record one append's effect on a session's row; False when there is no row."""
    cursor = db.execute(
        "UPDATE sessions SET updated_at = ?, active_at = ?, message_count = ?,"
        " prompt_tokens = ?, completion_tokens = ?, journal_stat = ? WHERE id = ?",
        (
            updated_at,
            active_at,
            message_count,
            prompt_tokens,
            completion_tokens,
            journal_stat,
            session_id,
        ),
    )
    return cursor.rowcount > 0


def delete_session(db: sqlite3.Connection, session_id: str) -> bool:
    """Remove a session's row and its searchable text; False when it had no row."""
    delete_message_texts(db, session_id)
    return db.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0


def insert_message_texts(
    db: sqlite3.Connection, session_id: str, messages: Iterable[MessageText]
) -> None:
    """Make messages searchable (system messages and empty text are not)."""
    for values in _text_rows(session_id, messages):
        cursor = db.execute(_INSERT_TEXT, values)
        db.execute(
            "INSERT INTO message_search (rowid, user_text, assistant_text, tool_text)"
            " VALUES (?, ?, ?, ?)",
            (cursor.lastrowid, *values[4:]),
        )


def insert_texts_for_rebuild(
    db: sqlite3.Connection, session_id: str, messages: Iterable[MessageText]
) -> None:
    """Store messages' text without indexing it; ``rebuild_search`` indexes it all at once."""
    db.executemany(_INSERT_TEXT, _text_rows(session_id, messages))


def rebuild_search(db: sqlite3.Connection) -> None:
    """Build the full-text index from all the stored text in one pass."""
    db.execute("INSERT INTO message_search (message_search) VALUES ('rebuild')")


_INSERT_TEXT: Final = (
    "INSERT INTO message_text (session_id, message_id, role, at, user_text, assistant_text,"
    " tool_text) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _text_rows(session_id: str, messages: Iterable[MessageText]) -> Iterator[tuple[Any, ...]]:
    for message in messages:
        column = _search_column(message.role)
        text = message.text[:MAX_INDEXED_CHARS]
        if column is None or not text.strip():
            continue
        values = tuple(text if name == column else None for name in SEARCH_COLUMNS)
        yield (session_id, message.message_id, message.role, message.at, *values)


def _search_column(role: str) -> str | None:
    if role == "user":
        return "user_text"
    if role == "assistant":
        return "assistant_text"
    if role == "tool":
        return "tool_text"
    return None


def delete_message_texts(db: sqlite3.Connection, session_id: str) -> None:
    """Remove a session's searchable text (the search index needs the old values back)."""
    rows = db.execute(
        "SELECT rowid, user_text, assistant_text, tool_text FROM message_text WHERE session_id = ?",
        (session_id,),
    ).fetchall()
    db.executemany(
        "INSERT INTO message_search (message_search, rowid, user_text, assistant_text,"
        " tool_text) VALUES ('delete', ?, ?, ?, ?)",
        rows,
    )
    db.execute("DELETE FROM message_text WHERE session_id = ?", (session_id,))


def file_states(db: sqlite3.Connection) -> dict[str, tuple[str | None, str | None]]:
    """``id -> (snapshot stat, journal stat)`` of every row: what the reconcile compares."""
    return {
        row[0]: (row[1], row[2])
        for row in db.execute("SELECT id, snapshot_stat, journal_stat FROM sessions")
    }


def set_state(db: sqlite3.Connection, key: str, value: str | None) -> None:
    """Record (or, with None, forget) a value of the index's own bookkeeping."""
    if value is None:
        db.execute("DELETE FROM state WHERE key = ?", (key,))
    else:
        db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, value))


def replace_state(db: sqlite3.Connection, key: str, expected: str | None, value: str) -> bool:
    """Set ``key`` to ``value`` only if it is ``expected`` now (inside a transaction)."""
    if get_state(db, key) != expected:
        return False
    set_state(db, key, value)
    return True


def unwarned_damaged(db: sqlite3.Connection) -> list[tuple[str, str]]:
    """``(id, problem)`` of damaged sessions nobody has been warned about yet."""
    return db.execute(
        "SELECT id, damaged FROM sessions WHERE damaged IS NOT NULL AND warned = 0 ORDER BY id"
    ).fetchall()


def mark_warned(db: sqlite3.Connection, session_ids: Iterable[str]) -> None:
    """The user has been told about the damage of these sessions."""
    db.executemany("UPDATE sessions SET warned = 1 WHERE id = ?", [(i,) for i in session_ids])


def replace_orphans(db: sqlite3.Connection, ids: set[str]) -> list[str]:
    """Record the ids with leftover files only; returns those not reported before."""
    known = {row[0]: row[1] for row in db.execute("SELECT id, warned FROM orphans")}
    db.executemany("DELETE FROM orphans WHERE id = ?", [(i,) for i in known.keys() - ids])
    new = sorted(ids - {i for i, warned in known.items() if warned})
    db.executemany("INSERT OR REPLACE INTO orphans (id, warned) VALUES (?, 1)", [(i,) for i in new])
    return new


def replace_conflicts(db: sqlite3.Connection, found: dict[str, list[str]]) -> list[str]:
    """Record the conflict copies in the folder (session id -> file names); returns the
    file names not recorded before."""
    known = {(row[0], row[1]) for row in db.execute("SELECT session_id, file_name FROM conflicts")}
    now = {(sid, name) for sid, names in found.items() for name in names}
    db.executemany("DELETE FROM conflicts WHERE session_id = ? AND file_name = ?", known - now)
    db.executemany("INSERT INTO conflicts (session_id, file_name) VALUES (?, ?)", now - known)
    return sorted(name for _, name in now - known)


def orphan_ids(db: sqlite3.Connection) -> list[str]:
    """Ids that have leftover files but no session file."""
    return [row[0] for row in db.execute("SELECT id FROM orphans ORDER BY id")]


def forget_orphan(db: sqlite3.Connection, session_id: str) -> None:
    """The leftovers of ``session_id`` are gone."""
    db.execute("DELETE FROM orphans WHERE id = ?", (session_id,))


# -- statistics and imports -------------------------------------------------------------------

# What ``usage_by_group`` groups sessions by: an SQL expression over a ``sessions`` row.
# Days are the user's (SQLite's 'localtime' follows TZ like Python does).
USAGE_GROUPS: Final = {
    "all": "''",
    "model": "coalesce(model, '')",
    "day": "date(active_at, 'localtime')",
    "folder": "working_dir",
}


def usage_by_group(
    db: sqlite3.Connection, group: str, *, where: str, args: Sequence[Any]
) -> list[tuple[str, str, int, int, int, int, int]]:
    """``(group, model, sessions, messages, prompt tokens, completion tokens, bytes)`` per
    group and model (``''`` when none) of the sessions ``where`` keeps; ``where`` is empty
    or starts with `` WHERE``. Per model too, so costs can be priced per model."""
    key = USAGE_GROUPS[group]
    sql = (
        f"SELECT {key} AS grp, coalesce(model, '') AS mdl, count(*),"
        " coalesce(sum(message_count), 0), coalesce(sum(prompt_tokens), 0),"
        " coalesce(sum(completion_tokens), 0), coalesce(sum(bytes), 0)"
        f" FROM sessions{where} GROUP BY grp, mdl"
    )
    return db.execute(sql, tuple(args)).fetchall()


def imported_sessions(db: sqlite3.Connection, tool: str) -> dict[str, str]:
    """``source id -> session id`` of the sessions imported from ``tool`` (the ``origin``
    column holds ``metadata["imported_from"]``)."""
    rows = db.execute(
        "SELECT json_extract(origin, '$.id'), id FROM sessions WHERE origin IS NOT NULL"
        " AND CASE WHEN json_valid(origin) THEN json_extract(origin, '$.tool') = ?"
        " AND json_type(origin, '$.id') = 'text' ELSE 0 END"
        " ORDER BY created_at DESC, id DESC",
        (tool,),
    )
    return {source: session_id for source, session_id in rows}
