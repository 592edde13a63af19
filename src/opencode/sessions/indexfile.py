"""Where the index database is, what it holds, and the one query TAB completion asks of it.

TAB completion runs ``opencode`` on every key press, so this module imports nothing but
``os`` and ``sqlite3``; ``indexdb`` (everything else about the index) builds on it.
"""

from __future__ import annotations

import os
import sqlite3

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final

SCHEMA_VERSION: Final = 1
INDEX_FOLDER: Final = ".index"
FILE_PREFIX: Final = "index-v"
FILE_SUFFIX: Final = ".db"

# What a healthy index file holds besides our own objects (FTS5 shadow tables).
FTS_SHADOW: Final = frozenset(
    f"message_search_{part}" for part in ("data", "idx", "docsize", "config")
)
OBJECTS_BEFORE_TALLIES: Final = frozenset(
    {("table", name) for name in ("sessions", "message_text", "state", "orphans", "conflicts")}
    | {("table", "message_search")}
    | {("table", name) for name in FTS_SHADOW}
    | {
        ("index", name)
        for name in (
            "sessions_by_activity",
            "sessions_listed",
            "sessions_recent",
            "sessions_with_journal",
            "sessions_unwarned",
            "message_text_by_session",
        )
    }
)
OBJECTS_BEFORE_TITLES: Final = OBJECTS_BEFORE_TALLIES | {
    ("table", "tallies"),
    ("trigger", "sessions_tally_insert"),
    ("trigger", "sessions_tally_delete"),
    ("trigger", "sessions_tally_archive"),
}
SCHEMA_OBJECTS: Final = OBJECTS_BEFORE_TITLES | {("index", "sessions_titles")}


def schema_objects(db: sqlite3.Connection) -> set[tuple[str, str]]:
    """``(type, name)`` of every table, index and trigger in the file (SQLite's own
    automatic indexes left out): ``SCHEMA_OBJECTS`` in a file opencode made."""
    return {
        (kind, name)
        for kind, name in db.execute("SELECT type, name FROM sqlite_master")
        if not name.startswith("sqlite_autoindex_")
    }


def index_file(storage_dir: str) -> str:
    """The index database of the sessions folder ``storage_dir`` (a plain path string)."""
    return os.path.join(storage_dir, INDEX_FOLDER, f"{FILE_PREFIX}{SCHEMA_VERSION}{FILE_SUFFIX}")


def completion_rows(
    path: str, prefix: str, limit: int, *, archived: bool = False
) -> list[tuple[str, str]]:
    """``(id, title)`` of the sessions whose id starts with ``prefix`` (unarchived ones, or
    with ``archived`` only archived ones), most recently active first.

    Nothing is written: the connection is query-only and fails fast if the index is busy.
    """
    db = sqlite3.connect(path, timeout=1.0)
    try:
        db.execute("PRAGMA query_only = ON")
        db.execute("PRAGMA trusted_schema = OFF")
        upper = prefix + "\U0010ffff"
        return db.execute(
            "SELECT id, title FROM sessions WHERE id >= ? AND id < ?"
            f" AND archived_at IS {'NOT ' if archived else ''}NULL"
            " ORDER BY active_at DESC, id DESC LIMIT ?",
            (prefix, upper, limit),
        ).fetchall()
    finally:
        db.close()
