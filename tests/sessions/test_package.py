"""The package exports the issue's names, and listing does not import the manager."""

from __future__ import annotations

import subprocess
import sys

import opencode.sessions as sessions

REQUIRED = {
    "Session",
    "SessionMessage",
    "ToolInvocation",
    "SessionStorage",
    "SessionStorageError",
    "SessionNotFoundError",
    "SessionCorruptedError",
    "SessionIndex",
    "SessionSummary",
    "SessionManager",
}


def test_every_exported_name_resolves_to_its_class() -> None:
    assert set(sessions.__all__) >= REQUIRED
    for name in sessions.__all__:
        value = getattr(sessions, name)
        assert value.__name__ == name
        assert value.__module__.startswith("opencode.sessions.")


def test_listing_imports_neither_the_manager_nor_write_only_modules() -> None:
    code = (
        "import sys; from opencode.sessions import SessionIndex, SessionStorage; "
        "SessionIndex(SessionStorage()).list(limit=20); "
        "print(sorted(m for m in ('opencode.sessions.manager', 'filelock', 'tempfile') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout
