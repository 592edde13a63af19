"""The terminal: Rich consoles for stdout (data) and stderr (talk), and safe user text.

Rich is imported only when a console is first needed. Consoles are created with markup,
highlighting and emoji off, so nothing a user or a model typed is ever interpreted; colour
follows Rich's rules (none when the stream is not a terminal or ``NO_COLOR`` is set).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final, TextIO

    from rich.console import Console

# DEL, C1 controls, and the bidi overrides that can make text display reversed; with the C0
# controls (all of them on one line; multi-line text keeps newlines and tabs, but a lone
# carriage return could overwrite a line) they are shown as escapes.
_UNSAFE_ABOVE_C0: Final = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_C0_ONE_LINE: Final = "\x00-\x1f"
_C0_MULTILINE: Final = "\x00-\x08\x0b-\x1f"

_consoles: dict[str, tuple[TextIO, Console]] = {}


@functools.cache
def _controls(multiline: bool) -> re.Pattern[str]:
    """Compiled on first use: most commands print no user text, and start-up counts."""
    return re.compile(f"[{_C0_MULTILINE if multiline else _C0_ONE_LINE}{_UNSAFE_ABOVE_C0}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with control characters and escape sequences shown as ``\\xNN`` escapes.

    A session's title or a model's reply can hold ESC sequences that would move the cursor,
    change the window title or hide text; shown escaped they are inert and still visible.
    """
    if multiline:
        return _controls(True).sub(_escape, text.replace("\r\n", "\n"))
    if text.isprintable():  # nothing to escape (every unsafe character is unprintable)
        return text
    return _controls(False).sub(_escape, text)


def _new_console(stream: TextIO) -> Console:
    from rich.console import Console

    return Console(file=stream, markup=False, highlight=False, emoji=False)


def _console(stream: TextIO, name: str) -> Console:
    cached = _consoles.get(name)
    if cached is not None and cached[0] is stream:
        return cached[1]
    console = _new_console(stream)
    _consoles[name] = (stream, console)
    return console


def console_for(stream: TextIO) -> Console:
    """A console writing to ``stream``: the shared ones for stdout and stderr, else a new one."""
    if stream is sys.stdout:
        return out()
    if stream is sys.stderr:
        return err()
    return _new_console(stream)


def out() -> Console:
    """The console for data: tables, transcripts."""
    return _console(sys.stdout, "out")


def err() -> Console:
    """The console for talk: progress, hints, confirmations."""
    return _console(sys.stderr, "err")


def say(message: str, *, file: TextIO | None = None) -> None:
    """One line of talk on stderr (or ``file``); plain text, safe to print user text in."""
    print(printable(message), file=sys.stderr if file is None else file)


def error(message: str, *, file: TextIO | None = None) -> None:
    """The ``error: ...`` line a failed command prints on stderr."""
    say(f"error: {message}", file=file)


def warning(message: str, *, file: TextIO | None = None) -> None:
    """A ``warning: ...`` line: something went wrong, the command carries on."""
    say(f"warning: {message}", file=file)


def hint(message: str, *, file: TextIO | None = None) -> None:
    """A follow-up line telling the user what to do about an error."""
    say(f"hint: {message}", file=file)


def stdin_is_tty() -> bool:
    """True when a person can answer a question (tests replace this)."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def stdout_is_tty() -> bool:
    """True when stdout is a terminal rather than a pipe or file (tests replace this)."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def setup_logging() -> None:
    """Show the library's warnings (a corrupt file skipped, a repaired index) on stderr.

    The handler is attached when the library first logs: a command that logs nothing never
    imports ``logging``.
    """
    from opencode.logs import when_logging_starts

    when_logging_starts(_attach_stderr_handler)


def _attach_stderr_handler() -> None:
    import contextlib
    import logging

    class StderrWarningHandler(logging.Handler):
        """``warning: <message>`` on the stderr of the moment (no tracebacks)."""

        def emit(self, record: logging.LogRecord) -> None:
            try:
                message = record.getMessage()
            except Exception:  # a malformed log call must not break the command
                message = str(record.msg)
            label = "warning" if record.levelno < logging.ERROR else "error"
            with contextlib.suppress(OSError, ValueError):
                print(f"{label}: {printable(message)}", file=sys.stderr)

    logger = logging.getLogger("opencode")
    if not any(type(h).__name__ == StderrWarningHandler.__name__ for h in logger.handlers):
        logger.addHandler(StderrWarningHandler(logging.WARNING))


def progress_bar(label: str) -> Callable[[int, int], None] | None:
    """A ``(done, total)`` callback drawing ``label [#####     ] 45% (4,500/10,000)`` on
    stderr when it is a terminal (None otherwise: scripts get no progress noise)."""
    try:
        if not sys.stderr.isatty():
            return None
    except (AttributeError, ValueError):
        return None

    def draw(done: int, total: int) -> None:
        filled = 30 * done // total if total else 30
        percent = 100 * done // total if total else 100
        bar = "#" * filled + " " * (30 - filled)
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{label} [{bar}] {percent:3d}% ({done:,}/{total:,}){end}")
        sys.stderr.flush()

    return draw
