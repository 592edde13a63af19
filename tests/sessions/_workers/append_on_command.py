"""Child program that holds a session open and changes it on command, one stdin line each.

Usage: ``append_on_command.py STORAGE_DIR [SESSION_ID]``. Creates a session (or resumes
SESSION_ID), prints ``ready <id>``, then obeys one command per line and acknowledges each
once the call has returned:

    message ROLE TEXT...   add_message            -> ack <message count>
    usage PROMPT COMPLETION update_usage           -> ack <prompt total> <completion total>
    title TEXT...          set_title              -> ack title
    tag TAG                add_tag                -> ack tag
    rename ID TEXT...      update_session(ID, title=TEXT) of another, closed session
                                                  -> ack rename
    metadata KEY JSON      set_metadata           -> ack metadata
    crash-at METHOD,...    the next call of one of these ``SessionIndex`` methods (say
                           ``record_message,update``) ends the process at once with exit
                           code 3, as a kill at that instant would: the files are written,
                           the index is not
    close                  close the session      -> closed

End of input closes the session too.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from opencode.sessions import SessionManager, SessionStorage

CRASHED = 3


def crash(*args: Any, **kwargs: Any) -> NoReturn:
    """Die between the file write and the index update: no cleanup, no exit handlers."""
    os._exit(CRASHED)


def main() -> None:
    storage = SessionStorage(Path(sys.argv[1]))
    manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    if len(sys.argv) > 2:
        session = manager.resume(sys.argv[2])
    else:
        session = manager.create(title="held open")
    print(f"ready {session.id}", flush=True)
    for line in sys.stdin:
        command, _, rest = line.rstrip("\n").partition(" ")
        if command == "message":
            role, _, text = rest.partition(" ")
            manager.add_message(role, text)
            print(f"ack {session.message_count}", flush=True)
        elif command == "usage":
            prompt, completion = (int(n) for n in rest.split())
            manager.update_usage(prompt_tokens=prompt, completion_tokens=completion)
            totals = f"{session.total_prompt_tokens} {session.total_completion_tokens}"
            print(f"ack {totals}", flush=True)
        elif command == "title":
            manager.set_title(rest)
            print("ack title", flush=True)
        elif command == "tag":
            manager.add_tag(rest)
            print("ack tag", flush=True)
        elif command == "rename":
            other, _, title = rest.partition(" ")
            manager.update_session(other, title=title)
            print("ack rename", flush=True)
        elif command == "metadata":
            key, _, value = rest.partition(" ")
            manager.set_metadata(key, json.loads(value))
            print("ack metadata", flush=True)
        elif command == "crash-at":
            for name in rest.split(","):
                setattr(manager.index, name, crash)
        elif command == "close":
            break
        else:
            raise SystemExit(f"unknown command {command!r}")
    manager.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
