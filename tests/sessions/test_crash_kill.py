"""kill -9 at random points while a real child process writes sessions.

Each test restarts a writer (``_workers/crash_writer.py``) dozens of times and SIGKILLs it once
it has reported a random number of completed operations (or has started a snapshot write),
plus a random fraction of the time one of its operations takes. The kill points follow what
the child has done, not the clock, so a slow machine moves them nowhere. After every kill the
files must load as either the new or the previous version, and nothing whose write had
returned may be lost.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from opencode.sessions import Session, SessionManager, SessionStorage
from opencode.sessions.storage import parse_session_bytes

WORKERS = Path(__file__).parent / "_workers"
KILLS = 45
# A kill comes after 1..MAX_ACKS operations the writer reported as done, so every run does
# real work and the sessions grow by about KILLS * MAX_ACKS / 2 messages in all.
MAX_ACKS = 20
TIMEOUT = 60.0  # the longest the child may go without printing a line; never a speed limit
SAVE_MARKERS = ("saving", "saved")  # the writer's brackets around every snapshot write

pytestmark = pytest.mark.slow


def is_ack(line: str) -> bool:
    return line not in SAVE_MARKERS


def is_save_start(line: str) -> bool:
    return line == "saving"


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
        self.log = log
        self.partial = b""
        self.lines: list[str] = []  # complete lines after "ready"
        self.ready_at = 0.0
        self.last_line_at = time.monotonic()

    def _read_some(self) -> None:
        """Read what the child printed next; it may take long, but not forever."""
        left = self.last_line_at + TIMEOUT - time.monotonic()
        assert left > 0, f"writer silent for {TIMEOUT}s: {self.lines[-5:]} {log_tail(self.log)}"
        readable, _, _ = select.select([self.fd], [], [], left)
        if not readable:
            return
        chunk = os.read(self.fd, 65536)
        assert chunk, f"writer exited: {self.lines[-5:]} {self.partial!r} {log_tail(self.log)}"
        *complete, self.partial = (self.partial + chunk).split(b"\n")
        self.lines += [line.decode() for line in complete]
        self.last_line_at = time.monotonic()

    def wait_for(self, matches: Callable[[str], bool], count: int) -> None:
        """Read until ``count`` lines satisfying ``matches`` have come since ``ready``."""
        try:
            if not self.ready_at:
                while not self.lines:
                    self._read_some()
                assert self.lines[0] == "ready", self.lines
                del self.lines[0]
                self.ready_at = self.last_line_at
            while sum(map(matches, self.lines)) < count:
                self._read_some()
        except BaseException:
            self.proc.kill()
            self.proc.communicate(timeout=TIMEOUT)
            raise

    def seconds_per_line(self) -> float:
        """How long one reported step has taken on this machine in this run, roughly."""
        return (self.last_line_at - self.ready_at) / max(1, len(self.lines))

    def kill(self) -> list[str]:
        """SIGKILL the writer and return every complete line it printed after ``ready``."""
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=TIMEOUT) == -signal.SIGKILL
        while chunk := os.read(self.fd, 65536):
            self.partial += chunk
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        *complete, _ = self.partial.split(b"\n")  # the last piece may be cut short
        return self.lines + [line.decode() for line in complete]


def kill_after_a_random_point(writer: Writer, rng: random.Random, acks: int, aim: str) -> None:
    """Wait for the child to reach the chosen point, then kill it a little later.

    ``aim`` is ``"ack"`` (right after the ``acks``-th acknowledgement, inside whatever comes
    next), ``"save"`` (inside a snapshot write begun after that acknowledgement) or
    ``"resume"`` (inside the first snapshot write of the run: the compaction a resume does
    after a kill, when the last run left journal records). The extra delay is a random
    fraction of one step: it spreads the kills over the phases of a step and, since a kill is
    fine anywhere, cannot make the test fail.
    """
    if aim != "resume":
        writer.wait_for(is_ack, acks)
    if aim != "ack":
        writer.wait_for(is_save_start, sum(map(is_save_start, writer.lines)) + 1)
    time.sleep(rng.uniform(0, writer.seconds_per_line()))


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
    acknowledged = 0  # saves the parent waited to see reported, over all runs
    for kill in range(KILLS):
        writer = Writer(["storage", str(storage.storage_dir)], log)
        acks = rng.randint(1, MAX_ACKS)
        kill_after_a_random_point(writer, rng, acks, "ack")  # every operation is a save
        acknowledged += acks
        reported: dict[str, int] = {}
        for line in filter(is_ack, writer.kill()):
            sid, reached = line.split()
            reported[sid] = int(reached)
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
    # every run did real work (each save adds one message), and none of it was lost
    assert sum(known.values()) >= acknowledged, (known, acknowledged, seed)
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
    acknowledged = 0  # messages the parent waited to see returned, over all runs
    aims = ("ack", "save", "resume")  # each a third of the kills: appends, saves, resumes
    for kill in range(KILLS):
        writer = Writer(["manager", str(storage.storage_dir), session_id], log)
        aim = aims[kill % len(aims)]
        acks = 0 if aim == "resume" else rng.randint(1, MAX_ACKS)
        kill_after_a_random_point(writer, rng, acks, aim)
        acknowledged += acks
        acked = [int(line) for line in writer.kill() if is_ack(line)]
        returned = acked[-1] if acked else 0
        where = f"kill {kill} aimed at {aim} (seed {seed}); writer log: {log_tail(log)}"
        session, report = storage.load_with_report(session_id)
        before = count
        count = session.message_count
        # every add_message that returned is there; at most the one in flight is extra
        assert count >= max(returned, before), (count, returned, before, where)
        assert count <= max(returned, before) + 1, (count, returned, before, where)
        assert message_numbers(session) == list(range(count)), where
        assert len({m.id for m in session.messages}) == count, where
        assert report.bad_lines == [], where
    # two runs in three did real work (each add_message adds one message); none of it was lost
    assert count >= acknowledged, (count, acknowledged, seed)

    # a clean resume and close folds the journal into the snapshot with nothing lost
    final = SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)
    assert final.resume(session_id).message_count == count
    final.close()
    assert not storage.get_journal_path(session_id).exists()
    snapshot = parse_session_bytes(storage.get_path(session_id).read_bytes(), Path("snapshot"))
    assert message_numbers(snapshot) == list(range(count))
