"""How an answer appears on stdout while it streams.

On a terminal the answer is rendered as Markdown (code blocks, lists, emphasis) as it
arrives, and a reasoning model's thinking is shown dimmed before it. Blocks that can no
longer change (every top-level block but the last) are printed for good; only the block
still growing is redrawn, in a Rich ``Live`` region never taller than the screen, so long
answers scroll normally and nothing is printed twice. When stdout is a pipe or a file the
answer is written exactly as the model sent it and reasoning is not shown.

Either way the model's text cannot drive the terminal: control characters and escape
sequences are shown as ``\\xNN`` before any rendering. Rich and markdown-it are imported
only when a terminal answer starts.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final, Protocol, TextIO

from opencode.cli.console import console_for, printable

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live
    from rich.markdown import Markdown
    from rich.segment import Segment

ANSWER_PREFIX: Final = "Assistant: "
REASONING_PREFIX: Final = "Thinking: "
REFRESH_SECONDS: Final = 1 / 15  # redraw the growing block at most this often
CODE_THEME: Final = "monokai"


class AnswerView(Protocol):
    """Where a streamed answer goes; ``finish`` and ``abort`` may be called more than once."""

    @property
    def shown(self) -> bool:
        """True once anything of this answer is on the screen."""
        ...

    def reasoning(self, delta: str) -> None: ...

    def text(self, delta: str) -> None: ...

    def finish(self) -> None:
        """Show the rest and end the answer's last line."""
        ...

    def abort(self) -> None:
        """Ctrl-C or an error: show what arrived, end the line, never raise."""
        ...


def answer_view(out: TextIO, *, terminal: bool) -> AnswerView:
    """Markdown on a terminal that can redraw, plain text everywhere else."""
    if terminal:
        console = console_for(out)
        if console.is_terminal and not console.is_dumb_terminal:
            return MarkdownAnswer(console)
        return PlainAnswer(out, prefix=ANSWER_PREFIX)
    return PlainAnswer(out)


class InertText:
    """Streamed text with control characters shown as escapes.

    A ``\\r`` at the end of a piece is held back: it may be the first half of a ``\\r\\n``
    split across two pieces, which is a plain line break.
    """

    def __init__(self) -> None:
        self._held_cr = False

    def feed(self, delta: str) -> str:
        if self._held_cr:
            delta, self._held_cr = "\r" + delta, False
        if delta.endswith("\r"):
            delta, self._held_cr = delta[:-1], True
        return printable(delta, multiline=True)

    def flush(self) -> str:
        held, self._held_cr = self._held_cr, False
        return printable("\r", multiline=True) if held else ""


