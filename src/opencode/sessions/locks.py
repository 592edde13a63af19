"""Cross-process locks: one writer per session.

A lock is an exclusive ``flock`` on ``<id>.lock``, which the operating system releases when a
process dies, so a crash never leaves a session locked for good. The holder describes itself
in ``<id>.owner`` (pid, host, and whether it holds the session open or only for a moment), so
a refused process can say who has the session, and a short writer (``session tag``) can wait
for another short writer instead of failing.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import orjson

from opencode import fsutil
from opencode.sessions.errors import SessionLockedError, SessionStorageError
from opencode.sessions.fileio import MAX_SIDE_FILE_BYTES, atomic_write, storage_error

# How long a short writer waits for another short writer before giving up.
SHORT_WRITER_WAIT: Final = 5.0

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final, Literal

    Purpose = Literal["open", "short"]
else:
    Purpose = str


@dataclass(frozen=True)
class LockOwner:
    """Who holds a session's writer lock, as its ``.owner`` file says."""

    pid: int
    host: str = ""
    purpose: Purpose = "open"

    @property
    def is_short(self) -> bool:
        """True for a holder that will let go within moments (a one-off CLI change)."""
        return self.purpose == "short"

    @property
    def is_local(self) -> bool:
        """True when the holder runs on this machine, so its pid means something here."""
        return not self.host or self.host == this_host()


def this_host() -> str:
    """This machine's name, as recorded in owner files and sessions."""
    return os.uname().nodename


def read_owner(owner_path: Path) -> LockOwner | None:
    """The holder recorded in ``owner_path``; None when absent or unreadable.

    Older versions wrote the bare pid; those holders held the session open.
    """
    try:
        data = fsutil.read_regular(owner_path, MAX_SIDE_FILE_BYTES)
    except OSError:
        return None
    with contextlib.suppress(ValueError):
        return LockOwner(pid=int(data.strip()))
    try:
        record = orjson.loads(data)
        pid, host, purpose = record["pid"], record.get("host", ""), record.get("purpose")
    except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError):
        return None
    if type(pid) is not int or not isinstance(host, str):
        return None
    return LockOwner(pid, host, "short" if purpose == "short" else "open")


class SessionWriterLock:
    """The right to write one session: held from create/resume until close, or briefly.

    As a context manager it takes the lock for a short change (waiting a few seconds for
    another short writer) and releases it at the end of the block.
    """

    def __init__(
        self, session_id: str, lock_path: Path, owner_path: Path, purpose: Purpose = "open"
    ) -> None:
        self.session_id = session_id
        self.lock_path = lock_path
        self.owner_path = owner_path
        self.purpose: Purpose = purpose
        self._fd: int | None = None

    @property
    def is_held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise ``SessionLockedError`` naming the holder.

        A short writer waits up to ``SHORT_WRITER_WAIT`` seconds while the holder is another
        short writer (or has not yet said who it is); a session held open is refused at once.
        """
        if self._fd is not None:
            return
        deadline = time.monotonic() + (SHORT_WRITER_WAIT if self.purpose == "short" else 0.0)
        while True:
            try:
                self._fd = fsutil.flock_exclusive(self.lock_path)
            except OSError as exc:
                raise storage_error(f"cannot lock session {self.session_id}", exc) from exc
            if self._fd is not None:
                break
            owner = read_owner(self.owner_path)
            waitable = owner is None or owner.is_short
            if not waitable or time.monotonic() >= deadline:
                raise SessionLockedError(self.session_id, owner.pid if owner else None)
            time.sleep(fsutil.LOCK_POLL_SECONDS)
        record = {"pid": os.getpid(), "host": this_host(), "purpose": self.purpose}
        with contextlib.suppress(SessionStorageError):
            atomic_write(self.owner_path, orjson.dumps(record) + b"\n")

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; never raises for a held lock."""
        try:
            self.acquire()
        except SessionLockedError:
            return False
        return True

    def release(self) -> None:
        """Give the lock back (idempotent), leaving no lock files behind.

        The files go while the lock is still held: a process racing us for a just-closed
        session then locks a fresh file (``flock_exclusive`` retries on an unlinked inode).
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        for path in (self.owner_path, self.lock_path):
            with contextlib.suppress(OSError):
                os.unlink(path)
        os.close(fd)

    def owner(self) -> LockOwner | None:
        """Who holds the lock now, as far as the owner file says."""
        return read_owner(self.owner_path)

    def __enter__(self) -> SessionWriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
