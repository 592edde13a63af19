"""Where the index database is, and the one query TAB completion asks of it.

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
