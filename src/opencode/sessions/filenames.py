"""What a session's files in the sessions folder are called: ``<id><suffix>``.

Standard library only (nothing at all): the index's freshness check names journals from
here without loading the session layer.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final

SESSION_SUFFIX: Final = ".json"  # the snapshot
JOURNAL_SUFFIX: Final = ".jsonl"  # appends since the snapshot
BACKUP_SUFFIX: Final = ".backup"  # the snapshot before the last one
LOCK_SUFFIX: Final = ".lock"  # the writer lock
OWNER_SUFFIX: Final = ".owner"  # who holds the writer lock
