"""Where an import reads from: a file, a stream (stdin), and later a URL.

Every input becomes an ``ImportInput`` (its bytes, a label for messages, and the file's
absolute path when there is one) before any parsing starts, so the formats never touch the
file system. Files are read through ``opencode.fsutil.read_regular``: a FIFO or a device
is refused instead of hanging the command, and nothing larger than ``MAX_IMPORT_BYTES``
is read into memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO, Final

from opencode import fsutil
from opencode.sessions.importers.errors import ImportSourceError

# The same cap as a session file: an import becomes one.
MAX_IMPORT_BYTES: Final = 512 * 1024 * 1024
STDIN_LABEL: Final = "<stdin>"
URL_PREFIXES: Final = ("https://", "http://")


@dataclass(frozen=True)
class ImportInput:
    """The bytes to import and what to call them in messages and in ``imported_from``."""

    data: bytes
    label: str
    path: str | None = None

    @property
    def stem(self) -> str | None:
        """The file name without its extension (Claude Code names files by session id)."""
        if self.path is None:
            return None
        name = os.path.basename(self.path)
        return name.rsplit(".", 1)[0] if "." in name else name


def is_url(text: str) -> bool:
    """True for what ``read_source`` would hand to ``read_url``."""
    return text.lower().startswith(URL_PREFIXES)


def read_source(text: str, stdin: BinaryIO | None = None) -> ImportInput:
    """The input ``text`` names: ``-`` (``stdin``), a URL, or a file path."""
    if text == "-":
        if stdin is None:
            raise ImportSourceError("'-' reads from stdin, but no stdin was given")
        return read_stream(stdin)
    if is_url(text):
        return read_url(text)
    return read_file(text)


def read_url(url: str) -> ImportInput:
    """The seam for importing from a (presigned HTTPS) URL: not implemented yet.

    An implementation downloads at most ``MAX_IMPORT_BYTES`` and returns
    ``ImportInput(data, label=<url without its query string>, path=None)``; everything
    after reading (detection, validation, writing) already works on any ``ImportInput``.
    """
    shown = url.split("?", 1)[0]
    raise ImportSourceError("importing from a URL is not supported yet", shown)


def read_file(path: str | os.PathLike[str]) -> ImportInput:
    """A regular file's bytes. Links the user named are followed (they chose them); what
    they point at must be a regular file."""
    label = os.fspath(path)
    if not label:
        raise ImportSourceError("no file given")
    real = os.path.realpath(label)
    try:
        data = fsutil.read_regular(real, MAX_IMPORT_BYTES)
    except FileNotFoundError:
        raise ImportSourceError("no such file", label) from None
    except (fsutil.NotRegularFileError, fsutil.FileTooLargeError) as exc:
        raise ImportSourceError(exc.strerror or str(exc), label) from None
    except OSError as exc:
        raise ImportSourceError(f"cannot read it: {exc.strerror or exc}", label) from None
    return _checked(ImportInput(data, label, real))


def read_stream(stream: BinaryIO, label: str = STDIN_LABEL) -> ImportInput:
    """All of ``stream`` (at most ``MAX_IMPORT_BYTES``)."""
    try:
        data = stream.read(MAX_IMPORT_BYTES + 1)
    except OSError as exc:
        raise ImportSourceError(f"cannot read it: {exc.strerror or exc}", label) from None
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportSourceError(
            f"more than the {MAX_IMPORT_BYTES:,} bytes an import may have", label
        )
    return _checked(ImportInput(data, label))


def _checked(source: ImportInput) -> ImportInput:
    if not source.data.strip():
        problem = "nothing on stdin" if source.path is None else "the file is empty"
        raise ImportSourceError(problem, source.label)
    return source
