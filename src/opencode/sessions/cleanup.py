"""Cleaning up old sessions: plan first, then carry the plan out with a re-check.

``plan_cleanup`` decides which sessions are due (not active for ``max_age_days``, beyond the
newest ``keep_minimum``, never a pinned one). The CLI shows the plan and asks; minutes may
pass. ``carry_out`` then re-checks every session under its writer lock: one used since the
plan was made, or open in another process, is kept. Leftover files of ids without a session
file (a crash mid-delete) are removed as well.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final

from opencode.sessions.errors import (
    InvalidSessionValueError,
    SessionLockedError,
    SessionStorageError,
)
from opencode.sessions.trash import move_to_trash
from opencode.sessions.validate import utc_now

if TYPE_CHECKING:
    from opencode.sessions.index import SessionIndex
    from opencode.sessions.models import SessionSummary
    from opencode.sessions.storage import SessionStorage

MAX_CLEANUP_AGE_DAYS: Final = 36500  # a century; also rejects NaN and infinity


@dataclass(frozen=True)
class CleanupItem:
    """One session a cleanup would remove, and the bytes it holds."""

    summary: SessionSummary
    size_bytes: int


@dataclass(frozen=True)
class CleanupPlan:
    """What a cleanup would remove, oldest first."""

    items: list[CleanupItem]
    orphans: list[str]
    max_age_days: float
    keep_minimum: int

    @property
    def total_bytes(self) -> int:
        """Bytes the sessions of the plan hold."""
        return sum(item.size_bytes for item in self.items)


@dataclass
class CleanupResult:
    """What carrying out a plan did."""

    deleted: list[CleanupItem] = field(default_factory=list)
    changed: list[CleanupItem] = field(default_factory=list)
    held: list[tuple[CleanupItem, int | None]] = field(default_factory=list)
    failed: list[tuple[CleanupItem, SessionStorageError]] = field(default_factory=list)
    orphans_removed: list[str] = field(default_factory=list)

    @property
    def freed_bytes(self) -> int:
        """Bytes the deleted sessions held."""
        return sum(item.size_bytes for item in self.deleted)


def check_cleanup_limits(max_age_days: float, keep_minimum: int) -> None:
    """``InvalidSessionValueError`` for an age or a minimum that make no sense."""
    if not 0 <= max_age_days <= MAX_CLEANUP_AGE_DAYS:
        raise InvalidSessionValueError(
            f"max_age_days must be between 0 and {MAX_CLEANUP_AGE_DAYS}, got {max_age_days}"
        )
    if keep_minimum < 0:
        raise InvalidSessionValueError(f"keep_minimum must not be negative, got {keep_minimum}")


def due_sessions(
    storage: SessionStorage, index: SessionIndex, max_age_days: float, keep_minimum: int
) -> list[SessionSummary]:
    """Sessions old enough to clean up, oldest first (writer locks are not checked here)."""
    check_cleanup_limits(max_age_days, keep_minimum)
    cutoff = utc_now() - timedelta(days=max_age_days)
    newest_first = index.list(sort_by="active_at", descending=True)
    due = [
        s for s in newest_first[keep_minimum:] if not s.pinned and last_change(storage, s) < cutoff
    ]
    due.reverse()
    return due


def last_change(storage: SessionStorage, summary: SessionSummary) -> datetime:
    """A session's last activity, counting journal records its summary may not show yet."""
    updated = summary.last_active
    with contextlib.suppress(OSError):
        info = storage.get_journal_path(summary.id).lstat()
        if info.st_size > 0:
            updated = max(updated, datetime.fromtimestamp(info.st_mtime, timezone.utc))
    return updated


def plan_cleanup(
    storage: SessionStorage, index: SessionIndex, max_age_days: float, keep_minimum: int
) -> CleanupPlan:
    """What ``carry_out`` would remove now."""
    due = due_sessions(storage, index, max_age_days, keep_minimum)
    items = [CleanupItem(s, storage.session_size(s.id)) for s in due]
    return CleanupPlan(items, index.orphans(), max_age_days, keep_minimum)


def carry_out(
    storage: SessionStorage, index: SessionIndex, plan: CleanupPlan, *, to_trash: bool = False
) -> CleanupResult:
    """Remove what ``plan`` lists that is still due (into the trash with ``to_trash``); one
    failure does not stop the others."""
    result = CleanupResult()
    index.refresh()
    still_due = {s.id for s in due_sessions(storage, index, plan.max_age_days, plan.keep_minimum)}
    for item in plan.items:
        if item.summary.id not in still_due:
            result.changed.append(item)
            continue
        try:
            if to_trash:
                move_to_trash(storage, index, item.summary.id)
            else:
                _remove(storage, index, item.summary.id)
        except SessionLockedError as exc:
            result.held.append((item, exc.pid))
        except SessionStorageError as exc:
            result.failed.append((item, exc))
        else:
            result.deleted.append(item)
    for session_id in plan.orphans:
        with contextlib.suppress(SessionStorageError):
            if not storage.exists(session_id):
                _remove(storage, index, session_id)
                result.orphans_removed.append(session_id)
    storage.remove_stale_temp_files()
    return result


def _remove(storage: SessionStorage, index: SessionIndex, session_id: str) -> None:
    """Delete under the writer lock (refused when another process holds the session)."""
    with storage.writer_lock(session_id, "short"):
        before = index.folder_state()
        storage.delete(session_id)
        index.remove(session_id, folder_before=before)
