"""Reading and writing the hooks package's small files safely: bounded JSON, private modes.

Hook files come from other people's repositories and the trust store can be damaged, so
reading must turn anything (a folder, a FIFO, JSON nested 100,000 levels deep) into an
ordinary error; and what we write is private (files 0600, folders 0700) whatever the umask.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from opencode import fsutil

# Real files nest 3-4 levels; the JSON decoder recurses once per level, so a bound far below
# the interpreter's recursion limit keeps deep input an error on every Python version.
MAX_JSON_DEPTH: Final = 64
PRIVATE_FILE_MODE: Final = fsutil.PRIVATE_FILE_MODE
PRIVATE_DIR_MODE: Final = fsutil.PRIVATE_DIR_MODE
# A JSON string (possibly unterminated), or one bracket: what nesting depth is counted from.
_STRING_OR_BRACKET: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
LOCK_TIMEOUT: Final = 30.0


NotAFileError = fsutil.NotRegularFileError
# A hooks file or the trust store larger than this is refused rather than read.
MAX_FILE_BYTES: Final = 4 * 1024 * 1024


def read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``; ``NotAFileError`` if it is a link, a FIFO, a device or a folder
    (opened without blocking, never followed), ``FileTooLargeError`` past the cap.

    Other ``OSError`` subclasses (missing, permission denied) pass through.
    """
    return fsutil.read_regular(path, MAX_FILE_BYTES)


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
    """Create ``folder`` and any missing parents, each 0700 whatever the umask."""
    fsutil.make_private_dir(folder)


@contextlib.contextmanager
def private_file_lock(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created 0600, never through a link)."""
    fd = fsutil.flock_exclusive(path, wait=timeout)
    if fd is None:
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {path}")
    try:
        yield
    finally:
        os.close(fd)


def write_atomic(path: Path, content: bytes) -> None:
    """Replace ``path`` atomically and durably, in a private folder, as a 0600 file."""
    fsutil.make_private_dir(path.parent)
    fsutil.atomic_write(path, content)
