"""Reading and writing the hooks package's small files safely: bounded JSON, private modes.

Hook files come from other people's repositories and the trust store can be damaged, so
reading must turn anything (a folder, a FIFO, JSON nested 100,000 levels deep) into an
ordinary error; and what we write is private (files 0600, folders 0700) whatever the umask.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from filelock import FileLock

# Real files nest 3-4 levels; the JSON decoder recurses once per level, so a bound far below
# the interpreter's recursion limit keeps deep input an error on every Python version.
MAX_JSON_DEPTH: Final = 64
PRIVATE_FILE_MODE: Final = 0o600
PRIVATE_DIR_MODE: Final = 0o700
# A JSON string (possibly unterminated), or one bracket: what nesting depth is counted from.
_STRING_OR_BRACKET: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_OPEN_FLAGS: Final = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)


class NotAFileError(OSError):
    """Something other than a regular file (a folder, a FIFO, a device) is where one belongs."""


def read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``; ``NotAFileError`` if it is not a regular file.

    Opened without blocking and checked before reading, so a FIFO is an error, not a hang.
    Other ``OSError`` subclasses (missing, permission denied) pass through.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotAFileError(errno.EINVAL, "not a regular file", str(path))
        with open(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


def _check_depth(text: str, max_depth: int) -> None:
    if text.count("[") + text.count("{") <= max_depth:
        return  # cannot be too deep: skip the scan
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > max_depth:
                raise ValueError(f"nested more than {max_depth} levels deep")
        elif token in ("]", "}"):
            depth -= 1


def loads_bounded(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that raises ``ValueError`` for any bad input, too-deep nesting included.

    Bytes are decoded as ``json.loads`` would (UTF-8, -16 or -32 by detection).
    """
    text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    _check_depth(text, max_depth)
    try:
        return json.loads(text)
    except RecursionError as exc:  # belt and braces: the depth check should prevent it
        raise ValueError(f"nested too deeply ({exc})") from None


def make_private_dir(folder: Path) -> None:
    """Create ``folder`` and any missing parents, each 0700 whatever the umask.

    ``mkdir(mode=)`` is filtered by the umask and ``parents=True`` ignores the mode for the
    parents, so each missing folder is made on its own and then set explicitly.
    """
    missing: list[Path] = []
    current = folder
    while not os.path.lexists(current) and current.parent != current:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # made by someone else meanwhile: not ours to change
            continue
        os.chmod(path, PRIVATE_DIR_MODE)


def private_file_lock(path: Path) -> FileLock:
    """An exclusive lock on ``path``, whose file is created (or left by old versions) 0600.

    The file is created and set here rather than trusting each filelock version's ``mode``
    handling; ``mode`` is passed too so filelock never widens it.
    """
    from filelock import FileLock

    fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, PRIVATE_FILE_MODE)
    try:
        with contextlib.suppress(PermissionError):  # someone else's file: leave it be
            os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return FileLock(str(path), mode=PRIVATE_FILE_MODE)


def write_atomic(path: Path, content: bytes) -> None:
    """Temp file (0600) in the same folder, fsync, ``os.replace``, fsync the folder."""
    folder = path.parent
    make_private_dir(folder)
    os.chmod(folder, PRIVATE_DIR_MODE)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
