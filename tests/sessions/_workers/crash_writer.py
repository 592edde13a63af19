"""Child program for the kill -9 tests: writes sessions in a tight loop until it is killed.

Usage::

    crash_writer.py storage STORAGE_DIR   # storage.save of growing sessions grow-0, grow-1, ...
    crash_writer.py manager STORAGE_DIR SESSION_ID   # manager.add_message appends

It prints ``ready`` once imported, then one line per completed operation, so the parent knows
what had returned before the kill: ``<session id> <message count>`` for ``storage`` and
``<message count>`` for ``manager``. Every snapshot write (a save, or in ``manager`` mode a
compaction, whichever thread runs it) is bracketed by ``saving`` and ``saved`` lines, so the
parent can aim a kill at one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from opencode.sessions import Session, SessionManager, SessionMessage, SessionStorage

# A session stops growing here and the writer moves on to the next one, which keeps each
# save's cost bounded however many times the test restarts the writer.
MAX_MESSAGES = 60


def report(line: str) -> None:
    """One unbuffered write per line: nothing is held back at the kill, and lines from the
    auto-save thread never interleave with the main thread's (pipe writes this small are
    atomic)."""
    os.write(1, f"{line}\n".encode())


class ReportingStorage(SessionStorage):
    """Storage that announces each snapshot write before it starts and after it ends."""

    def save(self, *args: Any, **kwargs: Any) -> Any:
        report("saving")
        result = super().save(*args, **kwargs)  # whatever it returns, the manager may use
        report("saved")
        return result


def padding(n: int) -> str:
    """Message bodies of varying size (up to 40 kB), so a save writes many blocks."""
    return "x" * (n * 7919 % 40000)


def run_storage(storage: SessionStorage) -> None:
    generations = [
        int(sid.split("-", 1)[1]) for sid in storage.list_session_ids() if sid.startswith("grow-")
    ]
    generation = max(generations, default=0)
    report("ready")
    while True:
        sid = f"grow-{generation}"
        session = storage.load_or_none(sid) or Session(id=sid, title=sid, working_dir="/w")
        while session.message_count < MAX_MESSAGES:
            n = session.message_count
            session.add_message(SessionMessage(role="user", content=f"m{n} {padding(n)}"))
            storage.save(session)
            report(f"{sid} {session.message_count}")
        generation += 1


def run_manager(storage: SessionStorage, session_id: str) -> None:
    manager = SessionManager(
        storage, auto_save_interval=0.02, compact_journal_bytes=8192, fire_shell_hooks=False
    )
    report("ready")
    session = manager.resume(session_id)  # compacts first when the last run left records
    n = session.message_count
    while True:
        role = "user" if n % 2 == 0 else "assistant"
        manager.add_message(role, f"m{n} {padding(n)[: n * 31 % 700]}")
        n += 1
        report(str(n))
        if n % 13 == 0:
            manager.save()


def main() -> None:
    mode, storage_dir = sys.argv[1], Path(sys.argv[2])
    storage = ReportingStorage(storage_dir)
    if mode == "storage":
        run_storage(storage)
    elif mode == "manager":
        run_manager(storage, sys.argv[3])
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
