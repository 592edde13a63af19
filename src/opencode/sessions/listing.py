"""Listing policy: which sessions a listing shows, in what order, a page at a time.

The CLI's tables, ``--json``, ``-q`` and the chat loop's ``/session list`` all ask
``list_page`` and render what it returns; none of them decides paging on its own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any, Final, Protocol

    class ListedSummary(Protocol):
        """What a listing shows of a session: a ``SessionSummary``, or the lighter row
        ``quicklist`` reads straight from the index."""

        @property
        def id(self) -> str: ...
        @property
        def title(self) -> str: ...
        @property
        def message_count(self) -> int: ...
        @property
        def total_tokens(self) -> int: ...
        @property
        def tags(self) -> list[str]: ...
        @property
        def model(self) -> str | None: ...
        @property
        def damaged(self) -> str | None: ...
        @property
        def pinned(self) -> bool: ...
        @property
        def forked_from(self) -> str | None: ...
        @property
        def size_bytes(self) -> int: ...
        @property
        def conflicts(self) -> list[str]: ...
        @property
        def last_active(self) -> datetime: ...

    class ListingSource(Protocol):
        """Where a listing's rows come from: ``SessionIndex``, or ``quicklist``'s reader."""

        def list(
            self,
            limit: int | None = None,
            offset: int = 0,
            sort_by: str = "active_at",
            descending: bool = True,
            tags: Any = None,
            search: str | None = None,
            working_dir: str | os.PathLike[str] | None = None,
            *,
            under_dir: str | os.PathLike[str] | None = None,
            archived: bool | None = False,
            pinned_first: bool = False,
        ) -> Sequence[ListedSummary]: ...

        def count_matching(
            self,
            tags: Any = None,
            search: str | None = None,
            working_dir: str | os.PathLike[str] | None = None,
            *,
            under_dir: str | os.PathLike[str] | None = None,
            archived: bool | None = False,
        ) -> int: ...

        def short_ids(self, session_ids: Any, minimum: int = 8) -> dict[str, str]: ...


# A table shows this many rows unless asked for more; data formats list everything.
DEFAULT_PAGE: Final = 20


class ListingQuery:
    """What to list. ``limit`` None (or 0) means every matching session.

    ``archived``: False leaves archived sessions out, True lists only them, None both.
    ``pinned_first``: pinned sessions first, in the default order (as listings show them).
    A plain class, not a dataclass: the quickest listing imports no ``dataclasses``.
    """

    __slots__ = (
        "archived",
        "descending",
        "limit",
        "offset",
        "pinned_first",
        "search",
        "sort_by",
        "tags",
        "under_dir",
        "working_dir",
    )

    def __init__(
        self,
        limit: int | None = DEFAULT_PAGE,
        offset: int = 0,
        sort_by: str = "active_at",
        descending: bool = True,
        tags: Sequence[str] = (),
        search: str | None = None,
        working_dir: str | os.PathLike[str] | None = None,
        under_dir: str | os.PathLike[str] | None = None,
        archived: bool | None = False,
        pinned_first: bool = True,
    ) -> None:
        self.limit = limit
        self.offset = offset
        self.sort_by = sort_by
        self.descending = descending
        self.tags = tags
        self.search = search
        self.working_dir = working_dir
        self.under_dir = under_dir
        self.archived = archived
        self.pinned_first = pinned_first

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ListingQuery):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"ListingQuery({fields})"

    @property
    def filtered(self) -> bool:
        """True when some sessions are left out on purpose (not just by paging)."""
        return bool(self.tags or self.search or self.working_dir or self.under_dir or self.archived)

    @property
    def by_recency(self) -> bool:
        """True for the default order: most recently active first."""
        from opencode.sessions.indexquery import sort_field

        return sort_field(self.sort_by) == "active_at" and self.descending


class ListingPage:
    """One page of a listing and where it sits in the whole."""

    __slots__ = ("offset", "query", "rows", "short_ids", "total")

    def __init__(
        self,
        rows: Sequence[ListedSummary],
        total: int,
        offset: int,
        query: ListingQuery | None = None,
        short_ids: dict[str, str] | None = None,
    ) -> None:
        self.rows = list(rows)
        self.total = total
        self.offset = offset
        self.query = ListingQuery() if query is None else query
        # The shortest unambiguous prefix of each row's id (8 characters or more).
        self.short_ids = {} if short_ids is None else short_ids

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


def list_page(index: ListingSource, query: ListingQuery) -> ListingPage:
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


def as_tree(rows: Sequence[ListedSummary]) -> list[tuple[int, ListedSummary]]:
    """``(depth, summary)`` with each fork right under its parent when both are in ``rows``
    (order otherwise kept); a fork whose parent is not there stays where it was."""
    present = {s.id for s in rows}
    children: dict[str, list[ListedSummary]] = {}
    roots = []
    for summary in rows:
        parent = summary.forked_from
        if parent is not None and parent in present and parent != summary.id:
            children.setdefault(parent, []).append(summary)
        else:
            roots.append(summary)
    result: list[tuple[int, ListedSummary]] = []
    seen: set[str] = set()

    def walk(summary: ListedSummary, depth: int) -> None:
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
