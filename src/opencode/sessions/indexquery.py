"""The listing queries of the index database: which rows, in what order, how many.

``SessionIndex`` runs them on the database it keeps reconciled; ``quicklist`` runs the very
same SQL on an index that needs no reconciling, for a listing that starts in a fraction of
the time. Standard library only (``titles`` is imported when a folder is compared).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any, Final

SORT_COLUMNS: Final = {
    "active_at": "active_at",
    "updated_at": "updated_at",
    "created_at": "created_at",
    "title": "title_folded",
    "message_count": "message_count",
    "total_tokens": "prompt_tokens + completion_tokens",
}
SORT_ALIASES: Final = {
    "active": "active_at",
    "recent": "active_at",
    "updated": "active_at",
    "changed": "updated_at",
    "created": "created_at",
    "messages": "message_count",
    "tokens": "total_tokens",
}
SORT_FIELDS: Final = tuple(SORT_COLUMNS)

# A summary row: ``index._summary`` and ``quicklist`` read the columns in this order.
SUMMARY_COLUMNS: Final = (
    "id, title, created_at, updated_at, message_count, prompt_tokens, completion_tokens, tags,"
    " working_dir, model, active_at, damaged, pinned, archived_at, parent_id, bytes,"
    " (SELECT json_group_array(file_name) FROM conflicts c WHERE c.session_id = sessions.id)"
)
SELECT_SUMMARIES: Final = f"SELECT {SUMMARY_COLUMNS} FROM sessions"
# The neighbours of an id in id order: how long its shortest unambiguous prefix must be.
NEIGHBOURS_SQL: Final = (
    "SELECT (SELECT max(id) FROM sessions WHERE id < ?), "  # the one before
    "(SELECT min(id) FROM sessions WHERE id > ?)"  # and the one after
)


def normalize_dir(path: str | os.PathLike[str]) -> str:
    """Compare working folders by absolute, normalised path (symlinks left alone)."""
    from opencode.sessions.titles import storable_text

    text = os.fspath(path)
    if not text:
        return ""
    # Stored folders went through storable_text; compare queries the same way.
    return storable_text(os.path.abspath(os.path.expanduser(text)))


def filter_clauses(
    tags: Iterable[str] | None = None,
    search: str | None = None,
    working_dir: str | os.PathLike[str] | None = None,
    under_dir: str | os.PathLike[str] | None = None,
) -> tuple[list[str], list[Any]]:
    """SQL conditions on a ``sessions`` row, and their arguments."""
    clauses: list[str] = []
    args: list[Any] = []
    for tag in dict.fromkeys(t.casefold() for t in tags or ()):
        clauses.append("EXISTS (SELECT 1 FROM json_each(tags_folded) WHERE value = ?)")
        args.append(tag)
    if search:
        clauses.append("instr(title_folded, ?) > 0")
        args.append(search.casefold())
    if working_dir is not None:
        clauses.append("working_dir = ?")
        args.append(normalize_dir(working_dir))
    if under_dir is not None:
        root = normalize_dir(under_dir).rstrip("/") or "/"
        clauses.append("(working_dir = ? OR substr(working_dir, 1, ?) = ?)")
        below = root if root.endswith("/") else root + "/"
        args += [root, len(below), below]
    return clauses, args


def where_clause(
    tags: Iterable[str] | None,
    search: str | None,
    working_dir: str | os.PathLike[str] | None,
    under_dir: str | os.PathLike[str] | None,
    archived: bool | None,
) -> tuple[str, list[Any]]:
    """`` WHERE ...`` (or nothing) for a listing's filters, and its arguments."""
    clauses, args = filter_clauses(tags, search, working_dir, under_dir)
    if archived is not None:
        clauses.append("archived_at IS NOT NULL" if archived else "archived_at IS NULL")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def sort_field(sort_by: str) -> str:
    """The canonical name of a sort field or alias; ``ValueError`` for an unknown one."""
    name = SORT_ALIASES.get(sort_by, sort_by)
    if name not in SORT_COLUMNS:
        choices = ", ".join(SORT_FIELDS)
        raise ValueError(f"cannot sort by {sort_by!r}; choose one of {choices}")
    return name


def order_clause(sort_by: str, descending: bool, pinned_first: bool = False) -> str:
    """The ``ORDER BY`` terms: the field, then the id as a tie-break, pinned first if asked."""
    field = sort_field(sort_by)
    direction = "DESC" if descending else "ASC"
    pinned = "pinned DESC, " if pinned_first else ""
    return f"{pinned}{SORT_COLUMNS[field]} {direction}, id {direction}"


def list_sql(
    limit: int | None,
    offset: int,
    sort_by: str,
    descending: bool,
    filters: tuple[str, list[Any]],
    pinned_first: bool,
) -> tuple[str, list[Any]]:
    """The query of a page of summaries; ``ValueError`` for a negative limit or offset."""
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    if offset < 0:
        raise ValueError("offset must not be negative")
    where, args = filters
    order = order_clause(sort_by, descending, pinned_first)
    sql = f"{SELECT_SUMMARIES}{where} ORDER BY {order} LIMIT ? OFFSET ?"
    return sql, [*args, -1 if limit is None else limit, offset]


def count_sql(
    tags: Iterable[str] | None,
    search: str | None,
    working_dir: str | os.PathLike[str] | None,
    under_dir: str | os.PathLike[str] | None,
    archived: bool | None,
) -> tuple[str, list[Any]]:
    """The query of how many sessions a listing's filters keep: a kept tally (``sessions``
    or ``listed``) when nothing is filtered, else a count of the rows. One row, one value."""
    if not (tags or search or working_dir or under_dir) and archived is not True:
        return TALLY_SQL, ["sessions" if archived is None else "listed"]
    where, args = where_clause(tags, search, working_dir, under_dir, archived)
    return COUNT_SQL + where, args


TALLY_SQL: Final = "SELECT n FROM tallies WHERE name = ?"
COUNT_SQL: Final = "SELECT count(*) FROM sessions"  # then the filters' WHERE


def short_id(session_id: str, neighbours: Sequence[str | None], minimum: int = 8) -> str:
    """The shortest prefix of ``session_id`` (at least ``minimum`` characters) that its
    neighbours in id order (``NEIGHBOURS_SQL``) do not share."""
    length = minimum
    for other in neighbours:
        if other is not None:
            length = max(length, _common_prefix(session_id, other) + 1)
    return session_id[:length]


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share."""
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length
