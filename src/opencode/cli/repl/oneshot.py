"""One question, one answer: ``opencode -p``, as ``claude -p``, ``codex exec`` and ``llm``.

Only the answer goes to stdout (or, with ``--json``, ``{"session_id", "answer", "usage"}``);
errors go to stderr as one line, and a failed turn makes the exit status 1.
"""

from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING, Final, TextIO

from opencode.cli.errors import CommandError
from opencode.cli.exit_codes import ERROR, OK

if TYPE_CHECKING:
    from opencode.chat import ChatConfig
    from opencode.cli.repl.loop import ReplOptions
    from opencode.sessions import SessionManager

# Prompts larger than this are refused rather than sent (a file piped by mistake).
MAX_PROMPT_CHARS: Final = 10_000_000


def read_prompt(prompt: str, stdin: TextIO) -> str:
    """The message ``-p`` sends: ``-``/empty means all of stdin; a prompt with stdin piped
    is followed by stdin (``git diff | opencode -p "Review this"``)."""
    piped = not _isatty(stdin)
    if prompt in ("", "-"):
        if not piped:
            raise CommandError("--print - reads the prompt from stdin, but stdin is a terminal")
        text = stdin.read(MAX_PROMPT_CHARS + 1)
    else:
        text = prompt
        if piped:
            extra = stdin.read(MAX_PROMPT_CHARS + 1)
            text = f"{prompt}\n\n{extra}" if extra.strip() else prompt
    if len(text) > MAX_PROMPT_CHARS:
        raise CommandError(f"the prompt is longer than {MAX_PROMPT_CHARS:,} characters")
    if not text.strip():
        raise CommandError("the prompt is empty")
    return text


def ask_once(
    manager: SessionManager,
    text: str,
    options: ReplOptions,
    config: ChatConfig,
    *,
    as_json: bool,
) -> int:
    """Send ``text`` in the current session and print the answer; the exit code."""
    from opencode.cli.render import dumps_json
    from opencode.cli.repl.loop import Repl

    out = io.StringIO() if as_json else sys.stdout
    repl = Repl(manager, options, config, stdin=sys.stdin, stdout=out, stderr=sys.stderr)
    try:
        outcome = repl.ask(text)
    finally:
        repl.close_client()
    session = manager.current_session
    if as_json:
        record = {
            "session_id": session.id if session is not None else None,
            "answer": outcome.answer,
            "usage": outcome.usage,
        }
        sys.stdout.write(dumps_json(record) + "\n")
    return ERROR if outcome.failed else OK


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
