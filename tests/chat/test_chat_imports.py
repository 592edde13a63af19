"""Importing the chat package must stay cheap: no HTTP client, no terminal libraries."""

from __future__ import annotations

import subprocess
import sys


def test_import_loads_no_httpx_typer_or_rich() -> None:
    code = (
        "import sys, opencode.chat\n"
        "from opencode.chat import ChatClient, ChatConfig, select_history\n"
        "print(sorted(m for m in ('httpx', 'httpcore', 'typer', 'rich', 'click')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
