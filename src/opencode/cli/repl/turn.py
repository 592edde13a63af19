"""One exchange with the model: stream the answer to stdout, then record it in the session.

What is recorded is what the user saw. An answer that did not finish (Ctrl-C, a server or
connection error, the model's length limit) is kept with ``"incomplete"`` in the message's
metadata (``"interrupted"``, ``"error"`` or ``"length"``) and its text is sent back to the
model next turn as it is, so the model knows what the user read. Reasoning is kept in the
metadata as ``"reasoning"`` and never sent back. Tool calls are recorded but, since opencode
runs no tools, the next request leaves them out (see ``opencode.chat.valid_request``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from opencode.chat import ChatError
from opencode.cli.console import error, say
from opencode.cli.errors import report
from opencode.cli.repl.markdown_stream import AnswerView, answer_view
from opencode.sessions.forks import USAGE_KEY

if TYPE_CHECKING:
    from opencode.chat import ChatClient, ChatReply, ChatStream
    from opencode.cli.repl.loop import Repl

ANSWER_INTERRUPTED: Final = "(answer interrupted; what was shown is kept in the session)"
ANSWER_CUT_OFF: Final = "(answer cut off: the model reached its length limit; ask it to go on)"
ANSWER_EMPTY: Final = "(the model sent an empty answer)"
ANSWER_ONLY_REASONING: Final = "(the model sent reasoning but no answer)"
TOOLS_NOT_RUN: Final = "opencode runs no tools, so none was run"

INCOMPLETE_KEY: Final = "incomplete"
REASONING_KEY: Final = "reasoning"
_TOOL_NAMES_SHOWN: Final = 5
_TOOL_NAME_LIMIT: Final = 60


@dataclass
class TurnOutcome:
    """What one turn came to: the answer as recorded, its usage, and whether it failed
    (an error or an interruption: a script's exit status reports it)."""

    answer: str = ""
    usage: dict[str, int] | None = None
    failed: bool = False


class Turn:
    """One answer: stream it to stdout, then record it (or what was shown of it)."""

    def __init__(self, repl: Repl, client: ChatClient) -> None:
        self.repl = repl
        self.client = client
        self.stream: ChatStream | None = None
        self.view: AnswerView = answer_view(repl.out, terminal=repl.out_is_tty)

    def answer(self, history: list[dict[str, Any]]) -> TurnOutcome:
        """Ask, show and record; what happened is returned, errors were reported."""
        try:
            self.stream = self.client.stream_chat(history)
            with self.stream:
                for delta in self.stream.deltas():
                    if delta.reasoning:
                        self.view.reasoning(delta.reasoning)
                    if delta.text:
                        self.view.text(delta.text)
            self.view.finish()
        except KeyboardInterrupt:
            if self.stream is not None and self.stream.reply is not None:
                self.view.abort()  # Ctrl-C after the last word: the answer is complete
                return self._record(self.stream.reply)
            self.interrupted()
            return TurnOutcome(self._partial_text(), failed=True)
        except ChatError as exc:
            self.view.abort()
            report(exc, file=self.repl.err)  # server text: shown with its controls escaped
            self._record_partial("error")
            return TurnOutcome(self._partial_text(), failed=True)
        if self.stream.reply is None:
            return TurnOutcome(self._partial_text(), failed=True)
        return self._record(self.stream.reply)

    def _partial_text(self) -> str:
        return self.stream.text if self.stream is not None else ""

    def interrupted(self) -> None:
        """Ctrl-C mid-answer: stop reading, keep the session, return to the prompt.

        The part of the answer the user already saw is recorded as the assistant's message,
        so the conversation on disk matches the screen and the model sees it next turn; it
        carries no token usage because the server never reported any.
        """
        if self.stream is not None:
            self.stream.close()
        self.repl.drop_client()
        self.view.abort()
        if self.repl.out_is_tty and not self.view.shown:
            # The terminal echoed "^C" where the answer would have started: end that line.
            self.repl.out.write("\n")
            self.repl.out.flush()
        print(ANSWER_INTERRUPTED, file=self.repl.err, flush=True)
        self._record_partial("interrupted")

    def _record(self, reply: ChatReply) -> TurnOutcome:
        """Keep the answer; add its usage only if the server's counts are believable.

        The usage is also kept in the message's metadata, so a fork of the conversation up
        to here carries exactly the usage of what it copies.
        """
        metadata: dict[str, Any] = {}
        if reply.cut_off:
            metadata[INCOMPLETE_KEY] = "length"
        if reply.reasoning:
            metadata[REASONING_KEY] = reply.reasoning
        usage = _usage_of(reply)
        if usage is not None:
            metadata[USAGE_KEY] = usage
        manager = self.repl.manager
        manager.add_message(
            "assistant",
            reply.text,
            tool_calls=list(reply.tool_calls) or None,
            metadata=metadata or None,
        )
        self._explain(reply)
        if reply.usage_error is not None:
            self._usage_refused(reply.usage_error)
            return TurnOutcome(reply.text)
        if usage is None:
            return TurnOutcome(reply.text)
        try:
            manager.update_usage(usage["prompt_tokens"], usage["completion_tokens"])
        except ValueError as exc:  # InvalidSessionValueError: totals the session cannot hold
            self._usage_refused(f"the session cannot record this token usage ({exc})")
            return TurnOutcome(reply.text)
        return TurnOutcome(reply.text, usage)

    def _explain(self, reply: ChatReply) -> None:
        """One line on stderr for an answer that is not simply text."""
        err = self.repl.err
        if reply.tool_calls:
            say(tool_calls_notice(reply.tool_calls), file=err)
        if reply.cut_off:
            say(ANSWER_CUT_OFF, file=err)
        elif not reply.text and not reply.tool_calls:
            say(ANSWER_ONLY_REASONING if reply.reasoning else ANSWER_EMPTY, file=err)

    def _usage_refused(self, reason: str) -> None:
        error(f"{reason}; the answer is kept without usage", file=self.repl.err)

    def _record_partial(self, reason: str) -> None:
        """Keep what arrived of an unfinished answer, marked as such, if anything did."""
        if self.stream is None:
            return
        text, reasoning = self.stream.text, self.stream.reasoning
        if not text and not reasoning:
            return
        metadata: dict[str, Any] = {INCOMPLETE_KEY: reason}
        if reasoning:
            metadata[REASONING_KEY] = reasoning
        self.repl.manager.add_message("assistant", text, metadata=metadata)


def _usage_of(reply: ChatReply) -> dict[str, int] | None:
    """The reply's token usage as recorded, or None when the server reported none usable."""
    usage = reply.usage
    if reply.usage_error is not None or usage is None:
        return None
    if usage.prompt_tokens is None and usage.completion_tokens is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens or 0,
        "completion_tokens": usage.completion_tokens or 0,
    }


def tool_calls_notice(calls: Sequence[Mapping[str, Any]]) -> str:
    """``(the model asked to run a tool: NAME; opencode runs no tools, ...)``."""
    names = [_tool_name(call) for call in calls]
    shown = ", ".join(names[:_TOOL_NAMES_SHOWN])
    if len(names) > _TOOL_NAMES_SHOWN:
        shown += f" and {len(names) - _TOOL_NAMES_SHOWN} more"
    what = "a tool" if len(names) == 1 else f"{len(names)} tools"
    return f"(the model asked to run {what}: {shown}; {TOOLS_NOT_RUN})"


def _tool_name(call: Mapping[str, Any]) -> str:
    function = call.get("function")
    name = function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(name, str) or not name.strip():
        return "?"
    name = " ".join(name.split())
    return name if len(name) <= _TOOL_NAME_LIMIT else name[: _TOOL_NAME_LIMIT - 1] + "…"
