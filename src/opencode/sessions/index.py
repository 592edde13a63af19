"""The session index: a cache of summaries that makes listing fast.

``index.json`` is never the source of truth. A missing, corrupt or older-version index is
rebuilt from the session files; files added or removed behind its back are reconciled on
load. Updates are merged into what is on disk under a cross-process lock, so two terminals
never drop each other's sessions.
"""

from __future__ import annotations

import builtins
import heapq
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any, Final

import orjson

from opencode.sessions.errors import SessionCorruptedError, SessionStorageError
from opencode.sessions.fileio import atomic_write, dumps_json
from opencode.sessions.locks import locked_index
from opencode.sessions.models import Session, SessionSummary
from opencode.sessions.storage import SessionStorage
from opencode.sessions.titles import storable_text
from opencode.sessions.validate import parse_timestamp

logger = logging.getLogger(__name__)

INDEX_VERSION: Final = 1

_SORT_KEYS: Final[dict[str, Callable[[SessionSummary], Any]]] = {
    "updated_at": lambda s: s.updated_at,
    "created_at": lambda s: s.created_at,
    "title": lambda s: s.title.casefold(),
    "message_count": lambda s: s.message_count,
    "total_tokens": lambda s: s.total_tokens,
}
SORT_ALIASES: Final = {
    "updated": "updated_at",
    "created": "created_at",
    "messages": "message_count",
    "tokens": "total_tokens",
}
SORT_FIELDS: Final = tuple(_SORT_KEYS)


def normalize_dir(path: str | os.PathLike[str]) -> str:
    """Compare working folders by absolute, normalised path (symlinks left alone)."""
    text = os.fspath(path)
    if not text:
        return ""
    # Stored folders went through storable_text; compare queries the same way.
    return storable_text(os.path.abspath(os.path.expanduser(text)))


