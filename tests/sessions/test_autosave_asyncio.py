"""Auto-save works inside asyncio programs, not only in plain synchronous ones."""

from __future__ import annotations

import asyncio
from typing import Any

from opencode.sessions import SessionManager, SessionStorage

TIMEOUT = 60.0  # an upper bound for auto-save to act; never a speed assertion


def test_auto_save_runs_while_an_event_loop_is_busy() -> None:
    async def program() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        manager = SessionManager(auto_save_interval=0.1)
        session = manager.create(title="async")
        session.metadata["from"] = "a coroutine"  # a direct edit: only auto-save records it
        storage = SessionStorage()
        deadline = loop.time() + TIMEOUT
        try:
            # the loop keeps running coroutines while the auto-save thread records the edit
            while storage.load(session.id).metadata == {} and loop.time() < deadline:
                await asyncio.sleep(0.05)  # polling a condition under a deadline
            return storage.load(session.id).metadata
        finally:
            manager.close()

    assert asyncio.run(program()) == {"from": "a coroutine"}
