"""The terminal side of the chat loop: reading lines, line editing and history, hang-ups.

On a terminal, lines come through readline (editing, history kept in ``<data dir>/
repl_history``, TAB completion of slash commands); from a pipe or file, one line at a time
with no prompt on stdout.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any, Final, TextIO

from opencode.cli.repl.slash import COMMAND_NAMES, SESSION_SUBCOMMANDS

HISTORY_FILE_NAME: Final = "repl_history"
CONTINUATION_PROMPT: Final = "... "
_READLINE_BINDINGS: Final = (
    "tab: complete",
    # A pasted block is one message; Enter inside a paste does not send it.
    "set enable-bracketed-paste on",
    # Alt-Enter / Esc-Enter put a newline in the message instead of sending it.
    '"\\e\\C-m": "\\C-v\\C-j"',
    '"\\e\\C-j": "\\C-v\\C-j"',
    # Ctrl-X Ctrl-E: write the message in $EDITOR (``/edit`` with what is typed so far).
    '"\\C-x\\C-e": "\\C-a/edit \\C-m"',
)
HISTORY_LENGTH: Final = 1000


def history_file() -> Path:
    """Where the terminal's line history is kept between runs."""
    from opencode.paths import data_dir

    return data_dir() / HISTORY_FILE_NAME


def isatty(stream: TextIO) -> bool:
    """True when ``stream`` is a terminal (false for anything that cannot say)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class LineReader:
    """One message per call: readline on a terminal, plain lines from a pipe or file.

    On a terminal a message may span lines: a pasted block arrives whole (bracketed paste),
    Alt-Enter or Esc-Enter inserts a newline, and a line ending in ``\\`` continues on the
    next one. ``read`` returns ``None`` at end of input and lets ``KeyboardInterrupt``
    through.
    """

    def __init__(self, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.interactive = isatty(stdin)
        # input() edits lines only when stdin and stdout are both the terminal. When stdout
        # is piped (``opencode | tee chat.log``) the terminal on stderr stands in for it
        # while a line is read, so editing and history still work.
        self.line_editing = (
            self.interactive
            and stdin is sys.__stdin__
            and stdout is sys.__stdout__
            and (isatty(stdout) or isatty(stderr))
        )
        self._readline: Any = None
        if isinstance(stdin, io.TextIOWrapper):
            # A stray byte must not end the session, nor reach the JSON as a lone surrogate;
            # input() decodes with these settings too.
            stdin.reconfigure(errors="replace")
        if self.line_editing:
            self._readline = _setup_readline()

    def read(self, prompt: str) -> str | None:
        """The next message (lines continued with a trailing backslash joined by newlines)."""
        line = self._read_line(prompt)
        if not self.interactive:
            return line
        parts: list[str] = []
        while line is not None and _continues(line):
            parts.append(line[:-1])
            line = self._read_line(CONTINUATION_PROMPT)
        if line is None:
            return "\n".join(parts) if parts else None
        return "\n".join([*parts, line])

    def _read_line(self, prompt: str) -> str | None:
        if self.line_editing:
            try:
                with _terminal_as_stdout(self.stdout, self.stderr):
                    return input(prompt)
            except EOFError:
                return None
        if self.interactive:
            self.stderr.write(prompt)
            self.stderr.flush()
        line = self.stdin.readline()
        if not line:
            return None
        return line.rstrip("\r\n") if line.endswith("\n") else line

    def pending_text(self) -> str:
        """What the user had typed when Ctrl-C arrived (empty when unknown)."""
        if self._readline is None:
            return ""
        with contextlib.suppress(Exception):
            return str(self._readline.get_line_buffer())
        return ""

    def close(self) -> None:
        if self._readline is not None:
            _save_readline_history(self._readline)


def _continues(line: str) -> bool:
    """A line ending in one backslash (``\\\\`` is a literal backslash) continues."""
    stripped = line.rstrip(" ")
    return stripped.endswith("\\") and not stripped.endswith("\\\\")


@contextlib.contextmanager
def _terminal_as_stdout(stdout: TextIO, stderr: TextIO) -> Iterator[None]:
    """While a line is read, put the terminal (stderr) in place of a piped stdout."""
    if isatty(stdout):
        yield
        return
    stdout.flush()
    saved = os.dup(stdout.fileno())
    try:
        os.dup2(stderr.fileno(), stdout.fileno())
        yield
    finally:
        os.dup2(saved, stdout.fileno())
        os.close(saved)


def _setup_readline() -> Any:
    """Line editing, history from earlier runs and TAB completion of slash commands."""
    try:
        import readline
    except ImportError:  # e.g. Windows without pyreadline: input() still works
        return None
    path = history_file()
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(HISTORY_LENGTH)

    def complete(text: str, state: int) -> str | None:
        before = readline.get_line_buffer()[: readline.get_begidx()].split()
        if not before and (not text or text.startswith("/")):
            options = [f"{name} " for name in COMMAND_NAMES if name.startswith(text)]
        elif before == ["/session"]:
            options = [f"{sub} " for sub in SESSION_SUBCOMMANDS if sub.startswith(text)]
        else:
            options = []  # message text: TAB completes nothing
        return options[state] if state < len(options) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" ")
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        for binding in _READLINE_BINDINGS:
            readline.parse_and_bind(binding)
    return readline


def _save_readline_history(readline: Any) -> None:
    """Write the line history, readable by the user only (lines may contain secrets)."""
    path = history_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        readline.write_history_file(str(path))
        os.chmod(path, 0o600)
    except OSError:
        pass  # losing line history is not worth an error at exit


@contextlib.contextmanager
def exit_on_hangup() -> Iterator[None]:
    """SIGTERM and SIGHUP (terminal closed) unwind normally, so the session is saved."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, leave)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def edit_in_editor(initial: str = "") -> str:
    """Let the user write a message in ``$VISUAL`` / ``$EDITOR`` (default ``vi``); the text
    saved, without its final newline. The draft file is private and removed afterwards.

    Raises ``OSError`` when the editor cannot be started, ``RuntimeError`` when it fails.
    """
    import shlex
    import subprocess
    import tempfile

    command = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    fd, name = tempfile.mkstemp(prefix="opencode-message-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(initial)
        finished = subprocess.run([*command, name], check=False)
        if finished.returncode != 0:
            raise RuntimeError(f"the editor exited with status {finished.returncode}")
        with open(name, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
    return text[:-1] if text.endswith("\n") else text
