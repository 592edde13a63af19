"""The one place where library errors become an ``error: ...`` line and an exit code.

``report`` is called by the root command group (so Typer's CliRunner sees the same output as
a terminal) and by the entry point's fast paths; no user mistake ever shows a traceback.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable

from opencode.cli import exit_codes
from opencode.cli.console import error, hint, say
from opencode.errors import OpencodeError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Final, TextIO

MAX_CANDIDATES: Final = 10


class CommandError(OpencodeError):
    """A user mistake the CLI itself detects (nothing to confirm with, nothing to resume)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def report(exc: BaseException, *, file: TextIO | None = None) -> int:
    """Print what went wrong (one line, maybe followed by details) and return the exit code.

    Lines go to stderr, or to ``file`` (the interactive loop passes its own stream).
    """
    from opencode.sessions import (
        AmbiguousSessionIdError,
        SessionCorruptedError,
        SessionLockedError,
        SessionVersionError,
    )

    if isinstance(exc, KeyboardInterrupt):
        say("interrupted", file=file)
        return exit_codes.INTERRUPTED
    if _is_chat_config_error(exc):
        error(str(exc), file=file)
        return exit_codes.USAGE
    if isinstance(exc, AmbiguousSessionIdError):
        from opencode.cli.listing import candidate_lines

        error(str(exc), file=file)
        shown = exc.candidates[:MAX_CANDIDATES]
        for line in candidate_lines(shown):
            say(line, file=file)
        if len(exc.candidates) > len(shown):
            say(f"  ... and {len(exc.candidates) - len(shown)} more", file=file)
        return exit_codes.ERROR
    if isinstance(exc, SessionCorruptedError):
        error(str(exc), file=file)
        if not isinstance(exc, SessionVersionError):
            _corruption_hint(exc.path, file)
        return exit_codes.ERROR
    if isinstance(exc, SessionLockedError):
        error(str(exc), file=file)
        hint("close it there first (or wait for it to exit), then try again", file=file)
        return exit_codes.ERROR
    if isinstance(exc, CommandError):
        error(str(exc), file=file)
        if exc.hint:
            hint(exc.hint, file=file)
        return exit_codes.ERROR
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        error(f"{where}{exc.strerror or exc}", file=file)
        return exit_codes.ERROR
    error(str(exc) or type(exc).__name__, file=file)
    if isinstance(exc, OpencodeError) and exc.hint:
        hint(exc.hint, file=file)
    return exit_codes.ERROR


def _is_chat_config_error(exc: BaseException) -> bool:
    """Settings that cannot work (``--base-url``, ``OPENCODE_TIMEOUT``): a usage error.

    Only code that imported the chat package can raise one, so a command that never talks
    to a model does not pay for importing it here.
    """
    chat_errors = sys.modules.get("opencode.chat.errors")
    return chat_errors is not None and isinstance(exc, chat_errors.ChatConfigError)


def _corruption_hint(path: Path | None, file: TextIO | None) -> None:
    if path is None or path.suffix != ".json":
        hint("run 'opencode session list' to see the sessions that can be read", file=file)
        return
    session_id = path.stem
    backup = path.with_suffix(".backup")
    if backup.is_file():
        hint(
            f"the previous version is in {backup.name}; restore it with "
            f"'opencode session recover {session_id}'",
            file=file,
        )
    else:
        hint(
            f"move {path.name} aside to keep it, or remove the session with "
            f"'opencode session delete {session_id}'",
            file=file,
        )


def is_broken_pipe(exc: BaseException) -> bool:
    """True for the error a closed pipe raises (``opencode session list | head``)."""
    return isinstance(exc, OSError) and exc.errno == errno.EPIPE


def silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run_guarded(action: Callable[[], object]) -> int:
    """Run ``action`` outside Typer (the entry point's fast paths) with the same error rules,
    closing what it opened."""
    from opencode.cli.resources import close_all

    try:
        action()
        sys.stdout.flush()
    except (OpencodeError, KeyboardInterrupt) as exc:
        return report(exc)
    except OSError as exc:
        if is_broken_pipe(exc):
            silence_stdout()
            return exit_codes.ERROR
        return report(exc)
    finally:
        close_all()
    return exit_codes.OK
