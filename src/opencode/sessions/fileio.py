"""Private folders and crash-safe file writes shared by session files, the index and locks.

Every write goes to a temporary file in the destination folder (created 0600 by ``mkstemp``),
is flushed and fsynced, then renamed over the destination; the folder is fsynced so the
rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from pathlib import Path
from typing import Any, Final

import orjson

from opencode.sessions.errors import InvalidSessionValueError, SessionStorageError

logger = logging.getLogger(__name__)

PRIVATE_DIR_MODE: Final = 0o700
PRIVATE_FILE_MODE: Final = 0o600


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` as 0700, or tighten an existing folder that others could read."""
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, PRIVATE_DIR_MODE)
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


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(path: Path) -> None:
    """Make renames and unlinks inside ``path`` durable."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync folders; the data itself is already synced
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, backup_path: Path | None = None) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    With ``backup_path`` the previous version is kept there as a hard link (no copy), so the
    backup always holds the last good file.
    """
    import tempfile

    folder = path.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise storage_error(f"cannot write {path}", exc) from exc
    tmp = Path(tmp_name)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if backup_path is not None:
            _link_backup(path, backup_path)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise storage_error(f"cannot write {path}", exc) from exc
    fsync_dir(folder)


def _link_backup(path: Path, backup_path: Path) -> None:
    """Point ``backup_path`` at the current ``path`` inode, atomically."""
    staging = backup_path.with_name(f".{backup_path.name}.link")
    with contextlib.suppress(FileNotFoundError):
        staging.unlink()
    try:
        os.link(path, staging)
    except FileNotFoundError:
        return  # first save: nothing to back up
    os.replace(staging, backup_path)


def read_bytes(path: Path) -> bytes:
    """Read a whole file; ``FileNotFoundError`` passes through, other errors become ours."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise storage_error(f"cannot read {path}", exc) from exc
