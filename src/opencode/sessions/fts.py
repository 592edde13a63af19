"""The full-text side of the index database: a query as an FTS5 MATCH, ranked and snippeted.

Queries use SQLite FTS5 syntax: words (all must match), ``"exact phrases"``, ``prefix*``,
``OR``, ``NOT`` and parentheses; text without any of it is taken as plain words. Ranking is
bm25 with the user's own words weighted above answers, and answers above tool output.

Standard library only (``re`` and ``sqlite3``): the command line's quick search path
(``quicksearch``) builds on this module as the library's ``search`` does.
"""

from __future__ import annotations

import re
import sqlite3

from opencode.sessions.errors import InvalidSearchQueryError, InvalidSessionValueError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Final

# The search columns of ``message_search`` by role, and their bm25 weights: the user's own
# words count most, tool output least.
SEARCH_ROLES: Final = {"user": "user_text", "assistant": "assistant_text", "tool": "tool_text"}
SEARCH_WEIGHTS: Final = (3.0, 1.0, 0.5)
HIGHLIGHT_START: Final = "\ue000"
HIGHLIGHT_END: Final = "\ue001"
SNIPPET_TOKENS: Final = 16
MAX_QUERY_CHARS: Final = 1000
DEFAULT_LIMIT: Final = 20
# For a query matching more messages than this, only the newest this many are ranked.
RANK_WINDOW: Final = 20_000
# A query using any of FTS5's syntax is passed on as typed; anything else is plain words.
_FTS_SYNTAX: Final = re.compile(r'["()*^:{}]|\b(?:AND|OR|NOT|NEAR)\b')


def match_expression(query: str, roles: Sequence[str] = ()) -> str:
    """``query`` as an FTS5 MATCH expression, limited to the columns of ``roles``.

    Raises ``InvalidSearchQueryError`` for an empty or overlong query and
    ``InvalidSessionValueError`` for an unknown role.
    """
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


def query_error(query: str, exc: sqlite3.OperationalError) -> InvalidSearchQueryError:
    """The error for a query FTS5 refused, in words a user can act on."""
    reason = str(exc).removeprefix("fts5: ").replace('near ""', "at the end of the query")
    return InvalidSearchQueryError(f"cannot search for {query!r}: {reason}")


def newest_match_floor(db: sqlite3.Connection, match: str, window: int) -> int:
    """The smallest rowid among the newest ``window`` messages matching ``match``; 0 when
    fewer match (then every match is ranked)."""
    row = db.execute(
        "SELECT rowid FROM message_search WHERE message_search MATCH ?"
        " ORDER BY rowid DESC LIMIT 1 OFFSET ?",
        (match, window - 1),
    ).fetchone()
    return 0 if row is None else int(row[0])


def best_match_per_session(
    db: sqlite3.Connection,
    match: str,
    *,
    floor: int,
    where: str,
    args: Sequence[Any],
    limit: int,
) -> list[tuple[str, int, float]]:
    """``(session id, rowid of its best message, bm25 score)``, best sessions first.

    ``where``/``args`` filter on the ``sessions`` row (``s``) and the message (``t``).
    """
    weights = ", ".join(str(w) for w in SEARCH_WEIGHTS)
    sql = (
        "SELECT t.session_id, m.rowid, min(m.score) AS best FROM ("
        f"SELECT rowid, bm25(message_search, {weights}) AS score FROM message_search"
        " WHERE message_search MATCH ? AND rowid >= ? LIMIT -1) AS m"
        " JOIN message_text t ON t.rowid = m.rowid"
        " JOIN sessions s ON s.id = t.session_id"
        f" WHERE 1{where}"
        " GROUP BY t.session_id ORDER BY best, t.session_id LIMIT ?"
    )
    return db.execute(sql, (match, floor, *args, limit)).fetchall()


def snippets(
    db: sqlite3.Connection, match: str, rowids: Sequence[int]
) -> dict[int, tuple[str, str, str, str]]:
    """``rowid -> (message id, role, time, snippet)`` with matches between the
    ``HIGHLIGHT_*`` marks."""
    if not rowids:
        return {}
    marks = ", ".join("?" * len(rowids))
    sql = (
        "SELECT message_search.rowid, t.message_id, t.role, t.at,"
        " snippet(message_search, -1, ?, ?, '…', ?)"
        " FROM message_search JOIN message_text t ON t.rowid = message_search.rowid"
        f" WHERE message_search MATCH ? AND message_search.rowid IN ({marks})"
    )
    args = (HIGHLIGHT_START, HIGHLIGHT_END, SNIPPET_TOKENS, match, *rowids)
    return {row[0]: tuple(row[1:]) for row in db.execute(sql, args)}


def ranked_matches(
    db: sqlite3.Connection,
    match: str,
    *,
    where: str,
    args: Sequence[Any],
    limit: int,
    window: int = RANK_WINDOW,
) -> tuple[list[tuple[str, int, float]], dict[int, tuple[str, str, str, str]]]:
    """The best message of each matching session (ranked), and those messages' snippets.

    ``where``/``args`` filter the session row (``s``) and message (``t``). For a very
    common query only the newest ``window`` matching messages are ranked, which bounds the
    cost whatever the size of the store. ``sqlite3.OperationalError`` passes through for a
    malformed query.
    """
    floor = newest_match_floor(db, match, window)
    best = best_match_per_session(db, match, floor=floor, where=where, args=args, limit=limit)
    return best, snippets(db, match, [rowid for _, rowid, _ in best])