class SessionIndex:
    """Summaries of every session in a ``SessionStorage``, loaded lazily and kept in sync."""

    def __init__(self, storage: SessionStorage) -> None:
        self.storage = storage
        self._entries: dict[str, SessionSummary] | None = None
        self._pending: dict[str, SessionSummary | None] = {}
        self._read_only = False
        # The entries of index.json as this object last read or wrote it, keyed by the file's
        # identity: an unchanged file is not parsed again (10,000 entries take ~40 ms).
        self._disk: tuple[tuple[int, int, int], dict[str, SessionSummary]] | None = None

    # -- loading ------------------------------------------------------------------------------

    def _loaded(self) -> dict[str, SessionSummary]:
        if self._entries is None:
            self._entries = self._load()
        return self._entries

    def refresh(self) -> None:
        """Forget the cached entries so the next call reads the disk again."""
        self._entries = None

    def _load(self) -> dict[str, SessionSummary]:
        entries = self._read_index_file()
        if entries is None:
            missing = not self._read_only and not self.storage.index_path.exists()
            if missing and self.storage.list_session_ids():
                logger.warning("%s is missing; rebuilding it", self.storage.index_path)
            return self._rebuild_entries(save=True)
        self._reconcile(entries)
        return entries

    def _read_index_file(self) -> dict[str, SessionSummary] | None:
        """Entries from ``index.json``, or None when it must be rebuilt (with a warning)."""
        path = self.storage.index_path
        try:
            with open(path, "rb") as handle:
                identity = _file_identity(os.fstat(handle.fileno()))
                if self._disk is not None and self._disk[0] == identity:
                    return dict(self._disk[1])
                data = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("cannot read %s (%s); rebuilding it from the session files", path, exc)
            return None
        try:
            entries = parse_index(data)
        except _NewerIndexError as exc:
            logger.warning("%s: %s; listing from the session files without rewriting it", path, exc)
            self._read_only = True
            return None
        except SessionCorruptedError as exc:
            logger.warning("%s is unusable (%s); rebuilding it from the session files", path, exc)
            return None
        self._disk = (identity, dict(entries))
        return entries

    def _reconcile(self, entries: dict[str, SessionSummary]) -> None:
        """Bring ``entries`` in line with the session files actually present."""
        on_disk = self.storage.session_ids()
        for gone in entries.keys() - on_disk:
            del entries[gone]
            self._pending[gone] = None
        for session_id in sorted(on_disk - entries.keys()):
            summary = self._summarize(session_id)
            if summary is not None:
                entries[session_id] = summary
                self._pending[session_id] = summary
        if self._pending:
            self._save_quietly()

    def _summarize(self, session_id: str) -> SessionSummary | None:
        try:
            return self.storage.load(session_id).summary()
        except SessionStorageError as exc:
            logger.warning("skipping session %s: %s", session_id, exc)
            return None

    def _rebuild_entries(self, *, save: bool) -> dict[str, SessionSummary]:
        entries: dict[str, SessionSummary] = {}
        for session_id in self.storage.list_session_ids():
            summary = self._summarize(session_id)
            if summary is not None:
                entries[session_id] = summary
        if save and (entries or self.storage.index_path.exists()):
            self._entries = entries
            self._pending.update(entries)
            self._save_quietly()
        return entries

    def _save_quietly(self) -> None:
        """Persist a repair; listing must still work on a read-only folder."""
        try:
            self.save_if_dirty()
        except SessionStorageError as exc:
            logger.warning("could not update the session index: %s", exc)

    # -- queries ------------------------------------------------------------------------------

    def count(self) -> int:
        """How many sessions are indexed."""
        return len(self._loaded())

    def __len__(self) -> int:
        return self.count()

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._loaded()

    def get(self, session_id: str) -> SessionSummary | None:
        """The summary of ``session_id``, if indexed."""
        return self._loaded().get(session_id)

    def ids(self) -> builtins.list[str]:
        """Every indexed id."""
        return list(self._loaded())

    def list(
        self,
        limit: int | None = None,
        offset: int = 0,
        sort_by: str = "updated_at",
        descending: bool = True,
        tags: Iterable[str] | None = None,
        search: str | None = None,
        working_dir: str | os.PathLike[str] | None = None,
    ) -> builtins.list[SessionSummary]:
        """Filtered, sorted, paginated summaries.

        ``tags``: a session must carry all of them; ``search``: case-insensitive substring of
        the title; ``working_dir``: the folder the session was started in.
        """
        key = _sort_key(sort_by)
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        if offset < 0:
            raise ValueError("offset must not be negative")
        found: Iterable[SessionSummary] = self._loaded().values()
        if tags:
            wanted = set(tags)
            found = (s for s in found if wanted.issubset(s.tags))
        if search:
            needle = search.casefold()
            found = (s for s in found if needle in s.title.casefold())
        if working_dir is not None:
            folder = normalize_dir(working_dir)
            found = (s for s in found if normalize_dir(s.working_dir) == folder)

        def full_key(summary: SessionSummary) -> tuple[Any, str]:
            return (key(summary), summary.id)

        if limit is not None:
            # A page near the top needs a partial sort only: O(n log k) instead of O(n log n).
            pick = heapq.nlargest if descending else heapq.nsmallest
            return pick(offset + limit, found, key=full_key)[offset:]
        return sorted(found, key=full_key, reverse=descending)[offset:]

    def get_recent(self, count: int = 10) -> builtins.list[SessionSummary]:
        """The ``count`` most recently updated sessions."""
        return self.list(limit=count)

    def get_by_working_dir(
        self, working_dir: str | os.PathLike[str]
    ) -> builtins.list[SessionSummary]:
        """Sessions started in ``working_dir``, most recent first."""
        return self.list(working_dir=working_dir)

    # -- changes ------------------------------------------------------------------------------

    def add(self, session: Session) -> None:
        """Index ``session`` (or refresh its entry)."""
        summary = session.summary()
        self._loaded()[session.id] = summary
        self._pending[session.id] = summary

    def update(self, session: Session) -> None:
        """Refresh the entry of ``session``."""
        self.add(session)

    def remove(self, session_id: str) -> bool:
        """Drop ``session_id`` from the index; False when it was not there."""
        present = self._loaded().pop(session_id, None) is not None
        self._pending[session_id] = None
        return present

    @property
    def is_dirty(self) -> bool:
        """True when changes wait to be written."""
        return bool(self._pending)

    def rebuild(self) -> int:
        """Re-read every session file and rewrite the index; returns the session count."""
        self._pending.clear()
        self._read_index_file()  # notices an index from a newer opencode: never overwrite it
        self._entries = self._rebuild_entries(save=False)
        self._pending.update(self._entries)
        if not self._read_only:
            self.storage.ensure_dir()
            with locked_index(self.storage.index_lock_path):
                self._write(self._entries)
            self._pending.clear()
        return len(self._entries)

    def save_if_dirty(self) -> bool:
        """Merge pending changes into ``index.json`` under the cross-process lock.

        The file is re-read inside the lock so sessions other processes indexed meanwhile
        are kept; for a session both sides know, the most recently updated summary wins.
        """
        if not self._pending:
            return False
        if self._read_only:
            return False
        self.storage.ensure_dir()
        with locked_index(self.storage.index_lock_path):
            merged = self._read_index_file()
            if self._read_only:
                return False  # a newer opencode's index: never overwrite it
            if merged is None:
                merged = self._rebuild_entries(save=False)
            for session_id, summary in self._pending.items():
                if summary is None:
                    merged.pop(session_id, None)
                    continue
                current = merged.get(session_id)
                if current is None or current.updated_at <= summary.updated_at:
                    merged[session_id] = summary
            self._write(merged)
        self._pending.clear()
        self._entries = merged
        return True

    def _write(self, entries: dict[str, SessionSummary]) -> None:
        document = {
            "version": INDEX_VERSION,
            "sessions": {sid: _entry_dict(summary) for sid, summary in entries.items()},
        }
        path = self.storage.index_path
        atomic_write(path, dumps_json(document))
        # Called with the index lock held, so nobody can have replaced the file since.
        self._disk = (_file_identity(os.stat(path)), dict(entries))


