"""The interactive loop ``opencode``, ``opencode --resume`` and ``opencode --continue`` end in.

The user types, the model answers, and everything lands in the session:

* each user message is journaled (durably) before the model is asked, so a crash or
  ``kill -9`` mid-answer never loses what the user typed;
* the answer streams to stdout and is recorded with the server's token usage, exactly;
* Ctrl-C during an answer cancels it and keeps what was shown (see ``_Turn.interrupted``);
* with no model configured the loop is a plain session journal.

stdout carries the answers and slash-command output (data); banners, the prompt when stdout
is not a terminal, hints and errors go to stderr (talk). When stdin is not a terminal no
prompt is printed, so ``printf 'hi\\n/quit\\n' | opencode --resume ID`` is scriptable.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import EllipsisType, FrameType
from typing import TYPE_CHECKING, Any, Final, TextIO

from opencode import __version__
from opencode.chat import (
    DEFAULT_HISTORY_TOKENS,
    DEFAULT_READ_TIMEOUT,
    NO_MODEL_HINT,
    ChatConfig,
    ChatConfigError,
    ChatError,
    resolve_chat_config,
    select_history,
)
from opencode.cli.console import error, printable
from opencode.cli.errors import CommandError, report
from opencode.cli.exit_codes import ERROR as EXIT_ERROR
from opencode.cli.exit_codes import INTERRUPTED as EXIT_INTERRUPTED
from opencode.cli.exit_codes import OK as EXIT_OK
from opencode.cli.slash import (
    COMMAND_NAMES,
    NO_SESSION,
    NO_SESSION_HINT,
    SESSION_SUBCOMMANDS,
    SlashAction,
    SlashContext,
    handle_slash,
    is_slash_command,
    write_resume_summary,
)
from opencode.errors import OpencodeError
from opencode.sessions import Session, SessionManager

if TYPE_CHECKING:
    from opencode.chat import ChatClient, ChatReply, ChatStream

TIMEOUT_ENV: Final = "OPENCODE_TIMEOUT"
HISTORY_FILE_NAME: Final = "repl_history"
HISTORY_LENGTH: Final = 1000

GOODBYE: Final = "Session saved. Goodbye!"
INTERRUPT_HINT: Final = "(To exit, press Ctrl-C again or Ctrl-D, or type /quit)"
ANSWER_INTERRUPTED: Final = "(answer interrupted; what was shown is kept in the session)"


@dataclass
class ReplOptions:
    """How the loop talks to a model."""

    model: str | None = None
    base_url: str | None = None
    history_tokens: int = DEFAULT_HISTORY_TOKENS


def resolve_repl_chat_config(
    options: ReplOptions, env: Mapping[str, str] | None = None
) -> ChatConfig | None:
    """The model settings from options and environment; ``None`` means journal only.

    ``$OPENCODE_TIMEOUT`` (seconds) bounds each wait for the model server to say something.
    Raises ``ChatConfigError`` for settings that cannot work; the CLI can call this before it
    creates a session so a typo does not leave an empty session behind.
    """
    environ = os.environ if env is None else env
    read_timeout = DEFAULT_READ_TIMEOUT
    raw = environ.get(TIMEOUT_ENV, "").strip()
    if raw:
        try:
            read_timeout = float(raw)
        except ValueError:
            read_timeout = -1.0
        if not 0 < read_timeout < float("inf"):
            raise ChatConfigError(
                f"{TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}"
            )
    if options.history_tokens < 1:
        raise ChatConfigError(
            f"history token budget must be at least 1, got {options.history_tokens}"
        )
    return resolve_chat_config(options.model, options.base_url, read_timeout=read_timeout, env=env)


def run_repl(
    manager: SessionManager,
    session: Session,
    *,
    resumed: bool,
    options: ReplOptions,
    config: ChatConfig | EllipsisType | None = ...,
) -> int:
    """Chat in ``session`` until /quit, end of input or a double Ctrl-C; returns the exit code.

    ``config`` is the model's settings the caller already resolved from ``options`` (``None``:
    no model); left out, they are resolved here and ``ChatConfigError`` is raised for bad ones.
    The current session is saved and closed on the way out, whatever the reason.
    """
    if isinstance(config, EllipsisType):
        try:
            config = resolve_repl_chat_config(options)
        except ChatConfigError:
            manager.close()
            raise
    repl = _Repl(manager, options, config, stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr)
    return repl.run(session, resumed=resumed)


def chat_messages(session: Session) -> list[dict[str, Any]]:
    """The session's messages in the OpenAI shape the chat client sends."""
    messages: list[dict[str, Any]] = []
    for message in session.messages:
        item: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.tool_calls:
            item["tool_calls"] = message.tool_calls
            if not message.content:
                item["content"] = None
        if message.tool_call_id is not None:
            item["tool_call_id"] = message.tool_call_id
        if message.name is not None:
            item["name"] = message.name
        messages.append(item)
    return messages


