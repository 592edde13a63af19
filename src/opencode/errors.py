"""The one base class every library error derives from.

The CLI catches ``OpencodeError`` at its edge and turns it into one line on stderr and an
exit code; the library itself never prints.
"""

from __future__ import annotations


class OpencodeError(Exception):
    """Base class for every error the opencode library raises on purpose.

    ``hint``, when set, says what to do about it; the CLI prints it on a line of its own.
    """

    hint: str | None = None
