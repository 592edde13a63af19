"""The spec's session table drawn with the standard library: the listing people run most
starts without importing Rich (about 60 ms of its start-up).

Widths are measured in terminal cells (CJK and emoji take two, combining marks none), so
columns line up with wide titles; text is cut with an ellipsis on a cell boundary.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final, TextIO

ELLIPSIS: Final = "…"
DEFAULT_WIDTH: Final = 80


def cell_len(text: str) -> int:
    """How many terminal cells ``text`` takes."""
    if text.isascii():
        return len(text)
    return sum(_char_cells(ch) for ch in text)


def _char_cells(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def fit(text: str, width: int) -> str:
    """``text`` padded to ``width`` cells, or cut to it with an ellipsis."""
    length = cell_len(text)
    if length <= width:
        return text + " " * (width - length)
    kept, used = [], 0
    for ch in text:
        cells = _char_cells(ch)
        if used + cells > width - 1:
            break
        kept.append(ch)
        used += cells
    return "".join(kept) + ELLIPSIS + " " * (width - 1 - used)


def box_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]
) -> list[str]:
    """The lines of a table framed as section 10 of the spec draws it."""
    inner = sum(widths) + 3 * len(widths) - 1

    def line(cells: Sequence[str]) -> str:
        return "│ " + " │ ".join(fit(c, w) for c, w in zip(cells, widths, strict=True)) + " │"

    return [
        "┌" + "─" * inner + "┐",
        line(headers),
        "├" + "─" * inner + "┤",
        *(line(row) for row in rows),
        "└" + "─" * inner + "┘",
    ]


def terminal_width(stream: TextIO) -> int:
    """The width to fit: ``$COLUMNS``, else the terminal's, else 80 (as Rich decides)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        pass
    return DEFAULT_WIDTH
