"""The session manager: the one object a program talks to about "the current session".

It owns the current session's writer lock and journal, keeps the index in step on structural
changes only (create, compaction, title, tags, delete), auto-saves in the background, and
announces lifecycle events to in-process callbacks and to the user's configured shell hooks.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import orjson

from opencode.logs import get_logger
from opencode.sessions import titles
from opencode.sessions.autosave import AutoSaver
from opencode.sessions.errors import (
    SessionCorruptedError,
    SessionError,
    SessionNotDamagedError,
    SessionNotFoundError,
    SessionStorageError,
)
from opencode.sessions.events import SessionCallback, SessionEvents
from opencode.sessions.ids import validate_session_id
from opencode.sessions.index import SessionIndex, normalize_dir
from opencode.sessions.journal import (
    OP_MESSAGE,
    OP_SET,
    OP_TOOL,
    OP_USAGE,
    SessionJournal,
    apply_record,
    make_record,
)
from opencode.sessions.locks import SessionWriterLock
from opencode.sessions.models import (
    Session,
    SessionMessage,
    SessionSummary,
    ToolInvocation,
    check_token_counts,
)
from opencode.sessions.storage import SessionStorage
from opencode.sessions.validate import check_nesting_on_write, format_timestamp, utc_now

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, ClassVar, Final

    from opencode.sessions.search import SearchHit
    from opencode.sessions.trash import Trash, TrashOutcome

logger = get_logger(__name__)

# Past this size the journal is folded into the snapshot, bounding replay time on resume.
# The journal is folded into the snapshot once it passes this size and COMPACT_RATIO times
# the snapshot's: the snapshot grows geometrically, so a session of any length is rewritten
# a bounded number of times (total writes stay within about 3x its final size).
DEFAULT_COMPACT_JOURNAL_BYTES: Final = 1024 * 1024
COMPACT_RATIO: Final = 2.0
# At interpreter exit, how long to wait for a save the auto-save thread has under way.
EXIT_SAVE_WAIT: Final = 60.0


_live_managers: weakref.WeakSet[SessionManager] = weakref.WeakSet()
_atexit_registered = False


def _save_all_at_exit() -> None:
    """A normal interpreter exit saves every manager's current session."""
    for manager in list(_live_managers):
        manager._save_at_exit()


