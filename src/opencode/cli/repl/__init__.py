"""The interactive chat loop that ``opencode``, ``--resume`` and ``--continue`` end in.

``loop`` runs it, ``terminal`` reads the user's lines, ``turn`` streams and records one
answer, ``slash`` handles ``/commands``.
"""

from __future__ import annotations

from opencode.cli.repl.loop import ReplOptions, resolve_repl_chat_config, run_repl

__all__ = ["ReplOptions", "resolve_repl_chat_config", "run_repl"]