class _NewerIndexError(SessionCorruptedError):
    """An index written by a newer opencode: usable by it, not by us."""


def _entry_dict(summary: SessionSummary) -> dict[str, Any]:
    """The spec's index entry; orjson writes the datetimes exactly as ``isoformat`` would."""
    return {
        "title": summary.title,
        "created_at": summary.created_at,
        "updated_at": summary.updated_at,
        "message_count": summary.message_count,
        "total_tokens": summary.total_tokens,
        "tags": summary.tags,
        "working_dir": summary.working_dir,
        "model": summary.model,
    }


def _file_identity(stat: os.stat_result) -> tuple[int, int, int]:
    """Changes whenever the file is replaced (new inode) or rewritten in place."""
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def parse_index(data: bytes) -> dict[str, SessionSummary]:
    """Entries of an ``index.json``; ``SessionCorruptedError`` when it is not a v1 index."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SessionCorruptedError(f"not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise SessionCorruptedError("not a JSON object")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SessionCorruptedError("no version number")
    if version > INDEX_VERSION:
        raise _NewerIndexError(f"written by a newer opencode (index version {version})")
    if version < INDEX_VERSION:
        raise SessionCorruptedError(f"old index version {version}")
    sessions = document.get("sessions")
    if not isinstance(sessions, dict):
        raise SessionCorruptedError("'sessions' is not an object")
    return {sid: _summary_from_entry(sid, entry) for sid, entry in sessions.items()}


def _summary_from_entry(session_id: str, entry: Any) -> SessionSummary:
    """Fast path for well-formed entries (10,000 of them load on every listing).

    Anything unexpected goes through the validating reader, which names the problem.
    """
    try:
        title = entry["title"]
        created = entry["created_at"]
        updated = entry["updated_at"]
        count = entry["message_count"]
        tokens = entry["total_tokens"]
        tags = entry["tags"]
        working_dir = entry["working_dir"]
        model = entry.get("model")
        if (
            type(title) is str
            and type(count) is int
            and type(tokens) is int
            and count >= 0
            and tokens >= 0
            and type(tags) is list
            and all(type(t) is str for t in tags)
            and type(working_dir) is str
            and (model is None or type(model) is str)
        ):
            return SessionSummary(
                session_id,
                title,
                parse_timestamp(created),
                parse_timestamp(updated),
                count,
                tokens,
                tags,
                working_dir,
                model,
            )
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        pass
    return SessionSummary.from_dict(entry, session_id)


def _sort_key(sort_by: str) -> Callable[[SessionSummary], Any]:
    name = SORT_ALIASES.get(sort_by, sort_by)
    try:
        return _SORT_KEYS[name]
    except KeyError:
        choices = ", ".join(SORT_FIELDS)
        raise ValueError(f"cannot sort by {sort_by!r}; choose one of {choices}") from None


# ``2024-01-15T10:30:00+00:00`` and ``2024-01-15T10:30:00.123456+00:00``: the forms we write.
_UTC_LENGTHS: Final = frozenset({25, 32})


def peek_newest(storage: SessionStorage, count: int) -> tuple[list[SessionSummary], int] | None:
    """The ``count`` most recently updated summaries and the total, straight from index.json.

    The newest page of 10,000 sessions must not cost 10,000 summaries: this reads the index
    document and the folder's file names only. It returns None (the caller then uses
    ``SessionIndex``, which repairs and warns) whenever anything is unusual: no index,
    another version, files the index does not match, or timestamps not in the UTC form this
    library writes, which is what makes comparing them as strings correct.
    """
    import gc

    collecting = gc.isenabled()
    gc.disable()  # tens of thousands of fresh objects, no cycles: collecting only costs time
    try:
        document = orjson.loads(storage.index_path.read_bytes())
        entries = document["sessions"] if document.get("version") == INDEX_VERSION else None
        if not isinstance(entries, dict):
            return None
        names = os.listdir(storage.storage_dir)
        on_disk = {name[:-5] for name in names if name.endswith(".json")}
        on_disk.discard("index")
        if on_disk != entries.keys():
            return None
        keyed = [(entry["updated_at"], session_id) for session_id, entry in entries.items()]
        if not all(
            type(updated) is str and len(updated) in _UTC_LENGTHS and updated[-6:] == "+00:00"
            for updated, _ in keyed
        ):
            return None
        top = heapq.nlargest(count, keyed)
        return [_summary_from_entry(sid, entries[sid]) for _, sid in top], len(entries)
    except (OSError, ValueError, TypeError, AttributeError, KeyError, SessionCorruptedError):
        return None
    finally:
        if collecting:
            gc.enable()
