"""The exit codes of the ``opencode`` command, in one place so scripts can rely on them."""

from __future__ import annotations

from typing import Final

OK: Final = 0
ERROR: Final = 1
USAGE: Final = 2
INTERRUPTED: Final = 130
