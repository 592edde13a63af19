"""Child program that holds a session open, as the chat loop does, and appends on command.

Usage: ``hold_open.py STORAGE_DIR SESSION_ID``. Resumes the session (taking its writer lock
for as long as it runs), prints ``ready <id>``, then obeys one stdin line at a time and
acknowledges each once the call has returned (the change is on disk by then):

    message ROLE TEXT...   add_message    -> ack <message count>
    close                  close          -> closed

End of input closes the session too.
"""

from __future__ import annotations

import sys
from pathlib import Path

from opencode.sessions import SessionManager, SessionStorage


def main() -> None:
    storage = SessionStorage(Path(sys.argv[1]))
    manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    session = manager.resume(sys.argv[2])
    print(f"ready {session.id}", flush=True)
    for line in sys.stdin:
        command, _, rest = line.rstrip("\n").partition(" ")
        if command == "message":
            role, _, text = rest.partition(" ")
            manager.add_message(role, text)
            print(f"ack {session.message_count}", flush=True)
        elif command == "close":
            break
        else:
            raise SystemExit(f"unknown command {command!r}")
    manager.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
