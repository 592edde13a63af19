"""Where ``-o PATH`` output goes: a file is replaced whole, anything else is written into.

A regular file (or a new one) is replaced atomically, so a crash or a full disk never leaves
half a transcript behind. A FIFO, a device or a symbolic link is different: renaming a file
over it would replace the node or the link itself (as root, ``-o /dev/null`` would swap the
system's /dev/null for a plain file). Those are opened and written the way the shell's ``>``
writes, and are never unlinked or replaced.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Final

from opencode.cli.errors import CommandError

# No O_NONBLOCK: like the shell, an export to a FIFO waits for its reader.
_STREAM_FLAGS: Final = (
    os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
)
_NEW_FILE_MODE: Final = 0o600  # like the atomic writer's temp file: exports hold private text


def write_output_file(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path``: atomically into a regular file, as a stream into the rest."""
    if _replaceable(path):
        from opencode.sessions.fileio import atomic_write

        atomic_write(path, data)
    else:
        _write_into(path, data)


def _replaceable(path: Path) -> bool:
    """True for a regular file that is not a link, or for a name that does not exist yet."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise _write_error(path, exc) from None


def _write_into(path: Path, data: bytes) -> None:
    """Open ``path`` (following links) and write every byte; the node itself stays."""
    try:
        fd = os.open(path, _STREAM_FLAGS, _NEW_FILE_MODE)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if stat.S_ISREG(os.fstat(fd).st_mode):  # a link to a file: make it durable too
            os.fsync(fd)
    except OSError as exc:
        raise _write_error(path, exc) from None
    finally:
        os.close(fd)


def _write_error(path: Path, exc: OSError) -> CommandError:
    if exc.errno == errno.EPIPE:
        return CommandError(f"cannot write {path}: its reader closed it before the end")
    return CommandError(f"cannot write {path}: {exc.strerror or exc}")
