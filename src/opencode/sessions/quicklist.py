"""A listing answered straight from an index that needs no reconciling.

``opencode --list-sessions`` is mostly start-up: the query takes a millisecond or two,
loading the session layer (its dataclasses and JSON library) tens. When the index is as the
sessions folder is (``indexfresh.open_fresh``), ``quick_page`` runs the listing policy
(``listing.list_page``) on a reader that asks the very queries of ``SessionIndex``
(``indexquery``) of a read-only connection, and returns light rows instead of summaries.
It imports nothing but the standard library.

Any doubt answers None, and then ``SessionIndex`` does the work as usual: no index yet, a
changed folder, a grown journal, damage not yet warned about, a busy or damaged database.
"""

from __future__ import annotations

import sqlite3

from opencode.sessions import indexfresh, indexquery
from opencode.sessions.listing import ListingPage, ListingQuery, list_page
from opencode.sessions.validate import parse_timestamp

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Sequence
    from datetime import datetime
    from typing import Any


class ListedSession:
    """A session as a listing shows it: the fields of ``SessionSummary`` a table uses, read
    from one row of the index."""

    __slots__ = (
        "conflicts",
        "damaged",
        "forked_from",
        "id",
        "last_active",
        "message_count",
        "model",
        "pinned",
        "size_bytes",
        "tags",
        "title",
        "total_tokens",
    )

    def __init__(self, row: Sequence[Any], db: sqlite3.Connection) -> None:
        """Every field read and checked here, as ``SessionIndex`` checks a row: a row that
        does not read makes ``quick_page`` give up (and the index rebuild itself). ``db``
        decodes the JSON lists."""
        # In ``indexquery.SUMMARY_COLUMNS`` order.
        (self.id, self.title, created, updated, self.message_count, prompt) = row[:6]
        (completion, tags, _, self.model, active, self.damaged) = row[6:12]
        (pinned, archived, self.forked_from, self.size_bytes, conflicts) = row[12:]
        texts = (self.id, self.title)
        counts = (self.message_count, prompt, completion, self.size_bytes)
        if not all(type(v) is str for v in texts) or not all(type(v) is int for v in counts):
            raise TypeError("a summary row of the wrong types")
        for when in (created, updated) if archived is None else (created, updated, archived):
            parse_timestamp(when)
        self.last_active: datetime = parse_timestamp(active)
        self.total_tokens: int = prompt + completion
        self.pinned = bool(pinned)
        self.tags: list[str] = _strings(db, tags)
        self.conflicts: list[str] = _strings(db, conflicts)


def _strings(db: sqlite3.Connection, text: str | None) -> list[str]:
    """A JSON array of strings as stored, decoded by SQLite (``[]`` mostly; the ``json``
    module would cost a listing 3 ms to import). ``ValueError`` or ``sqlite3.Error`` for
    anything else."""
    if not text or text == "[]":
        return []
    if db.execute("SELECT json_type(?)", (text,)).fetchone()[0] != "array":
        raise ValueError("not a JSON array")
    items = db.execute("SELECT type, value FROM json_each(?) ORDER BY key", (text,)).fetchall()
    if any(kind != "text" for kind, _ in items):
        raise ValueError("not a list of strings")
    return [value for _, value in items]


class FreshIndexReader:
    """``SessionIndex``'s listing queries on a fresh index's read-only connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

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
    ) -> list[ListedSession]:
        filters = indexquery.where_clause(tags, search, working_dir, under_dir, archived)
        sql, args = indexquery.list_sql(limit, offset, sort_by, descending, filters, pinned_first)
        return [ListedSession(row, self.db) for row in self.db.execute(sql, args).fetchall()]

    def count_matching(
        self,
        tags: Iterable[str] | None = None,
        search: str | None = None,
        working_dir: str | os.PathLike[str] | None = None,
        *,
        under_dir: str | os.PathLike[str] | None = None,
        archived: bool | None = False,
    ) -> int:
        sql, args = indexquery.count_sql(tags, search, working_dir, under_dir, archived)
        row = self.db.execute(sql, args).fetchone()
        return 0 if row is None else int(row[0])

    def short_ids(self, session_ids: Iterable[str], minimum: int = 8) -> dict[str, str]:
        shorts = {}
        for sid in session_ids:
            neighbours = self.db.execute(indexquery.NEIGHBOURS_SQL, (sid, sid)).fetchone()
            shorts[sid] = indexquery.short_id(sid, neighbours or (), minimum)
        return shorts


def quick_page(storage_dir: str, query: ListingQuery) -> ListingPage | None:
    """The page ``list_page`` would give for ``query``, read from a fresh index; None when
    only ``SessionIndex`` can tell (the index must be reconciled, or a folder compared)."""
    if query.working_dir is not None or query.under_dir is not None:
        return None  # comparing folders needs the session layer's text rules
    db = indexfresh.open_fresh(storage_dir)
    if db is None:
        return None
    try:
        return list_page(FreshIndexReader(db), query)
    except (sqlite3.Error, ValueError, TypeError, OverflowError, RecursionError):
        return None
    finally:
        db.close()
