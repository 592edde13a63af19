"""Session files on disk: private folders, safe reads, crash-safe writes, errors with reasons.

The mechanics live in ``opencode.fsutil`` (no links followed, regular files only, atomic and
durable writes, 0700/0600 whatever the umask); this module adds the sessions library's size
caps and turns ``OSError`` into ``SessionStorageError`` / ``SessionCorruptedError``.
"""

from __future__ import annotations

import errno
from pathlib import Path

import orjson

from opencode import fsutil
from opencode.fsutil import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, write_all
from opencode.logs import get_logger
from opencode.sessions.errors import (
    InvalidSessionValueError,
    SessionCorruptedError,
    SessionStorageError,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, Final

logger = get_logger(__name__)

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "write_all"]

# A session's snapshot or journal larger than this is refused rather than read into memory.
MAX_SESSION_FILE_BYTES: Final = 512 * 1024 * 1024
# Small side files (a lock's owner record).
MAX_SIDE_FILE_BYTES: Final = 64 * 1024


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) as 0700, or tighten a folder others could read."""
    try:
        fsutil.make_private_dir(path)
    except PermissionError as exc:
        if path.is_dir():
            logger.warning("cannot make %s private (%s); others may read it", path, exc)
            return
        raise storage_error(f"cannot create {path}", exc) from exc
    except OSError as exc:
        raise storage_error(f"cannot create {path}", exc) from exc


def storage_error(what: str, exc: OSError) -> SessionStorageError:
    """A ``SessionStorageError`` that carries the operating system's reason."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "no space left on device"
    return SessionStorageError(f"{what}: {reason}")


def dumps_json(data: Any) -> bytes:
    """Readable JSON (indent 2, UTF-8, trailing newline), fast via orjson."""
    return encode_json(data, orjson.OPT_INDENT_2) + b"\n"


def encode_json(data: Any, option: int = 0) -> bytes:
    """JSON bytes, or ``InvalidSessionValueError`` for what cannot be stored and read back.

    orjson refuses integers beyond 64 bits and lone surrogates; refusing them at write time
    keeps every file we write loadable, with exactly the values that went in.
    """
    try:
        return orjson.dumps(data, option=option)
    except TypeError as exc:
        raise InvalidSessionValueError(f"cannot store this value: {exc}") from None


def fsync_dir(path: Path) -> None:
    """Make renames and unlinks inside ``path`` durable (EIO is an error, as for data)."""
    try:
        fsutil.fsync_dir(path)
    except OSError as exc:
        raise storage_error(f"cannot sync folder {path}", exc) from exc


def atomic_write(path: Path, data: bytes, *, backup_path: Path | None = None) -> None:
    """Replace ``path`` with ``data``: a crash leaves the old or the new file, never a mix.

    With ``backup_path`` the previous version is kept there as a hard link.
    """
    try:
        fsutil.atomic_write(path, data, backup_path=backup_path)
    except OSError as exc:
        raise storage_error(f"cannot write {path}", exc) from exc


def read_session_file(path: Path, limit: int = MAX_SESSION_FILE_BYTES) -> bytes:
    """A session file's bytes. ``FileNotFoundError`` passes through; a link, a special
    file or an oversized one is ``SessionCorruptedError`` naming it; other errors are ours."""
    try:
        return fsutil.read_regular(path, limit)
    except FileNotFoundError:
        raise
    except (fsutil.NotRegularFileError, fsutil.FileTooLargeError) as exc:
        raise SessionCorruptedError(exc.strerror or str(exc), path) from None
    except OSError as exc:
        raise storage_error(f"cannot read {path}", exc) from exc
