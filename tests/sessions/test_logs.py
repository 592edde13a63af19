"""Loggers that import ``logging`` only when something is logged, with the CLI's handler
attached before the first record."""

from __future__ import annotations

import subprocess
import sys

_CHILD = """
import sys
from opencode.logs import get_logger, when_logging_starts

logger = get_logger("opencode.sessions.example")
assert "logging" not in sys.modules, "imported before anything was logged"
seen = []

def attach():
    import logging

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append((record.levelname, record.getMessage(), record.funcName))

    logging.getLogger("opencode").addHandler(Keep())

when_logging_starts(attach)
assert "logging" not in sys.modules, "imported by registering a setup"

def caller():
    logger.warning("first %s", "record")

caller()
get_logger("opencode.other").info("not shown at the default level")
late = []
when_logging_starts(lambda: late.append("ran at once"))
print(seen, late)
"""


def test_logging_is_imported_at_the_first_record_with_the_setup_already_run() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[('WARNING', 'first record', 'caller')] ['ran at once']"


def test_every_module_logs_through_the_lazy_loggers() -> None:
    """A module calling ``logging.getLogger`` itself would log before the CLI's handler is
    attached (the record would reach Python's last-resort handler, unescaped)."""
    from pathlib import Path

    import opencode

    package = Path(opencode.__file__).parent
    direct = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "logging.getLogger(__name__)" in path.read_text(encoding="utf-8")
        and path.name != "logs.py"
    ]
    assert direct == []
