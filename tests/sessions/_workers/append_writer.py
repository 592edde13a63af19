"""Child program for the many-writers index test: creates sessions and appends to them.

Usage: ``append_writer.py STORAGE_DIR WORKER_NO SESSIONS MESSAGES``. Prints ``ready``, waits
for a line on stdin so every writer starts at once, then creates SESSIONS sessions one after
the other (creating the next closes the previous), adding MESSAGES messages to each and
reporting token usage after every answer. Prints one JSON line ``{id: [messages, prompt
tokens, completion tokens]}`` while its last session is still open, then waits for another
line before closing it and exiting.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from opencode.sessions import SessionManager, SessionStorage


def main() -> None:
    storage = SessionStorage(Path(sys.argv[1]))
    worker, sessions, messages = (int(arg) for arg in sys.argv[2:5])
    manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    print("ready", flush=True)
    sys.stdin.readline()
    made: dict[str, list[int]] = {}
    for i in range(sessions):
        session = manager.create(title=f"w{worker} s{i}", tags=[f"w{worker}"])
        for n in range(messages):
            if n % 2 == 0:
                manager.add_message("user", f"question {n} from worker {worker}")
            else:
                manager.add_message("assistant", f"answer {n} for worker {worker}")
                manager.update_usage(prompt_tokens=n + worker, completion_tokens=i + 1)
        made[session.id] = [
            session.message_count,
            session.total_prompt_tokens,
            session.total_completion_tokens,
        ]
    print(json.dumps(made), flush=True)
    sys.stdin.readline()
    manager.close()


if __name__ == "__main__":
    main()
