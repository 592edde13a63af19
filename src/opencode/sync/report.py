"""What a sync did: each session moved or skipped, warnings, and the traffic, as data."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from opencode.sync.store import Traffic

PULL: Final = "pull"
PUSH: Final = "push"


@dataclass(frozen=True)
class Moved:
    """One session that moved: which way, what happened to it, and how many bytes it took.

    Actions: ``new``, ``update``, ``metadata``, ``fork`` (a conflicting version kept as a new
    session), ``trash`` (deleted there, moved to the trash here), ``restore`` (deleted here,
    changed there: back), ``delete`` (a deletion sent).
    """

    session_id: str
    title: str
    direction: str
    action: str
    bytes: int = 0
    host: str = ""
    parent_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.session_id,
            "title": self.title,
            "direction": self.direction,
            "action": self.action,
            "bytes": self.bytes,
        }
        if self.host:
            data["host"] = self.host
        if self.parent_id is not None:
            data["forked_from"] = self.parent_id
        return data


@dataclass(frozen=True)
class Skipped:
    """A session left as it was this time, and why."""

    session_id: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.session_id, "reason": self.reason}


@dataclass
class SyncReport:
    """The outcome of one ``run_sync``."""

    remote: str
    dry_run: bool = False
    moved: list[Moved] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    traffic: Traffic = field(default_factory=Traffic)
    create_only: bool | None = None

    def counts(self) -> dict[str, int]:
        """How many sessions moved, per direction and action (``pull.new``: 3)."""
        found = Counter(f"{m.direction}.{m.action}" for m in self.moved)
        return dict(sorted(found.items()))

    @property
    def pushed(self) -> int:
        return sum(1 for m in self.moved if m.direction == PUSH)

    @property
    def pulled(self) -> int:
        return sum(1 for m in self.moved if m.direction == PULL)

    def to_dict(self) -> dict[str, Any]:
        traffic = self.traffic
        return {
            "remote": self.remote,
            "dry_run": self.dry_run,
            "moved": [m.to_dict() for m in self.moved],
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": list(self.warnings),
            "summary": {
                "pushed": self.pushed,
                "pulled": self.pulled,
                "skipped": len(self.skipped),
                "actions": self.counts(),
                "bytes_up": traffic.bytes_up,
                "bytes_down": traffic.bytes_down,
                "objects_up": traffic.objects_up,
                "objects_down": traffic.objects_down,
                "requests": traffic.requests,
            },
            "create_only_enforced": self.create_only,
        }