class PlainAnswer:
    """The answer as plain text: byte for byte what the model sent, controls escaped."""

    def __init__(self, out: TextIO, prefix: str = "") -> None:
        self.out = out
        self.prefix = prefix
        self._inert = InertText()
        self._shown = False
        self._at_line_start = True

    @property
    def shown(self) -> bool:
        return self._shown

    def reasoning(self, delta: str) -> None:
        """Not shown: a pipe carries the answer only (the session keeps the reasoning)."""

    def text(self, delta: str) -> None:
        self._write(self._inert.feed(delta))

    def finish(self) -> None:
        self._write(self._inert.flush())
        if self._shown and not self._at_line_start:
            self.out.write("\n")
            self._at_line_start = True
        self.out.flush()

    def abort(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # stdout gone: nothing left to tidy
            self.finish()

    def _write(self, text: str) -> None:
        if not text:
            return
        if not self._shown:
            text = self.prefix + text
        self.out.write(text)
        self.out.flush()
        self._shown = True
        self._at_line_start = text.endswith("\n")


class MarkdownAnswer:
    """The answer rendered as Markdown on a terminal while it streams."""

    def __init__(self, console: Console, *, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.console = console
        self.refresh_seconds = refresh_seconds
        self._inert = InertText()
        self._source = ""  # the answer so far, controls already escaped
        self._printed_to = 0  # how much of _source is printed for good
        self._printed_any = False
        self._live: Live | None = None
        self._last_draw = 0.0
        self._draw_seconds = 0.0  # how long the last redraw took
        self._reasoning_open = False  # the cursor is after reasoning text, mid-line
        self._shown = False
        self._done = False

    @property
    def shown(self) -> bool:
        return self._shown

    # -- input --------------------------------------------------------------------------------

    def reasoning(self, delta: str) -> None:
        """Thinking is shown dimmed as it arrives, but only before the answer starts."""
        if self._source or self._done:
            return
        from rich.text import Text

        text = printable(delta, multiline=True)
        if not text:
            return
        if not self._shown:
            text = REASONING_PREFIX + text
        self.console.print(Text(text, style="dim"), end="", soft_wrap=True)
        self._shown = True
        self._reasoning_open = not text.endswith("\n")

    def text(self, delta: str) -> None:
        self._source += self._inert.feed(delta)
        if self._source.strip():
            with _ctrl_c_held():
                self._end_reasoning()
                self._draw()

    def finish(self) -> None:
        if self._done:
            return
        with _ctrl_c_held():
            self._source += self._inert.flush()
            self._stop_live()
            self._done = True
            self._end_reasoning()
            for block in split_blocks(self._source[self._printed_to :]):
                self._print_for_good(block)
            self._printed_to = len(self._source)

    def abort(self) -> None:
        try:
            self.finish()
        except Exception:  # a half-drawn screen must not hide the error or the notice
            self._done = True
            self._live = None
            with contextlib.suppress(OSError, ValueError):
                self.console.file.write("\n")
                self.console.file.flush()

    # -- drawing ------------------------------------------------------------------------------

    def _end_reasoning(self) -> None:
        if self._reasoning_open:
            self.console.print()
            self._reasoning_open = False

    def _draw(self) -> None:
        started = time.monotonic()
        # Redraw at most every refresh_seconds, and spend at most a quarter of the time on it
        # (a long code block takes a while to highlight on a slow machine).
        interval = max(self.refresh_seconds, 3 * self._draw_seconds)
        if self._live is not None and started - self._last_draw < interval:
            return
        # Every block but the last is complete: later text cannot change how it looks.
        *settled, growing = split_blocks(self._source[self._printed_to :]) or [""]
        for block in settled:
            self._print_for_good(block)
            self._printed_to += len(block)
        height = max(self.console.size.height - 2, 3)
        view, cropped = _last_lines(growing, height)
        lines = self._render(view, first=not cropped)[-height:]
        self._live_region().update(_Lines(lines, trailing_newline=False), refresh=True)
        self._shown = True
        self._last_draw = time.monotonic()
        self._draw_seconds = self._last_draw - started

    def _live_region(self) -> Live:
        if self._live is None:
            from rich.live import Live

            self._live = Live(
                console=self.console,
                auto_refresh=False,
                transient=True,  # cleared when done, then the block is printed for good
                redirect_stdout=False,
                redirect_stderr=False,
                vertical_overflow="visible",
            )
            self._live.start()
        return self._live

    def _stop_live(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def _print_for_good(self, block: str) -> None:
        """Print one complete block above the live region (or where the cursor is)."""
        if not block.strip():
            return
        self.console.print(_Lines(self._render(block)))
        self._printed_any = True
        self._shown = True

    def _render(self, source: str, *, first: bool = True) -> list[list[Segment]]:
        """Rendered lines of ``source``; the answer's first block carries the prefix
        (unless ``first`` is false: a view of its end only)."""
        from rich.segment import Segment

        lines: list[list[Segment]] = []
        if self._printed_any:
            lines.append([])  # the blank line Markdown puts between blocks
        elif first:
            source = source.lstrip("\n")
            if _first_block_is_paragraph(source):
                source = ANSWER_PREFIX + source.lstrip()
            else:
                lines.append([Segment(ANSWER_PREFIX.rstrip())])
        if source.strip():
            # Two columns short of the edge: the "^C" the terminal echoes on Ctrl-C must not
            # wrap onto a new line, or the next redraw would erase one line too few.
            width = max(self.console.width - 2, 20)
            options = self.console.options.update_width(width)
            rendered = self.console.render_lines(_markdown(source), options, pad=False)
            while rendered and not any(segment.text for segment in rendered[0]):
                rendered.pop(0)  # Rich starts some blocks (lists) with an empty line
            lines += rendered
        return lines


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Deliver a Ctrl-C only once the frame being drawn is complete.

    A redraw moves the cursor up over the live region, erases it and prints it again; cut
    in the middle, the next redraw erases the wrong lines and leaves debris on the screen.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pressed and callable(previous):
            previous(signal.SIGINT, None)


class _Lines:
    """Pre-rendered lines as a Rich renderable."""

    def __init__(self, lines: list[list[Segment]], *, trailing_newline: bool = True) -> None:
        self.lines = lines
        self.trailing_newline = trailing_newline

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        for number, line in enumerate(self.lines, start=1):
            yield from line
            if self.trailing_newline or number < len(self.lines):
                yield Segment.line()


@functools.cache
def _parser() -> MarkdownIt:
    """Rich's own Markdown dialect, with raw HTML shown as text instead of dropped."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("strikethrough").enable("table")


def _markdown(source: str) -> Markdown:
    from rich.markdown import Markdown

    markdown = Markdown("", code_theme=CODE_THEME, hyperlinks=False)  # links show their URL
    markdown.markup = source
    markdown.parsed = _parser().parse(source)
    return markdown


def _block_tokens(source: str) -> list[Token]:
    """The opening (or self-contained) token of each top-level block of ``source``."""
    return [
        token
        for token in _parser().parse(source)
        if token.level == 0 and token.nesting >= 0 and token.map is not None
    ]


def split_blocks(source: str) -> list[str]:
    """``source`` cut before each top-level block; the pieces join back to ``source``.

    Each block is rendered on its own, so an answer looks the same however it was streamed.
    An unclosed code fence runs to the end, so it stays the last block until closed.
    """
    starts = [token.map[0] for token in _block_tokens(source) if token.map]
    if not starts:
        return [source] if source else []
    offsets = [0]
    line = position = 0
    for start in starts[1:]:
        while line < start:
            position = source.index("\n", position) + 1
            line += 1
        offsets.append(position)
    offsets.append(len(source))
    return [source[begin:end] for begin, end in itertools.pairwise(offsets)]


def _last_lines(block: str, count: int) -> tuple[str, bool]:
    """The end of a growing ``block``, enough to fill ``count`` lines, and whether it was cut.

    Only the end of a long block is on screen while it grows; rendering all of it each time
    would get slower with every line. A code fence keeps its opening line, so the end still
    renders as code.
    """
    lines = block.split("\n")
    if len(lines) <= count:
        return block, False
    tail = "\n".join(lines[-count:])
    tokens = _block_tokens(block)
    if tokens and tokens[0].type == "fence":
        opening = block.lstrip("\n").split("\n", 1)[0]
        tail = opening + "\n" + tail
    return tail, True


def _first_block_is_paragraph(source: str) -> bool:
    blocks = _block_tokens(source)
    return not blocks or blocks[0].type == "paragraph_open"
