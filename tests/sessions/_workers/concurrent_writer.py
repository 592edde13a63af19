"""Child program for the multi-process index test: one of several writers sharing a folder.

Usage: ``concurrent_writer.py STORAGE_DIR WORKER_NO SESSIONS``. Prints ``ready``, waits for a
line on stdin so every writer starts at once, then creates SESSIONS sessions, adding messages,
renaming, tagging, retagging an earlier session, listing and deleting now and then. Ends by
printing one JSON line: ``{"created": [...], "deleted": [...]}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from opencode.sessions import SessionManager, SessionStorage


def main() -> None:
    storage = SessionStorage(Path(sys.argv[1]))
    worker, count = int(sys.argv[2]), int(sys.argv[3])
    manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    print("ready", flush=True)
    sys.stdin.readline()
    created: list[str] = []
    deleted: list[str] = []
    for i in range(count):
        session = manager.create(title=f"w{worker}-s{i}", tags=[f"w{worker}"])
        created.append(session.id)
        manager.add_message("user", f"hello {i}")
        for j in range(i % 3):
            manager.add_message("assistant", f"reply {j}")
        manager.set_title(f"w{worker}-s{i} renamed")
        manager.add_tag(f"n{i}")
        if i % 4 == 1:
            # the previous session was closed by create(): update it through its own lock
            manager.update_session(created[i - 1], title=f"w{worker}-s{i - 1} later")
            manager.update_session(created[i - 1], add_tags=["later"], remove_tags=[f"w{worker}"])
        if i % 5 == 4:
            manager.list_sessions()
        if i % 7 == 6:
            manager.delete(created[i - 2])
            deleted.append(created[i - 2])
    manager.close()
    print(json.dumps({"created": created, "deleted": deleted}), flush=True)


if __name__ == "__main__":
    main()
