"""kill -9 at random instants while a real child process writes sessions.

Each test restarts a writer (``_workers/crash_writer.py``) dozens of times and SIGKILLs it after
a random delay. After every kill the files must load as either the new or the previous
version, and nothing whose write had returned may be lost.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opencode.sessions import Session, SessionManager, SessionStorage
from opencode.sessions.storage import parse_session_bytes

WORKERS = Path(__file__).parent / "_workers"
KILLS = 45
# Upper bound of the random delay between "ready" and SIGKILL; the writer does hundreds of
# operations in that time, so kills land in every phase of a save.
MAX_DELAY = 0.06
STARTUP_TIMEOUT = 60.0

pytestmark = pytest.mark.slow


class Writer:
    """One crash_writer child; its stdout is read raw so nothing is lost at the kill."""

    def __init__(self, args: list[str], log: Path) -> None:
        with open(log, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(WORKERS / "crash_writer.py"), *args],
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                bufsize=0,
            )
        assert self.proc.stdout is not None
        self.fd = self.proc.stdout.fileno()
        self.buffer = b""

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        try:
            while b"ready\n" not in self.buffer:
                left = deadline - time.monotonic()
                assert left > 0, "writer did not start in time"
                readable, _, _ = select.select([self.fd], [], [], left)
                if readable:
                    chunk = os.read(self.fd, 65536)
                    assert chunk, f"writer exited before it was ready: {self.buffer!r}"
                    self.buffer += chunk
        except BaseException:
            self.proc.kill()
            self.proc.communicate(timeout=STARTUP_TIMEOUT)
            raise
        self.buffer = self.buffer.split(b"ready\n", 1)[1]

    def kill(self) -> list[str]:
        """SIGKILL the writer and return every complete line it printed."""
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=STARTUP_TIMEOUT) == -signal.SIGKILL
        while chunk := os.read(self.fd, 65536):
            self.buffer += chunk
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        lines = self.buffer.split(b"\n")
        return [line.decode() for line in lines[:-1]]  # the last piece may be cut short


def message_numbers(session: Session) -> list[int]:
    """The writer's running numbers of the messages, in stored order (content "m<n> ...")."""
    return [int(m.content.split(" ", 1)[0][1:]) for m in session.messages]


def log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


def test_kill_during_storage_save_leaves_new_or_previous_version(data_dir: Path) -> None:
    storage = SessionStorage(data_dir / "sessions")
    log = data_dir.parent / "writer.log"
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    known: dict[str, int] = {}  # session id -> message count it is known to have reached
    for kill in range(KILLS):
        writer = Writer(["storage", str(storage.storage_dir)], log)
        writer.wait_ready()
        time.sleep(rng.uniform(0, MAX_DELAY))
        reported: dict[str, int] = {}
        for line in writer.kill():
            sid, count = line.split()
            reported[sid] = int(count)
        where = f"kill {kill} (seed {seed}); writer log: {log_tail(log)}"
        for sid in storage.list_session_ids():
            session = storage.load(sid)  # never raises: old or new version, never a torn file
            count = session.message_count
            floor = max(known.get(sid, 0), reported.get(sid, 0))
            assert floor <= count <= floor + 1, (sid, count, floor, where)
            assert message_numbers(session) == list(range(count)), where
            backup = storage.get_backup_path(sid)
            if backup.exists():
                previous = parse_session_bytes(backup.read_bytes(), backup)
                assert count - 1 <= previous.message_count <= count, where
            known[sid] = count
        # every session the writer reported as saved has a file
        assert set(reported) <= set(storage.list_session_ids()), where
    assert sum(known.values()) > KILLS, "the writer barely ran; the kills proved nothing"
    # a temp file left by a kill between mkstemp and rename is never taken for a session
    assert all(sid.startswith("grow-") for sid in storage.list_session_ids())


def test_kill_during_add_message_loses_no_returned_message(data_dir: Path) -> None:
    storage = SessionStorage(data_dir / "sessions")
    manager = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    session_id = manager.create(title="crash test").id
    manager.close()
    log = data_dir.parent / "writer.log"
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    count = 0
    for kill in range(KILLS):
        writer = Writer(["manager", str(storage.storage_dir), session_id], log)
        writer.wait_ready()
        time.sleep(rng.uniform(0, MAX_DELAY))
        lines = writer.kill()
        returned = int(lines[-1]) if lines else 0
        where = f"kill {kill} (seed {seed}); writer log: {log_tail(log)}"
        session, report = storage.load_with_report(session_id)
        before = count
        count = session.message_count
        # every add_message that returned is there; at most the one in flight is extra
        assert count >= max(returned, before), (count, returned, before, where)
        assert count <= max(returned, before) + 1, (count, returned, before, where)
        assert message_numbers(session) == list(range(count)), where
        assert len({m.id for m in session.messages}) == count, where
        assert report.bad_lines == [], where
    assert count > KILLS, "the writer barely ran; the kills proved nothing"

    # a clean resume and close folds the journal into the snapshot with nothing lost
    final = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    assert final.resume(session_id).message_count == count
    final.close()
    assert not storage.get_journal_path(session_id).exists()
    snapshot = parse_session_bytes(storage.get_path(session_id).read_bytes(), Path("snapshot"))
    assert message_numbers(snapshot) == list(range(count))
