"""Searching what was said: full-text search over every message, one hit per session.

Queries use SQLite FTS5 syntax: words (all must match), ``"exact phrases"``, ``prefix*``,
``OR``, ``NOT`` and parentheses. Ranking is bm25 with the user's own words weighted above
answers, and answers above tool output. Each matching session appears once, with a snippet
of its best message; matches in the snippet sit between ``HIGHLIGHT_START`` and
``HIGHLIGHT_END``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from opencode.sessions.errors import InvalidSearchQueryError, InvalidSessionValueError
from opencode.sessions.fts import (
    DEFAULT_LIMIT,
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    RANK_WINDOW,
    SEARCH_ROLES,
    match_expression,
    query_error,
)
from opencode.sessions.validate import format_timestamp, parse_timestamp

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import os

    from opencode.sessions.index import SessionIndex
    from opencode.sessions.models import SessionSummary

__all__ = [
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "SEARCH_ROLES",
    "InvalidSearchQueryError",
    "SearchHit",
    "search",
]


@dataclass(frozen=True)
class SearchHit:
    """A session that matched, with its best message."""

    summary: SessionSummary
    message_id: str
    role: str
    at: datetime
    snippet: str
    score: float


def search(
    index: SessionIndex,
    query: str,
    *,
    roles: Sequence[str] = (),
    tags: Sequence[str] = (),
    working_dir: str | os.PathLike[str] | None = None,
    under_dir: str | os.PathLike[str] | None = None,
    since: datetime | None = None,
    include_archived: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> list[SearchHit]:
    """Sessions whose messages match ``query``, best first, at most ``limit`` of them.

    ``roles`` keeps matches in messages of those roles (``user``, ``assistant``, ``tool``);
    ``since`` keeps messages from then on. Raises ``InvalidSearchQueryError`` for a query
    FTS5 cannot parse and ``InvalidSessionValueError`` for other bad arguments.
    """
    from opencode.sessions.indexquery import filter_clauses

    match = match_expression(query, roles)
    if limit < 1:
        raise InvalidSessionValueError(f"limit must be at least 1, got {limit}")
    clauses, args = filter_clauses(tags, None, working_dir, under_dir)
    if not include_archived:
        clauses.append("s.archived_at IS NULL")
    if since is not None:
        clauses.append("t.at >= ?")
        args.append(format_timestamp(since))
    try:
        best, snippets = index.search_rows(
            match, clauses=clauses, args=args, limit=limit, window=RANK_WINDOW
        )
    except sqlite3.OperationalError as exc:
        raise query_error(query, exc) from None
    return [hit for hit in _hits(index, best, snippets) if hit is not None]


def _hits(
    index: SessionIndex,
    best: Sequence[tuple[str, int, float]],
    snippets: dict[int, tuple[str, str, str, str]],
) -> list[SearchHit | None]:
    hits: list[SearchHit | None] = []
    for session_id, rowid, score in best:
        summary = index.get(session_id)
        found = snippets.get(rowid)
        if summary is None or found is None:
            hits.append(None)  # changed between the two queries: skip it
            continue
        message_id, role, at, snippet = found
        hits.append(SearchHit(summary, message_id, role, parse_timestamp(at), snippet, score))
    return hits
