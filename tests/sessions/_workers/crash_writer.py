"""Child program for the kill -9 tests: writes sessions in a tight loop until it is killed.

Usage::

    crash_writer.py storage STORAGE_DIR   # storage.save of growing sessions grow-0, grow-1, ...
    crash_writer.py manager STORAGE_DIR SESSION_ID   # manager.add_message appends

It prints ``ready`` once imported, then one line per completed operation, flushed at once, so
the parent knows what had returned before the kill: ``<session id> <message count>`` for
``storage`` and ``<message count>`` for ``manager``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from opencode.sessions import Session, SessionManager, SessionMessage, SessionStorage

# A session stops growing here and the writer moves on to the next one, which keeps each
# save's cost bounded however many times the test restarts the writer.
MAX_MESSAGES = 60


def padding(n: int) -> str:
    """Message bodies of varying size (up to 40 kB), so a save writes many blocks."""
    return "x" * (n * 7919 % 40000)


def run_storage(storage: SessionStorage) -> None:
    generations = [
        int(sid.split("-", 1)[1]) for sid in storage.list_session_ids() if sid.startswith("grow-")
    ]
    generation = max(generations, default=0)
    print("ready", flush=True)
    while True:
        sid = f"grow-{generation}"
        session = storage.load_or_none(sid) or Session(id=sid, title=sid, working_dir="/w")
        while session.message_count < MAX_MESSAGES:
            n = session.message_count
            session.add_message(SessionMessage(role="user", content=f"m{n} {padding(n)}"))
            storage.save(session)
            print(f"{sid} {session.message_count}", flush=True)
        generation += 1


def run_manager(storage: SessionStorage, session_id: str) -> None:
    manager = SessionManager(
        storage, auto_save_interval=0.02, compact_journal_bytes=8192, fire_shell_hooks=False
    )
    print("ready", flush=True)
    session = manager.resume(session_id)
    n = session.message_count
    while True:
        role = "user" if n % 2 == 0 else "assistant"
        manager.add_message(role, f"m{n} {padding(n)[: n * 31 % 700]}")
        n += 1
        print(n, flush=True)
        if n % 13 == 0:
            manager.save()


def main() -> None:
    mode, storage_dir = sys.argv[1], Path(sys.argv[2])
    storage = SessionStorage(storage_dir)
    if mode == "storage":
        run_storage(storage)
    elif mode == "manager":
        run_manager(storage, sys.argv[3])
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
