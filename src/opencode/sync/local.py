"""The local side of a sync: reading sessions as they last reached disk, and writing pulled
ones through the sessions library.

Reading never locks (``SessionStorage.load`` is snapshot plus journal, safe beside a
writer), so a session open in a chat loop syncs as of its last durable state. A write takes
the session's writer lock for that one write only ("short": it waits a few seconds for
another short writer, and is refused at once by a session held open), re-reads the session
under the lock, and writes only if it is still the version the merge decided about. The
write is the library's: an atomic snapshot (the previous one kept as ``.backup``) and an
index update; a delete goes to the trash.
"""

from __future__ import annotations

import copy
import os
import sqlite3
from dataclasses import dataclass

from opencode.logs import get_logger
from opencode.sessions import forks, titles
from opencode.sessions.errors import SessionError, SessionNotFoundError
from opencode.sessions.index import SessionIndex, file_stat
from opencode.sessions.models import Session
from opencode.sessions.storage import SessionStorage
from opencode.sessions.trash import move_to_trash
from opencode.sessions.validate import parse_timestamp
from opencode.sync.manifest import Entry, Metadata, encode_session
from opencode.sync.merge import LocalVersion
from opencode.sync.state import Stat

logger = get_logger(__name__)

# Metadata that describes a session's place in one store, not the session: a fork drops it.
STORE_METADATA = ("pinned", "archived_at", "imported_from")


class ChangedMeanwhileError(SessionError):
    """The session changed between the merge's decision and the write: try next time."""


@dataclass(frozen=True)
class LocalSession:
    """A local session as loaded, with what the merge compares."""

    session: Session
    version: LocalVersion
    stat: Stat  # the files' identities just before they were read


class LocalSessions:
    """One sessions folder and its index, as sync reads and writes them."""

    def __init__(self, storage: SessionStorage, index: SessionIndex) -> None:
        self.storage = storage
        self.index = index
        # While a list, written sessions wait here to be indexed by ``flush_index`` (writes
        # then run in worker threads; the index's connection belongs to the main thread).
        self.deferred: list[Session] | None = None

    def read(self, session_id: str) -> LocalSession | None:
        """The session as last written (no lock); None when it is not here. Its file
        identities are taken first: a change after them shows up as a mismatch later."""
        stat = self.stat(session_id)
        try:
            session = self.storage.load(session_id)
        except SessionNotFoundError:
            return None
        return LocalSession(session, version_of(session), stat)

    def exists(self, session_id: str) -> bool:
        return self.storage.exists(session_id)

    def stat(self, session_id: str) -> Stat:
        """The identities of the session's snapshot and journal, as the index records them."""
        return (
            file_stat(self.storage.get_path(session_id)),
            file_stat(self.storage.get_journal_path(session_id)),
        )

    def write(self, session: Session, *, expect: LocalVersion | None) -> Stat:
        """Write ``session`` (a new one when ``expect`` is None) if the local session is still
        ``expect``; returns the new files' identities. ``SessionLockedError`` when it is open
        elsewhere, ``ChangedMeanwhileError`` when it changed since the decision."""
        storage = self.storage
        with storage.writer_lock(session.id, "short"):
            current = self.read(session.id)
            if expect is None:
                if current is not None or self._has_leftovers(session.id):
                    raise ChangedMeanwhileError(f"session {session.id} appeared meanwhile")
            elif current is None or current.version != expect:
                raise ChangedMeanwhileError(f"session {session.id} changed meanwhile")
            session.journal_seq = 0
            if self.deferred is not None:
                storage.save(session)
                self.deferred.append(session)
            else:
                before = self.index.folder_state()
                storage.save(session)
                self._index(session, before)
            return self.stat(session.id)

    def flush_index(self) -> None:
        """Index the sessions written while indexing was deferred, and stop deferring."""
        written, self.deferred = self.deferred or [], None
        for session in written:
            self._index(session, None)

    def _has_leftovers(self, session_id: str) -> bool:
        """A journal or backup without a snapshot: a crash's leftovers own the id."""
        storage = self.storage
        return any(
            os.path.lexists(path)
            for path in (storage.get_journal_path(session_id), storage.get_backup_path(session_id))
        )

    def trash(self, session_id: str, *, expect: LocalVersion) -> None:
        """Move the session to the trash (restorable) if it is still ``expect``."""
        current = self.read(session_id)
        if current is None:
            return
        if current.version != expect:
            raise ChangedMeanwhileError(f"session {session_id} changed meanwhile")
        move_to_trash(self.storage, self.index, session_id)

    def _index(self, session: Session, before: str | None) -> None:
        try:
            self.index.add(session, folder_before=before)
        except (SessionError, OSError, sqlite3.Error) as exc:
            # The file is written; the index heals from it on its next read.
            logger.warning("could not index session %s: %s", session.id, exc)


def version_of(session: Session) -> LocalVersion:
    """What the merge compares of ``session``."""
    encoded = encode_session(session, compress=False)
    return LocalVersion(encoded.content, tuple(encoded.message_ids), encoded.metadata)


def with_metadata(session: Session, metadata: Metadata, updated_at: str | None) -> Session:
    """``session`` with the merged metadata, its time of change the later of its own and
    ``updated_at`` (the entry's)."""
    metadata.apply_to(session)
    if updated_at:
        try:
            when = parse_timestamp(updated_at)
        except (ValueError, OverflowError):
            when = None
        if when is not None and when > session.updated_at:
            session.updated_at = when
    return session


def fork_of_incoming(
    incoming: Session, entry: Entry, *, fork_session_id: str, common_message: str | None
) -> Session:
    """The other side's version as a fork of the local session: its messages and content,
    ``forked_from`` at the common point, title suffixed with ``(from <host>)``. Its times are
    the incoming version's, so the same fork made on two devices is the same session."""
    fork = copy.deepcopy(incoming)
    suffix = f" (from {entry.host or 'another device'})"
    base_title = entry.metadata.title or "untitled"
    fork.title = titles.shorten(base_title, titles.MAX_TITLE - len(suffix)) + suffix
    fork.tags = list(entry.metadata.tags)
    for key in STORE_METADATA:
        fork.metadata.pop(key, None)
    fork.metadata[forks.FORKED_FROM] = {"session_id": incoming.id, "message_id": common_message}
    fork.id = fork_session_id
    fork.journal_seq = 0
    return fork