def prompt_text(session: Session | None) -> str:
    """The spec's prompt: session status once it has content, plain ``You: `` before."""
    if session is None or session.message_count == 0:
        return "You: "
    return f"[{session.message_count} msgs | {session.total_tokens} tokens] You: "


def history_file() -> Path:
    """Where the terminal's line history is kept between runs."""
    from opencode.paths import data_dir

    return data_dir() / HISTORY_FILE_NAME


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class _LineReader:
    """One line per call: readline on a terminal, plain lines from a pipe or file.

    ``read`` returns ``None`` at end of input and lets ``KeyboardInterrupt`` through.
    """

    def __init__(self, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> None:
        self.stdin = stdin
        self.stderr = stderr
        self.interactive = _isatty(stdin)
        # input() uses readline only when both ends are the terminal; otherwise it would write
        # the prompt into redirected stdout, so then the prompt goes to stderr instead.
        self.line_editing = (
            self.interactive
            and _isatty(stdout)
            and stdin is sys.__stdin__
            and stdout is sys.__stdout__
        )
        self._readline: Any = None
        if isinstance(stdin, io.TextIOWrapper):
            # A stray byte must not end the session, nor reach the JSON as a lone surrogate;
            # input() decodes with these settings too.
            stdin.reconfigure(errors="replace")
        if self.line_editing:
            self._readline = _setup_readline()

    def read(self, prompt: str) -> str | None:
        if self.line_editing:
            try:
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
        readline.parse_and_bind("tab: complete")
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
def _exit_on_hangup() -> Iterator[None]:
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


class _Repl:
    """State of one run of the loop."""

    def __init__(
        self,
        manager: SessionManager,
        options: ReplOptions,
        config: ChatConfig | None,
        *,
        stdin: TextIO,
        stdout: TextIO,
        stderr: TextIO,
    ) -> None:
        self.manager = manager
        self.options = options
        self.config = config
        self.out = stdout
        self.err = stderr
        self.stdin = stdin
        self.out_is_tty = _isatty(stdout)
        if isinstance(stdout, io.TextIOWrapper):
            stdout.reconfigure(errors="replace")  # an answer the locale cannot show stays readable
        self._client: ChatClient | None = None

    # -- outline ---------------------------------------------------------------------------

    def run(self, session: Session, *, resumed: bool) -> int:
        err = self.err
        print(f"OpenCode v{__version__}", file=err)
        if resumed:
            print(f"Resuming session: {session.id}", file=err)
            write_resume_summary(session, err)
        else:
            print("Starting new session...", file=err)
            print(f"Session: {session.id}", file=err)
        if self.config is None:
            print(NO_MODEL_HINT, file=err)
            print("Messages are recorded in the session without an answer.", file=err)
        self._record_model()
        reader = _LineReader(self.stdin, self.out, err)
        if reader.interactive:
            print("", file=err)
        code = EXIT_INTERRUPTED
        try:
            with _exit_on_hangup():
                code = self._loop(reader)
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        finally:
            reader.close()
            if self._client is not None:
                self._client.close()
            saved = self._close_session()
        if not saved:
            return EXIT_ERROR
        print(GOODBYE, file=err)
        return code

    def _loop(self, reader: _LineReader) -> int:
        ctrl_c_armed = False
        while True:
            try:
                line = reader.read(prompt_text(self.manager.current_session))
            except KeyboardInterrupt:
                if not reader.interactive:
                    return EXIT_INTERRUPTED
                # Like a shell: Ctrl-C clears the line; twice in a row on an empty one exits.
                typed = reader.pending_text()
                self.err.write("\n")
                if not typed and ctrl_c_armed:
                    return EXIT_OK
                if not typed:
                    print(INTERRUPT_HINT, file=self.err)
                ctrl_c_armed = not typed
                continue
            ctrl_c_armed = False
            if line is None:
                if reader.interactive:
                    self.err.write("\n")  # Ctrl-D leaves the cursor after the prompt
                return EXIT_OK
            if not line.strip():
                continue
            if is_slash_command(line):
                action = handle_slash(line, self._slash_context())
                if action is SlashAction.QUIT:
                    return EXIT_OK
                if action is SlashAction.SWITCHED:
                    self._record_model()
                continue
            asked_model = self._turn(line)
            if asked_model and reader.interactive and self.out_is_tty:
                print("", file=self.out)  # a blank line between an answer and the next prompt

    def _slash_context(self) -> SlashContext:
        model = self.config.model if self.config is not None else None
        return SlashContext(self.manager, out=self.out, err=self.err, model=model)

    def _close_session(self) -> bool:
        try:
            self.manager.close()
        except OpencodeError as exc:
            error(f"could not save the session: {exc}", file=self.err)
            return False
        return True

    def _record_model(self) -> None:
        """The session's ``model`` names what answers in it now."""
        if self.config is not None and self.manager.has_current:
            self.manager.set_model(self.config.model)

    # -- one exchange ---------------------------------------------------------------------

    def _turn(self, text: str) -> bool:
        """Record ``text`` and get the model's answer; False when there is no model to ask."""
        session = self.manager.current_session
        if session is None:  # a failed /session new or resume that could not reopen the old one
            report(
                CommandError(f"{NO_SESSION}; the message was not recorded", hint=NO_SESSION_HINT),
                file=self.err,
            )
            return False
        # On disk before the model sees it: a crash mid-answer keeps what the user typed.
        self.manager.add_message("user", text)
        _announce_prompt(session, text)
        if self.config is None:
            return False
        history = select_history(chat_messages(session), self.options.history_tokens)
        _Turn(self, self._chat_client()).answer(history)
        return True

    def _chat_client(self) -> ChatClient:
        if self._client is None:
            from opencode.chat import ChatClient

            assert self.config is not None
            self._client = ChatClient(self.config)
        return self._client

    def drop_client(self) -> None:
        """Forget pooled connections after an interrupted request (their state is unknown)."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()


class _Turn:
    """One answer: stream it to stdout, then record it (or what was shown of it)."""

    def __init__(self, repl: _Repl, client: ChatClient) -> None:
        self.repl = repl
        self.client = client
        self.out = repl.out
        self.stream: ChatStream | None = None
        self.wrote = False  # anything of this answer is on stdout
        self.at_line_start = True
        self._held_cr = False  # a "\r" that may be the first half of a "\r\n"

    def answer(self, history: list[dict[str, Any]]) -> None:
        try:
            self.stream = self.client.stream_chat(history)
            with self.stream:
                if self.repl.out_is_tty:
                    self._write("Assistant: ")
                for delta in self.stream:
                    self._write_delta(delta)
        except KeyboardInterrupt:
            self.interrupted()
            return
        except ChatError as exc:
            self._end_line()
            report(exc, file=self.repl.err)  # server text: shown with its controls escaped
            self._record_partial()
            return
        self._end_line(answered=True)
        if self.stream.reply is not None:
            self._record(self.stream.reply)

    def interrupted(self) -> None:
        """Ctrl-C mid-answer: stop reading, keep the session, return to the prompt.

        The part of the answer the user already saw is recorded as the assistant's message,
        so the conversation on disk matches the screen and the model sees it next turn; it
        carries no token usage because the server never reported any.
        """
        if self.stream is not None:
            self.stream.close()
        self.repl.drop_client()
        self._end_line()
        print(ANSWER_INTERRUPTED, file=self.repl.err)
        self._record_partial()

    def _record(self, reply: ChatReply) -> None:
        """Keep the answer; add its usage only if the server's counts are believable."""
        manager = self.repl.manager
        manager.add_message("assistant", reply.text, tool_calls=list(reply.tool_calls) or None)
        if reply.usage_error is not None:
            self._usage_refused(reply.usage_error)
            return
        usage = reply.usage
        if usage is None or (usage.prompt_tokens is None and usage.completion_tokens is None):
            return
        try:
            manager.update_usage(usage.prompt_tokens or 0, usage.completion_tokens or 0)
        except ValueError as exc:  # InvalidSessionValueError: totals the session cannot hold
            self._usage_refused(f"the session cannot record this token usage ({exc})")

    def _usage_refused(self, reason: str) -> None:
        error(f"{reason}; the answer is kept without usage", file=self.repl.err)

    def _record_partial(self) -> None:
        text = self.stream.text if self.stream is not None else ""
        if text:
            self.repl.manager.add_message("assistant", text)

    def _write_delta(self, delta: str) -> None:
        """Show model text as it arrives, with control characters made inert."""
        if self._held_cr:
            delta, self._held_cr = "\r" + delta, False
        if delta.endswith("\r"):
            delta, self._held_cr = delta[:-1], True
        self._write(printable(delta, multiline=True))

    def _write(self, text: str) -> None:
        if text:
            self.out.write(text)
            self.out.flush()
            self.wrote = True
            self.at_line_start = text.endswith("\n")

    def _end_line(self, *, answered: bool = False) -> None:
        """Finish the answer's line: every complete answer ends in exactly one newline."""
        if self._held_cr:
            self._held_cr = False
            self._write(printable("\r", multiline=True))
        if self.wrote or answered:
            if not (self.wrote and self.at_line_start):
                self.out.write("\n")
            self.out.flush()


def _announce_prompt(session: Session, text: str) -> None:
    """Fire ``user:prompt_submit``; hooks run in the background and never break the loop."""
    try:
        from opencode.hooks import HookEvent, dispatch

        dispatch(
            HookEvent.user_prompt_submit(session.id, working_dir=session.working_dir, prompt=text)
        )
    except Exception as exc:
        import logging

        logging.getLogger(__name__).warning("could not run user:prompt_submit hooks: %s", exc)
