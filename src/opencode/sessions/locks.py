"""Cross-process locks: one writer per session, and serialised index updates.

Both use ``filelock`` (``fcntl.flock`` on Unix), which the operating system releases when a
process dies, so a crash never leaves a session locked forever.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from opencode.sessions.errors import SessionLockedError, SessionStorageError
from opencode.sessions.fileio import PRIVATE_FILE_MODE, atomic_write, storage_error

INDEX_LOCK_TIMEOUT: Final = 30.0


class SessionWriterLock:
    """The right to write one session, held from create/resume until close.

    The holder's pid goes into a side file (``filelock`` truncates the lock file itself on
    every attempt), so a refused process can say who has the session.
    """

    def __init__(self, session_id: str, lock_path: Path, owner_path: Path) -> None:
        self.session_id = session_id
        self.lock_path = lock_path
        self.owner_path = owner_path
        from filelock import FileLock  # deferred: read-only commands never lock

        self._lock = FileLock(lock_path, timeout=0, mode=PRIVATE_FILE_MODE, thread_local=False)

    @property
    def is_held(self) -> bool:
        """True while this object holds the lock."""
        return self._lock.is_locked

    def acquire(self) -> None:
        """Take the lock or raise ``SessionLockedError`` naming the holder's pid."""
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise SessionLockedError(self.session_id, self._owner_pid()) from None
        except OSError as exc:
            raise storage_error(f"cannot lock session {self.session_id}", exc) from exc
        with contextlib.suppress(SessionStorageError):
            atomic_write(self.owner_path, f"{os.getpid()}\n".encode())

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
        session then locks a fresh file, and ``filelock`` retries on an unlinked inode.
        """
        if not self._lock.is_locked:
            return
        for path in (self.owner_path, self.lock_path):
            with contextlib.suppress(OSError):
                path.unlink()
        self._lock.release(force=True)

    def _owner_pid(self) -> int | None:
        try:
            return int(self.owner_path.read_text().strip())
        except (OSError, ValueError):
            return None


@contextlib.contextmanager
def locked_index(lock_path: Path) -> Iterator[None]:
    """Hold the lock serialising read-modify-write of ``index.json`` across processes."""
    from filelock import FileLock, Timeout

    lock = FileLock(
        lock_path, timeout=INDEX_LOCK_TIMEOUT, mode=PRIVATE_FILE_MODE, thread_local=False
    )
    try:
        lock.acquire()
    except Timeout:
        raise SessionStorageError(
            f"timed out after {INDEX_LOCK_TIMEOUT:.0f}s waiting for {lock_path}"
        ) from None
    except OSError as exc:
        raise storage_error(f"cannot lock {lock_path}", exc) from exc
    try:
        yield
    finally:
        lock.release()
