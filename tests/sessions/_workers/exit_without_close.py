"""Child program that adds messages and exits normally without closing its session.

Usage: ``exit_without_close.py STORAGE_DIR MESSAGES AUTO_SAVE_INTERVAL``. Prints the session id,
then adds MESSAGES messages and returns from ``main``: only the exit-time save can put them
into the snapshot when auto-save is off.
"""

from __future__ import annotations

import sys
from pathlib import Path

from opencode.sessions import SessionManager, SessionStorage


def main() -> None:
    storage = SessionStorage(Path(sys.argv[1]))
    count, interval = int(sys.argv[2]), float(sys.argv[3])
    manager = SessionManager(storage, auto_save_interval=interval, fire_shell_hooks=False)
    session = manager.create(title="left open")
    print(session.id, flush=True)
    for i in range(count):
        manager.add_message("user", f"m{i}")


if __name__ == "__main__":
    main()
