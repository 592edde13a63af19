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
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import EllipsisType
from typing import TYPE_CHECKING, Final, TextIO

from opencode import __version__
from opencode.chat import (
    DEFAULT_HISTORY_TOKENS,
    NO_MODEL_HINT,
    ChatConfig,
    ChatConfigError,
    resolve_chat_settings,
    select_history,
)
from opencode.cli.console import error
from opencode.cli.errors import CommandError, report
from opencode.cli.exit_codes import ERROR as EXIT_ERROR
from opencode.cli.exit_codes import INTERRUPTED as EXIT_INTERRUPTED
from opencode.cli.exit_codes import OK as EXIT_OK
from opencode.cli.repl.slash import (
    NO_SESSION,
    NO_SESSION_HINT,
    SlashAction,
    SlashContext,
    handle_slash,
    is_slash_command,
    write_resume_summary,
)
from opencode.cli.repl.terminal import LineReader, exit_on_hangup, isatty
from opencode.cli.repl.turn import Turn, TurnOutcome
from opencode.errors import OpencodeError
from opencode.sessions import Session, SessionManager

if TYPE_CHECKING:
    from opencode.chat import ChatClient

GOODBYE: Final = "Session saved. Goodbye!"
GOODBYE_UNSAID: Final = "Nothing was said, so no session was kept. Goodbye!"
INTERRUPT_HINT: Final = "(To exit, press Ctrl-C again or Ctrl-D, or type /quit)"


@dataclass
class ReplOptions:
    """How the loop talks to a model."""

    model: str | None = None
    base_url: str | None = None
    history_tokens: int = DEFAULT_HISTORY_TOKENS


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
    repl = Repl(manager, options, config, stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr)
    return repl.run(session, resumed=resumed)


def prompt_text(session: Session | None) -> str:
    """The spec's prompt: session status once it has content, plain ``You: `` before."""
    if session is None or session.message_count == 0:
        return "You: "
    return f"[{session.message_count} msgs | {session.total_tokens} tokens] You: "


def resolve_repl_chat_config(
    options: ReplOptions, env: Mapping[str, str] | None = None
) -> ChatConfig | None:
    """The model settings of ``options`` and the environment; ``None`` means journal only."""
    return resolve_chat_settings(options.model, options.base_url, options.history_tokens, env)


class Repl:
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
        self.out_is_tty = isatty(stdout)
        if isinstance(stdout, io.TextIOWrapper):
            stdout.reconfigure(errors="replace")  # an answer the locale cannot show stays readable
        self._client: ChatClient | None = None
        self.failed_turns = 0

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
        reader = LineReader(self.stdin, self.out, err)
        if reader.interactive:
            print("", file=err)
        code = EXIT_INTERRUPTED
        try:
            with exit_on_hangup():
                code = self._loop(reader)
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        finally:
            reader.close()
            self.close_client()
            unsaid = self.manager.is_draft
            saved = self._close_session()
        if not saved:
            return EXIT_ERROR
        print(GOODBYE_UNSAID if unsaid else GOODBYE, file=err)
        if code == EXIT_OK and self.failed_turns and not reader.interactive:
            print(f"error: {self.failed_turns} of the turns failed", file=err)
            return EXIT_ERROR  # a script must be able to tell an answer from a failure
        return code

    def _loop(self, reader: LineReader) -> int:
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
                context = self._slash_context(reader.interactive)
                action = handle_slash(line, context)
                if action is SlashAction.QUIT:
                    return EXIT_OK
                if action is SlashAction.SWITCHED:
                    self._record_model()
                if action is not SlashAction.SEND or context.message is None:
                    continue
                line = context.message
            asked_model = self._turn(line)
            if asked_model and reader.interactive and self.out_is_tty:
                print("", file=self.out)  # a blank line between an answer and the next prompt

    def _slash_context(self, interactive: bool) -> SlashContext:
        model = self.config.model if self.config is not None else None
        return SlashContext(
            self.manager, out=self.out, err=self.err, model=model, interactive=interactive
        )

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
        """Record ``text`` and get the model's answer; False when there is no model to ask.

        A failed turn is counted: a scripted run (stdin not a terminal) then exits 1.
        """
        outcome = self.ask(text)
        if outcome.failed:
            self.failed_turns += 1
        return self.config is not None and self.manager.current_session is not None

    def ask(self, text: str) -> TurnOutcome:
        """Record ``text`` and get the model's answer (recorded too)."""
        session = self.manager.current_session
        if session is None:  # a failed /session new or resume that could not reopen the old one
            report(
                CommandError(f"{NO_SESSION}; the message was not recorded", hint=NO_SESSION_HINT),
                file=self.err,
            )
            return TurnOutcome(failed=True)
        self._record_model()
        # On disk before the model sees it: a crash mid-answer keeps what the user typed.
        self.manager.add_message("user", text)
        _announce_prompt(session, text)
        if self.config is None:
            return TurnOutcome()
        history = select_history(session.chat_messages(), self.options.history_tokens)
        return Turn(self, self._chat_client()).answer(history)

    def close_client(self) -> None:
        """Close the model client's connections (the loop does this on its way out)."""
        if self._client is not None:
            self._client.close()
            self._client = None

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


def _announce_prompt(session: Session, text: str) -> None:
    """Fire ``user:prompt_submit``; hooks run in the background and never break the loop."""
    try:
        from opencode.hooks import HookEvent, dispatch

        dispatch(
            HookEvent.user_prompt_submit(session.id, working_dir=session.working_dir, prompt=text)
        )
    except Exception as exc:
        from opencode.logs import get_logger

        get_logger(__name__).warning("could not run user:prompt_submit hooks: %s", exc)