class SessionManager:
    """Creates, resumes, records into, saves and closes sessions; one current at a time."""

    _instance: ClassVar[SessionManager | None] = None
    _instance_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        storage: SessionStorage | None = None,
        auto_save_interval: float = 60.0,
        *,
        durable_appends: bool = True,
        compact_journal_bytes: int = DEFAULT_COMPACT_JOURNAL_BYTES,
        fire_shell_hooks: bool = True,
    ) -> None:
        self.storage = storage if storage is not None else SessionStorage()
        self.index = SessionIndex(self.storage)
        self.auto_save_interval = auto_save_interval
        self.durable_appends = durable_appends
        self.compact_journal_bytes = compact_journal_bytes
        self.events = SessionEvents(fire_shell_hooks=fire_shell_hooks)
        self._current: Session | None = None
        self._journal: SessionJournal | None = None
        self._writer_lock: SessionWriterLock | None = None
        self._unsaved = False
        self._draft = False
        self._snapshot_bytes = 0
        self._saved_metadata = b""
        self._lock = threading.RLock()
        self._autosaver = AutoSaver(self._autosave_tick, auto_save_interval)
        _register_for_exit(self)

    # -- singleton ----------------------------------------------------------------------------

    @classmethod
    def get_instance(
        cls, storage: SessionStorage | None = None, auto_save_interval: float = 60.0
    ) -> SessionManager:
        """The process-wide manager, created on first use."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls(storage=storage, auto_save_interval=auto_save_interval)
            return cls._instance

    @classmethod
    def reset_instance(cls) -> None:
        """Close the process-wide manager's session and forget the manager (tests, embedding)."""
        with cls._instance_lock:
            instance, cls._instance = cls._instance, None
        if instance is not None:
            instance.close()

    # -- state --------------------------------------------------------------------------------

    @property
    def has_current(self) -> bool:
        """True while a session is open."""
        return self._current is not None

    @property
    def current_session(self) -> Session | None:
        """The open session, if any."""
        return self._current

    @property
    def is_dirty(self) -> bool:
        """True when the current session has changes its snapshot does not hold yet."""
        session = self._current
        if session is None or self._draft:
            return False
        return self._unsaved or _fingerprint(session.metadata) != self._saved_metadata

    def _require_current(self) -> Session:
        if self._current is None:
            raise ValueError("no current session: create() or resume() one first")
        return self._current

    # -- lifecycle ----------------------------------------------------------------------------

    def create(
        self,
        title: str = "",
        working_dir: str | os.PathLike[str] | None = None,
        model: str | None = None,
        tags: list[str] | None = None,
        *,
        draft: bool = False,
    ) -> Session:
        """Start a new session (saving and releasing the current one first) and make it current.

        A ``draft`` is written only when it gets content (a message, a tool run or usage):
        a chat that is left before anything is said leaves no empty session behind. Until
        then title, tags, model and metadata changes stay in memory.
        """
        session = Session(
            title=titles.clean_title(title or ""),
            working_dir=normalize_dir(working_dir if working_dir is not None else _cwd()),
            model=model,
            tags=titles.clean_tags(tags),
        )
        with self._lock:
            previous = self._current.id if self._current is not None else None
            try:
                self.close()
                if draft:
                    self._current, self._draft = session, True
                    return session
                self._write_new(session)
            except Exception:
                self._reopen(previous)
                raise
        self._emit("session:start", session)
        return session

    @property
    def is_draft(self) -> bool:
        """True while the current session exists in memory only (see ``create``)."""
        return self._draft

    def _write_new(self, session: Session) -> None:
        """Write a new session's first snapshot, take its lock and journal, index it."""
        before = self.index.folder_state()
        with self._opening(session.id) as lock:
            try:
                self.storage.save(session)
                self._activate(session, lock)
            except BaseException:
                self._discard_unopened(session.id)
                raise
        self._index_quietly(session.id, lambda: self.index.add(session, folder_before=before))

    def _discard_unopened(self, session_id: str) -> None:
        """A new session whose journal could not be opened is removed again, so the error the
        caller sees is the whole story (a retry makes one session, not two)."""
        try:
            self.storage.delete(session_id)
        except SessionStorageError as exc:
            logger.warning("could not remove the half-created session %s: %s", session_id, exc)

    def _materialize(self) -> None:
        """A draft gets its first content: write it now (it stays a draft if that fails)."""
        session = self._require_current()
        self._write_new(session)
        self._draft = False
        self._emit("session:start", session)

    def resume(self, session_id: str) -> Session:
        """Make ``session_id`` current, taking its writer lock (refused if open elsewhere)."""
        validate_session_id(session_id)
        with self._lock:
            current = self._current
            if current is not None and current.id == session_id:
                return current
            previous = current.id if current is not None else None
            try:
                with self._opening(session_id) as lock:
                    session = self.storage.load(session_id)
                    self.close()
                    before = self.index.folder_state()
                    self._activate(session, lock)
            except BaseException:
                if self._current is None:
                    self._reopen(previous)
                raise
            assert self._journal is not None
            if self._journal.size > 0:
                self._compact()  # recovered journal records: fold them in and fix the index
            else:
                self._index_quietly(
                    session.id, lambda: self.index.update(session, folder_before=before)
                )
        self._emit("session:start", session)
        return session

    def resume_latest(self) -> Session | None:
        """Resume the most recently active session; None when there are none."""
        self.index.refresh()
        recent = self.index.get_recent(1)
        return self.resume(recent[0].id) if recent else None

    def resume_or_create(
        self,
        working_dir: str | os.PathLike[str] | None = None,
        model: str | None = None,
        title: str = "",
        tags: list[str] | None = None,
    ) -> Session:
        """Resume the latest session started in ``working_dir`` (default: cwd), else create one."""
        folder = normalize_dir(working_dir if working_dir is not None else _cwd())
        self.index.refresh()
        found = self.index.list(working_dir=folder, limit=1)
        if not found:
            return self.create(title=title, working_dir=folder, model=model, tags=tags)
        session = self.resume(found[0].id)
        if model is not None:
            self.set_model(model)
        return session

    def save(self) -> bool:
        """Write the current session's snapshot now; False when there is no current session
        (or it is a draft with nothing to write)."""
        with self._lock:
            if self._current is None or self._draft:
                return False
            self._compact()
        return True

    def close(self) -> None:
        """Save the current session, announce its end and release it and the index's file.

        The auto-save thread has ended when this returns (a save it had under way included).
        The manager stays usable: the next call opens what it needs again.
        """
        autosaver = self._autosaver
        try:
            self._close()
        finally:
            # Joining while holding the lock (a callback closing the session) could wait on
            # a save that waits for the lock: then the thread is left to end by itself.
            holding = getattr(self._lock, "_is_owned", lambda: False)()
            if not holding:
                autosaver.join()
                with self._lock:  # the index reopens itself on next use
                    self.index.close()

    def _close(self) -> None:
        with self._lock:
            session = self._current
            if session is None:
                return
            if self._draft:  # never written: nothing to save, nothing to announce
                self._current, self._draft = None, False
                return
            try:
                if self.is_dirty:  # nothing new: the snapshot already holds it all
                    self._compact()
                self._emit("session:end", session)
            finally:
                before = self.index.folder_state()
                self._deactivate()
                self._index_quietly(
                    session.id, lambda: self.index.update(session, folder_before=before)
                )

    def delete(self, session_id: str) -> bool:
        """Delete a session and its files; False when it does not exist.

        Refuses (``SessionLockedError``) a session another process has open.
        """
        validate_session_id(session_id)
        with self._lock:
            before = self.index.folder_state()
            current = self._current
            if current is not None and current.id == session_id:
                self._deactivate()
                deleted = self.storage.delete(session_id)
            else:
                with self.storage.writer_lock(session_id, "short"):
                    deleted = self.storage.delete(session_id)
            self._index_quietly(
                session_id, lambda: self.index.remove(session_id, folder_before=before)
            )
        return deleted

    def trash(self, session_id: str) -> TrashOutcome:
        """Move a session to the trash (restorable with ``restore``): ``"trashed"``;
        ``"leftovers"`` when only files a crash left under that id were there (removed for
        good); ``"missing"`` when there was nothing. Refused (``SessionLockedError``) when
        another process has it open. A damaged session goes as it is.
        """
        from opencode.sessions.trash import move_to_trash

        validate_session_id(session_id)
        with self._lock:
            current = self._current
            if current is not None and current.id == session_id:
                self.close()
            return move_to_trash(self.storage, self.index, session_id)

    @property
    def trash_bin(self) -> Trash:
        """The trash beside this manager's sessions folder."""
        from opencode.sessions.trash import Trash

        return Trash(self.storage)

    def restore(self, session_id: str) -> Session:
        """Bring a session back from the trash under its id (``SessionExistsError`` when that
        id is taken again, ``SessionNotFoundError`` when it is not in the trash). A session
        that was damaged comes back as it was and raises ``SessionCorruptedError``, so that
        ``recover`` can be tried on it."""
        from opencode.sessions.trash import Trash

        validate_session_id(session_id)
        with self._lock, self.storage.writer_lock(session_id, "short"):
            before = self.index.folder_state()
            Trash(self.storage).restore(self.storage, session_id)
            self.index.refresh()
            session = self.storage.load(session_id)
            self._index_quietly(session.id, lambda: self.index.add(session, folder_before=before))
        return session

    @contextlib.contextmanager
    def _opening(self, session_id: str) -> Iterator[SessionWriterLock]:
        """Take the writer lock to hold a session open; released only if the block fails."""
        lock = self.storage.writer_lock(session_id)
        lock.acquire()
        try:
            yield lock
        except BaseException:
            lock.release()
            raise

    def _reopen(self, session_id: str | None) -> None:
        """After a failed switch, make the previous session current again (best effort)."""
        if session_id is None or self._current is not None:
            return
        try:
            with self._opening(session_id) as lock:
                self._activate(self.storage.load(session_id), lock)
        except Exception as exc:
            logger.warning("could not reopen session %s: %s", session_id, exc)

    def recover(self, session_id: str, *, force: bool = False) -> Session:
        """Put a damaged session's last good version (``.backup``) back, under its writer lock.

        Refuses (``SessionStorageError``) when the session still loads, unless ``force``: the
        backup is older, and restoring it would drop the newest messages.
        """
        validate_session_id(session_id)
        with self._lock:
            current = self._current
            if current is not None and current.id == session_id:
                raise SessionStorageError(f"session {session_id} is open here; close it first")
            with self.storage.writer_lock(session_id, "short"):
                if not force and self._loads(session_id):
                    raise SessionNotDamagedError(session_id)
                before = self.index.folder_state()
                if not self.storage.recover_from_backup(session_id):
                    raise SessionStorageError(f"session {session_id} has no usable backup")
                session = self.storage.load(session_id)
                self._index_quietly(
                    session.id, lambda: self.index.add(session, folder_before=before)
                )
            return session

    def _loads(self, session_id: str) -> bool:
        try:
            self.storage.load(session_id)
        except SessionNotFoundError:
            return False
        except SessionCorruptedError:
            return False
        return True

    def _activate(self, session: Session, lock: SessionWriterLock) -> None:
        self._journal = self.storage.open_journal(session.id, durable=self.durable_appends)
        self._snapshot_bytes = self.storage.snapshot_size(session.id)
        self._writer_lock = lock
        self._current = session
        self._unsaved = False
        self._saved_metadata = _fingerprint(session.metadata)
        self._autosaver = AutoSaver(self._autosave_tick, self.auto_save_interval)
        self._autosaver.start()

    def _deactivate(self) -> None:
        self._autosaver.stop(wait=False)
        if self._journal is not None:
            self._journal.close()
        if self._writer_lock is not None:
            self._writer_lock.release()
        self._current = None
        self._draft = False
        self._journal = None
        self._writer_lock = None
        self._unsaved = False

    def _compact(self) -> None:
        """Fold the journal into a fresh snapshot, refresh the index entry, announce the save.

        Every snapshot write (``save``, ``close``, auto-save, compaction) fires
        ``session:save``.
        """
        session = self._require_current()
        before = self.index.folder_state()
        self._snapshot_bytes = self.storage.save(session, self._journal)
        self._unsaved = False
        self._saved_metadata = _fingerprint(session.metadata)
        self._index_quietly(session.id, lambda: self.index.update(session, folder_before=before))
        self._emit("session:save", session)

    def _index_quietly(self, session_id: str, change: Callable[[], object]) -> None:
        """Bring the index up to date after a change that is already durable.

        It never fails the call: the index is a cache, so a failure is logged and the entry
        heals from the session files on a later read.
        """
        try:
            change()
        except (SessionError, OSError, sqlite3.Error) as exc:
            logger.warning("could not update the index for session %s: %s", session_id, exc)

    def _autosave_tick(self) -> None:
        """Make what only memory holds durable: a direct edit of ``session.metadata`` is
        journaled; the journal already holds everything else, and is folded into the
        snapshot when it has grown enough (not on every tick: that would rewrite a long
        session every minute)."""
        with self._lock:
            session = self._current
            if session is None:
                return
            if _fingerprint(session.metadata) != self._saved_metadata:
                self._record(OP_SET, {"fields": {"metadata": session.metadata}})
                self._saved_metadata = _fingerprint(session.metadata)
            assert self._journal is not None
            if self._journal.size >= self._compaction_threshold():
                self._compact()

    def _save_at_exit(self) -> None:
        if not self._lock.acquire(timeout=EXIT_SAVE_WAIT):
            return
        try:
            if self._current is not None and self.is_dirty:
                self._compact()
        except Exception as exc:
            logger.warning("could not save session at exit: %s", exc)
        finally:
            self._lock.release()

    # -- listing ------------------------------------------------------------------------------

    def list_sessions(
        self,
        limit: int | None = None,
        offset: int = 0,
        sort_by: str = "active_at",
        descending: bool = True,
        tags: Iterable[str] | None = None,
        search: str | None = None,
        working_dir: str | os.PathLike[str] | None = None,
        *,
        under_dir: str | os.PathLike[str] | None = None,
        pinned_first: bool = True,
    ) -> list[SessionSummary]:
        """Summaries from the index, freshly read so other processes' sessions show up.

        The default order is by activity (the last message), most recent first, pinned
        sessions before the others (``pinned_first=False`` for plain recency).
        """
        self.index.refresh()
        return self.index.list(
            pinned_first=pinned_first,
            limit=limit,
            offset=offset,
            sort_by=sort_by,
            descending=descending,
            tags=tags,
            search=search,
            working_dir=working_dir,
            under_dir=under_dir,
        )

    def search(self, query: str, **filters: Any) -> list[SearchHit]:
        """Sessions whose messages match ``query``, best first; see ``sessions.search``."""
        from opencode.sessions.search import search

        self.index.refresh()
        return search(self.index, query, **filters)

    def get_session(self, session_id: str) -> Session | None:
        """The current session if it has that id, else the stored one; None if missing."""
        current = self._current
        if current is not None and current.id == session_id:
            return current
        return self.storage.load_or_none(session_id)

    # -- recording ----------------------------------------------------------------------------

    def _record(self, op: str, payload: Mapping[str, Any]) -> Session:
        """Journal one change durably, then apply it to the in-memory session.

        On a draft, field changes stay in memory and content writes the draft first.
        """
        session = self._require_current()
        if self._draft:
            if op == OP_SET:
                apply_record(session, make_record(session, op, payload))
                return session
            self._materialize()
        assert self._journal is not None
        record = make_record(session, op, payload)
        self._journal.append([record])
        # From here on the change is durable: the call succeeds whatever follows.
        apply_record(session, record)
        self._unsaved = True
        if not self._compact_if_due():
            message = session.messages[-1] if op == OP_MESSAGE else None
            self._index_quietly(session.id, lambda: self.index.record_message(session, message))
        return session

    def _compaction_threshold(self) -> float:
        return max(self.compact_journal_bytes, COMPACT_RATIO * self._snapshot_bytes)

    def _compact_if_due(self) -> bool:
        """Past the threshold, fold the journal into the snapshot: in the background when
        auto-save runs (so the user's turn never waits), inline otherwise; True when done
        inline. A failure is logged; the journal keeps everything and a later save retries."""
        assert self._journal is not None
        if self._journal.size < self._compaction_threshold() or self._autosaver.wake():
            return False
        try:
            self._compact()
        except (SessionError, OSError) as exc:
            logger.warning("could not compact session %s (will retry): %s", self._current, exc)
            return False
        return True

    def add_message(
        self,
        role: str,
        content: str = "",
        *,
        tool_calls: list[dict[str, Any]] | None = None,
        tool_call_id: str | None = None,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> SessionMessage:
        """Append a message to the current session; on disk before this returns.

        The first user message names an untitled session. ``metadata`` is kept with the
        message and never sent to a model.
        """
        if not isinstance(role, str) or not role:
            raise ValueError("role must be a non-empty string")
        if not isinstance(content, str):
            raise ValueError("content must be a string")
        message = SessionMessage(
            role=role,
            content=titles.storable_text(content),
            tool_calls=tool_calls,
            tool_call_id=tool_call_id,
            name=name,
            metadata=metadata,
        )
        with self._lock:
            session = self._record(OP_MESSAGE, {"message": message.to_dict()})
            stored = session.messages[-1]
            if role == "user" and not session.title:
                self._name_after_first_message(session)
        self._emit("session:message", session, stored)
        return stored

    def record_tool_call(
        self,
        tool_name: str,
        arguments: dict[str, Any] | None = None,
        result: Any = None,
        duration: float = 0.0,
        success: bool = True,
        error: str | None = None,
    ) -> ToolInvocation:
        """Record one tool run in the current session's tool history."""
        invocation = ToolInvocation.from_call(
            tool_name, arguments, result, duration, success, error
        )
        with self._lock:
            session = self._record(OP_TOOL, {"tool": invocation.to_dict()})
            return session.tool_history[-1]

    def update_usage(self, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        """Add a model call's reported token usage to the current session."""
        check_token_counts(prompt_tokens, completion_tokens)
        with self._lock:
            self._record(
                OP_USAGE, {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
            )

    # -- titles, tags -------------------------------------------------------------------------

    def generate_title(self, session: Session | None = None) -> str:
        """A title from the first user message (at most 50 characters)."""
        return titles.generate_title(session if session is not None else self._require_current())

    def set_title(self, title: str) -> None:
        """Rename the current session."""
        cleaned = titles.clean_title(title)
        with self._lock:
            self._set_fields({"title": cleaned})

    def set_metadata(self, key: str, value: Any) -> None:
        """Set one metadata entry of the current session, journaled like any other change.

        (Editing ``session.metadata`` directly also works; it reaches disk at the next save.)
        """
        if not isinstance(key, str) or not key:
            raise ValueError("a metadata key must be a non-empty string")
        with self._lock:
            session = self._require_current()
            self._record(OP_SET, {"fields": {"metadata": {**session.metadata, key: value}}})
            self._saved_metadata = _fingerprint(session.metadata)

    def set_model(self, model: str | None) -> None:
        """Record which model the current session now talks to."""
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise ValueError("model must be a non-empty string or None")
        with self._lock:
            if self._require_current().model != model:
                self._set_fields({"model": model})

    def add_tag(self, tag: str) -> bool:
        """Tag the current session; False when it already had the tag."""
        cleaned = titles.clean_tag(tag)
        with self._lock:
            session = self._require_current()
            if cleaned in session.tags:
                return False
            self._set_fields({"tags": [*session.tags, cleaned]})
            return True

    def remove_tag(self, tag: str) -> bool:
        """Remove a tag from the current session; False when it did not have it."""
        with self._lock:
            session = self._require_current()
            if tag not in session.tags:
                return False
            self._set_fields({"tags": [t for t in session.tags if t != tag]})
            return True

    def _set_fields(self, fields: Mapping[str, Any]) -> None:
        """A structural change: journal it and update the index right away."""
        self._record(OP_SET, {"fields": dict(fields)})  # the index follows in the same call

    def _name_after_first_message(self, session: Session) -> None:
        """Title an untitled session from its first user message; the message is already
        stored, so a failure here is logged, never reported as a failed append."""
        try:
            self._set_fields({"title": titles.generate_title(session)})
        except (SessionError, OSError) as exc:
            logger.warning("could not title session %s: %s", session.id, exc)

    def update_session(
        self,
        session_id: str,
        *,
        title: str | None = None,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> Session:
        """Retitle, retag or change metadata of any session, current or not.

        ``metadata`` maps keys to new values (None removes the key). A session that is not
        current gets one journal record under its writer lock (waiting briefly for another
        short writer, refused when another process holds it open): a long session is not
        rewritten for a new tag.
        """
        new_title = None if title is None else titles.clean_title(title)
        adding = titles.clean_tags(list(add_tags))
        removing = set(remove_tags)
        if metadata is not None:
            check_nesting_on_write(dict(metadata), "metadata")
        with self._lock:
            current = self._current
            if current is not None and current.id == session_id:
                fields = _changed_fields(current, new_title, adding, removing, metadata)
                if fields:
                    self._set_fields(fields)
                return current
            validate_session_id(session_id)
            if not self.storage.exists(session_id):
                raise SessionNotFoundError(session_id)
            with self.storage.writer_lock(session_id, "short"):
                session = self.storage.load(session_id)
                fields = _changed_fields(session, new_title, adding, removing, metadata)
                if fields:
                    self._append_to_closed(session, OP_SET, {"fields": fields})
            return session

    def fork(
        self,
        session_id: str,
        *,
        at: int | None = None,
        before_message: str | None = None,
        title: str | None = None,
    ) -> Session:
        """A new session with a copy of ``session_id``'s messages up to a point (all of them,
        the first ``at``, or those before ``before_message``); the original is untouched.

        The fork is written and indexed but not made current; ``resume`` it to continue.
        """
        from opencode.sessions import forks

        new_title = None if title is None else titles.clean_title(title)
        with self._lock:
            source = self._source(session_id)
            keep = forks.cut_point(source, at=at, before_message=before_message)
            return self._write_fork(forks.fork_of(source, keep, title=new_title))

    def rewind(self, turns: int = 1) -> Session:
        """Go back ``turns`` user turns in the current session: fork it just before that
        user message and switch to the fork. The current session keeps the full history."""
        from opencode.sessions import forks

        with self._lock:
            source = self._require_current()
            keep = forks.rewind_point(source, turns)
            fork = self._write_fork(forks.fork_of(source, keep, title=source.title or None))
            return self.resume(fork.id)

    def _source(self, session_id: str) -> Session:
        current = self._current
        if current is not None and current.id == session_id:
            return current
        validate_session_id(session_id)
        return self.storage.load(session_id)

    def _write_fork(self, fork: Session) -> Session:
        before = self.index.folder_state()
        self.storage.save(fork)
        self._index_quietly(fork.id, lambda: self.index.add(fork, folder_before=before))
        return fork

    def resolve_conflicts(self, session_id: str) -> list[Session]:
        """Keep both sides of a session a folder-sync tool changed on two machines.

        The local copy stays as it is; each conflict copy (Syncthing, Dropbox, iCloud names)
        becomes a new session, a fork recording the last message both copies share, and the
        copy itself moves to ``<trash>/conflicts/``. Returns the new sessions.
        """
        from opencode.sessions import forks
        from opencode.sessions.fileio import read_session_file
        from opencode.sessions.storage import parse_session_bytes

        created = []
        with self._lock:
            local = self._source(session_id) if self.storage.exists(session_id) else None
            for path in self.storage.conflict_copies(session_id):
                other = parse_session_bytes(read_session_file(path), path)
                if other.id != session_id:
                    raise SessionCorruptedError(f"holds session {other.id!r}", path)
                if local is None:  # its own file is gone: the copy takes its place
                    local = self._adopt_conflict_copy(other, path)
                    created.append(local)
                    continue
                title = f"{other.title or 'untitled'} (conflict copy)"
                fork = forks.fork_of(other, other.message_count, title=title[:200])
                fork.metadata[forks.FORKED_FROM] = {
                    "session_id": session_id,
                    "message_id": forks.common_message(local, other),
                    "conflict_copy": path.name,
                }
                created.append(self._write_fork(fork))
                self.trash_bin.keep_conflict_copy(path)
        self.index.refresh()
        return created

    def _adopt_conflict_copy(self, copy: Session, path: Path) -> Session:
        """Write a conflict copy as its session (whose own file is gone), then keep the
        copy in the trash's conflicts folder."""
        with self.storage.writer_lock(copy.id, "short"):
            before = self.index.folder_state()
            self.storage.save(copy)
            self._index_quietly(copy.id, lambda: self.index.add(copy, folder_before=before))
        self.trash_bin.keep_conflict_copy(path)
        return copy

    def archive(self, session_id: str) -> Session:
        """Leave the default listings, completion and resume picks; still searchable."""
        when = format_timestamp(utc_now())
        return self.update_session(session_id, metadata={"archived_at": when})

    def unarchive(self, session_id: str) -> Session:
        """Back in the default listings."""
        return self.update_session(session_id, metadata={"archived_at": None})

    def pin(self, session_id: str) -> Session:
        """Listed first and never cleaned up."""
        return self.update_session(session_id, metadata={"pinned": True})

    def unpin(self, session_id: str) -> Session:
        """An ordinary session again."""
        return self.update_session(session_id, metadata={"pinned": None})

    def _append_to_closed(self, session: Session, op: str, payload: Mapping[str, Any]) -> None:
        """One journal record for a session this manager does not hold open (its writer lock
        is held by the caller)."""
        before = self.index.folder_state()
        journal = self.storage.open_journal(session.id, durable=self.durable_appends)
        try:
            record = make_record(session, op, payload)
            journal.append([record])
        finally:
            journal.close()
        apply_record(session, record)
        self._index_quietly(session.id, lambda: self.index.update(session, folder_before=before))

    # -- events -------------------------------------------------------------------------------

    def register_hook(self, event: str, callback: SessionCallback) -> None:
        """Call ``callback`` on ``event`` (``session:start|end|message|save``)."""
        self.events.register(event, callback)

    def unregister_hook(self, event: str, callback: SessionCallback) -> bool:
        """Stop calling ``callback`` on ``event``; False when it was not registered."""
        return self.events.unregister(event, callback)

    @property
    def fire_shell_hooks(self) -> bool:
        """Whether configured shell hooks hear this manager's events."""
        return self.events.fire_shell_hooks

    @fire_shell_hooks.setter
    def fire_shell_hooks(self, value: bool) -> None:
        self.events.fire_shell_hooks = value

    def _emit(self, event: str, session: Session, message: SessionMessage | None = None) -> None:
        self.events.emit(event, session, message)


def _changed_fields(
    session: Session,
    title: str | None,
    adding: list[str],
    removing: set[str],
    metadata: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The ``set`` fields that turn ``session`` into what was asked; empty when it already is."""
    fields: dict[str, Any] = {}
    if title is not None and title != session.title:
        fields["title"] = title
    tags = [t for t in session.tags if t not in removing]
    tags += [t for t in adding if t not in tags]
    if tags != session.tags:
        fields["tags"] = tags
    if metadata:
        merged = {k: v for k, v in session.metadata.items() if metadata.get(k, v) is not None}
        merged.update({k: v for k, v in metadata.items() if v is not None})
        if merged != session.metadata:
            fields["metadata"] = merged
    return fields


def _fingerprint(metadata: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(metadata, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return repr(metadata).encode()


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return ""


def _register_for_exit(manager: SessionManager) -> None:
    global _atexit_registered
    _live_managers.add(manager)
    if not _atexit_registered:
        atexit.register(_save_all_at_exit)
        _atexit_registered = True
