"""Search answered straight from an index that needs no reconciling.

Most of the time of ``opencode session search`` for a rare word is start-up: the queries take
a few milliseconds, loading the session layer (its dataclasses, JSON and file handling) tens.
When the index is as the sessions folder is (``indexfresh``: one folder ``stat`` and the open
journals), this module runs the very queries of ``search`` (``fts``) on a read-only
connection and returns plain rows, importing nothing but the standard library.

Any doubt answers None, and then ``search`` does the work, reconciling and reporting as
usual: no index yet, a changed folder, a grown journal, a damaged session nobody has been
warned about, a file that is not a plain file, a busy or damaged database, another schema
version, a query FTS5 refuses.
"""

from __future__ import annotations

import sqlite3

from opencode.sessions import fts, indexfresh, indexquery
from opencode.sessions.errors import InvalidSessionValueError
from opencode.sessions.quicklist import ListedSession

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence


class QuickHit:
    """A session that matched (as a listing shows it), and its best message."""

    __slots__ = ("message_id", "role", "session", "snippet")

    def __init__(self, session: ListedSession, message_id: str, role: str, snippet: str) -> None:
        self.session = session
        self.message_id = message_id
        self.role = role
        self.snippet = snippet


def search_fresh_index(
    storage_dir: str,
    query: str,
    *,
    roles: Sequence[str] = (),
    include_archived: bool = False,
    limit: int = fts.DEFAULT_LIMIT,
) -> list[QuickHit] | None:
    """The hits ``search`` would find, best first; None when only ``search`` can tell."""
    try:
        match = fts.match_expression(query, roles)
    except InvalidSessionValueError:
        return None
    if limit < 1:
        return None
    db = indexfresh.open_fresh(storage_dir)
    if db is None:
        return None
    try:
        return _search(db, match, include_archived, limit)
    except (sqlite3.Error, ValueError, TypeError, OverflowError, RecursionError):
        return None  # a row that does not read: ``search`` reports it and rebuilds
    finally:
        db.close()


def _search(
    db: sqlite3.Connection, match: str, include_archived: bool, limit: int
) -> list[QuickHit] | None:
    where = "" if include_archived else " AND s.archived_at IS NULL"
    best, snippets = fts.ranked_matches(db, match, where=where, args=(), limit=limit)
    sessions = _sessions(db, [session_id for session_id, _, _ in best])
    hits = []
    for session_id, rowid, _ in best:
        found = snippets.get(rowid)
        listed = sessions.get(session_id)
        if found is None or listed is None:
            return None
        message_id, role, _, snippet = found
        hits.append(QuickHit(listed, message_id, role, snippet))
    return hits


def _sessions(db: sqlite3.Connection, session_ids: list[str]) -> dict[str, ListedSession]:
    """The summary rows of ``session_ids``, each read and checked."""
    if not session_ids:
        return {}
    marks = ", ".join("?" * len(session_ids))
    sql = f"{indexquery.SELECT_SUMMARIES} WHERE id IN ({marks})"
    return {row[0]: ListedSession(row, db) for row in db.execute(sql, session_ids).fetchall()}
