"""Child program that opens a session for writing and keeps it open.

Usage: ``hold_session.py STORAGE_DIR SESSION_ID``. Prints ``ready <pid>`` once the session is
resumed (its writer lock held), then waits for a line on stdin (or end of input) and closes
the session normally.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from opencode.sessions import SessionManager, SessionStorage


def main() -> None:
    storage = SessionStorage(Path(sys.argv[1]))
    manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    manager.resume(sys.argv[2])
    print(f"ready {os.getpid()}", flush=True)
    sys.stdin.readline()
    manager.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
