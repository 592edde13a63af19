"""Listing policy: which sessions a listing shows, in what order, a page at a time.

The CLI's tables, ``--json``, ``-q`` and the chat loop's ``/session list`` all ask
``list_page`` and render what it returns; none of them decides paging on its own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, Final

    from opencode.sessions.index import SessionIndex
    from opencode.sessions.models import SessionSummary

# A table shows this many rows unless asked for more; data formats list everything.
DEFAULT_PAGE: Final = 20


@dataclass(frozen=True)
class ListingQuery:
    """What to list. ``limit`` None (or 0) means every matching session."""

    limit: int | None = DEFAULT_PAGE
    offset: int = 0
    sort_by: str = "active_at"
    descending: bool = True
    tags: Sequence[str] = ()
    search: str | None = None
    working_dir: str | os.PathLike[str] | None = None
    under_dir: str | os.PathLike[str] | None = None
    # False: leave archived sessions out; True: only them; None: both.
    archived: bool | None = False
    # Pinned sessions first, in the default order (as listings show them).
    pinned_first: bool = True

    @property
    def filtered(self) -> bool:
        """True when some sessions are left out on purpose (not just by paging)."""
        return bool(self.tags or self.search or self.working_dir or self.under_dir or self.archived)

    @property
    def by_recency(self) -> bool:
        """True for the default order: most recently active first."""
        from opencode.sessions.index import sort_field

        return sort_field(self.sort_by) == "active_at" and self.descending


@dataclass(frozen=True)
class ListingPage:
    """One page of a listing and where it sits in the whole."""

    rows: list[SessionSummary]
    total: int
    offset: int
    query: ListingQuery = field(default_factory=ListingQuery)
    # The shortest unambiguous prefix of each row's id (8 characters or more).
    short_ids: dict[str, str] = field(default_factory=dict)

    @property
    def is_partial(self) -> bool:
        """True when sessions exist beyond this page."""
        return self.offset > 0 or len(self.rows) < self.total

    def describe(self) -> str | None:
        """``Showing 20 of 10000 sessions; ...`` when the page is part of a longer list."""
        shown, offset, total = len(self.rows), self.offset, self.total
        if not self.is_partial:
            return None
        if offset == 0:
            return f"Showing {shown} of {total} sessions; see 'opencode session list --limit N'"
        hint = "see 'opencode session list --limit N --offset N'"
        if shown == 0:
            return f"No sessions after the first {offset} of {total}; {hint}"
        return f"Showing sessions {offset + 1}-{offset + shown} of {total}; {hint}"


def list_page(index: SessionIndex, query: ListingQuery) -> ListingPage:
    """The page ``query`` asks for, with the number of sessions matching in all."""
    filters: dict[str, Any] = {
        "tags": list(query.tags) or None,
        "search": query.search,
        "working_dir": query.working_dir,
        "under_dir": query.under_dir,
        "archived": query.archived,
    }
    rows = index.list(
        limit=query.limit or None,
        offset=query.offset,
        sort_by=query.sort_by,
        descending=query.descending,
        pinned_first=query.pinned_first and query.by_recency,
        **filters,
    )
    if query.offset or (query.limit and len(rows) >= query.limit):
        total = index.count_matching(**filters)
    else:
        total = query.offset + len(rows)
    short_ids = index.short_ids(s.id for s in rows)
    return ListingPage(rows, total, query.offset, query, short_ids)


def as_tree(rows: Sequence[SessionSummary]) -> list[tuple[int, SessionSummary]]:
    """``(depth, summary)`` with each fork right under its parent when both are in ``rows``
    (order otherwise kept); a fork whose parent is not there stays where it was."""
    present = {s.id for s in rows}
    children: dict[str, list[SessionSummary]] = {}
    roots = []
    for summary in rows:
        parent = summary.forked_from
        if parent is not None and parent in present and parent != summary.id:
            children.setdefault(parent, []).append(summary)
        else:
            roots.append(summary)
    result: list[tuple[int, SessionSummary]] = []
    seen: set[str] = set()

    def walk(summary: SessionSummary, depth: int) -> None:
        if summary.id in seen:
            return
        seen.add(summary.id)
        result.append((depth, summary))
        for child in children.get(summary.id, ()):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    result += [(0, s) for s in rows if s.id not in seen]  # a cycle of forks: flat
    return result
