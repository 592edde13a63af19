"""One exchange with the model: stream the answer to stdout, then record it in the session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from opencode.chat import ChatError
from opencode.cli.console import error, printable
from opencode.cli.errors import report

if TYPE_CHECKING:
    from opencode.chat import ChatClient, ChatReply, ChatStream
    from opencode.cli.repl.loop import Repl

ANSWER_INTERRUPTED: Final = "(answer interrupted; what was shown is kept in the session)"


class Turn:
    """One answer: stream it to stdout, then record it (or what was shown of it)."""

    def __init__(self, repl: Repl, client: ChatClient) -> None:
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
