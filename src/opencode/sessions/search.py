"""Searching what was said: full-text search over every message, one hit per session.

Queries use SQLite FTS5 syntax: words (all must match), ``"exact phrases"``, ``prefix*``,
``OR``, ``NOT`` and parentheses. Ranking is bm25 with the user's own words weighted above
answers, and answers above tool output. Each matching session appears once, with a snippet
of its best message; matches in the snippet sit between ``HIGHLIGHT_START`` and
``HIGHLIGHT_END``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from opencode.sessions.errors import InvalidSessionValueError
from opencode.sessions.indexdb import HIGHLIGHT_END, HIGHLIGHT_START
from opencode.sessions.validate import format_timestamp, parse_timestamp

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import os
    from typing import Final

    from opencode.sessions.index import SessionIndex
    from opencode.sessions.models import SessionSummary

__all__ = ["HIGHLIGHT_END", "HIGHLIGHT_START", "SEARCH_ROLES", "SearchHit", "search"]

SEARCH_ROLES: Final = {"user": "user_text", "assistant": "assistant_text", "tool": "tool_text"}
DEFAULT_LIMIT: Final = 20
# For a query matching more messages than this, only the newest this many are ranked.
RANK_WINDOW: Final = 20_000
MAX_QUERY_CHARS: Final = 1000
# A query using any of FTS5's syntax is passed on as typed; anything else is plain words.
_FTS_SYNTAX: Final = re.compile(r'["()*^:{}]|\b(?:AND|OR|NOT|NEAR)\b')


class InvalidSearchQueryError(InvalidSessionValueError):
    """A search query FTS5 cannot parse (an unclosed quote, a lone ``OR``, ...)."""


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
    from opencode.sessions.index import filter_clauses

    match = _match_expression(query, roles)
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
        raise InvalidSearchQueryError(f"cannot search for {query!r}: {_reason(exc)}") from None
    return [hit for hit in _hits(index, best, snippets) if hit is not None]


def _match_expression(query: str, roles: Sequence[str]) -> str:
    text = query.strip()
    if not text:
        raise InvalidSearchQueryError("the search query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidSearchQueryError(f"the search query is longer than {MAX_QUERY_CHARS}")
    unknown = [r for r in roles if r not in SEARCH_ROLES]
    if unknown:
        choices = ", ".join(SEARCH_ROLES)
        raise InvalidSessionValueError(f"unknown role {unknown[0]!r}; choose from {choices}")
    if not _FTS_SYNTAX.search(text):
        # Plain words: each one a phrase, so "file.py", "foo-bar" and "c++" just work.
        text = " ".join('"' + word.replace('"', '""') + '"' for word in text.split())
    if not roles:
        return text
    columns = " ".join(SEARCH_ROLES[r] for r in dict.fromkeys(roles))
    return f"{{{columns}}} : ({text})"


def _reason(exc: sqlite3.OperationalError) -> str:
    reason = str(exc)
    return reason.removeprefix("fts5: ").replace('near ""', "at the end of the query")


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
