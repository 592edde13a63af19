"""Auto-save works inside asyncio programs, not only in plain synchronous ones."""

from __future__ import annotations

import asyncio

from opencode.sessions import SessionManager, SessionStorage


def test_auto_save_runs_while_an_event_loop_is_busy() -> None:
    async def program() -> int:
        manager = SessionManager(auto_save_interval=0.1)
        session = manager.create(title="async")
        manager.add_message("user", "hello from a coroutine")
        storage = SessionStorage()
        for _ in range(200):  # up to 10 s; the loop keeps running coroutines meanwhile
            if storage.get_path(session.id).exists():
                snapshot = storage.get_path(session.id).read_text()
                if "hello from a coroutine" in snapshot:
                    manager.close()
                    return 1
            await asyncio.sleep(0.05)
        manager.close()
        return 0

    assert asyncio.run(program()) == 1
