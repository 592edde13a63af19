"""Helpers for the lifecycle CLI tests: sessions to fork, processes that hold a session,
TAB completion through the installed command, and a watch on a session's lock file."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import selectors
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from cli_helpers import REPO, opencode_command, sessions_dir

from opencode.sessions import Session, SessionManager, SessionStorage

TIMEOUT: Final = 60.0
HOLD_SESSION: Final = REPO / "tests" / "sessions" / "_workers" / "hold_session.py"
# A short writer (say, a ``session tag`` in the middle of its change) that holds the
# session's writer lock until told to let go.
SHORT_WRITER: Final = """
import sys
from pathlib import Path
from opencode.sessions import SessionStorage
lock = SessionStorage(Path(sys.argv[1])).writer_lock(sys.argv[2], "short")
lock.acquire()
print("ready", flush=True)
sys.stdin.readline()
lock.release()
print("released", flush=True)
"""


def trash_dir() -> Path:
    return sessions_dir().parent / "trash"


def file_hashes(session_id: str) -> dict[str, str]:
    """The files holding a session (snapshot, journal, backup) by name, as digests."""
    found = {}
    for suffix in (".json", ".jsonl", ".backup"):
        path = sessions_dir() / f"{session_id}{suffix}"
        if path.exists():
            found[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def usage(prompt: int, completion: int) -> dict[str, Any]:
    """Message metadata as the chat loop records an answer's token usage."""
    return {"usage": {"prompt_tokens": prompt, "completion_tokens": completion}}


def conversation(title: str = "Parent", working_dir: str = "/work/project") -> Session:
    """A closed session: q1, a1 (usage 10/1), a grep run, q2, a2 (usage 100/20), an ls run,
    and a model call no message carries (5/5): 115/26 in all."""
    manager = SessionManager(SessionStorage(), auto_save_interval=0, fire_shell_hooks=False)
    try:
        session = manager.create(title=title, working_dir=working_dir, tags=["t"])
        manager.add_message("user", "q1")
        manager.add_message("assistant", "a1", metadata=usage(10, 1))
        manager.update_usage(10, 1)
        manager.record_tool_call("grep", {"q": "x"}, "found")
        manager.add_message("user", "q2")
        manager.add_message("assistant", "a2", metadata=usage(100, 20))
        manager.update_usage(100, 20)
        manager.record_tool_call("ls", {}, "ok")
        manager.update_usage(5, 5)
    finally:
        manager.close()
        manager.index.close()
    return SessionStorage().load(session.id)


def complete(*words: str) -> list[str]:
    """What bash's TAB offers after ``opencode WORDS...`` (the last word is being typed)."""
    line = " ".join(["opencode", *words])
    env = {
        **os.environ,
        "_OPENCODE_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words)),
    }
    result = subprocess.run(
        opencode_command(), env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


class Child:
    """A process whose output lines can be awaited (never with a sleep)."""

    def __init__(self, argv: Sequence[str], *, watch: str = "stdout") -> None:
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if watch == "stdout" else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        stream = self.proc.stdout if watch == "stdout" else self.proc.stderr
        assert stream is not None
        self.fd = stream.fileno()
        self.buffer = b""
        self.seen: list[str] = []

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for(self, start: str, timeout: float = TIMEOUT) -> str:
        """The first line starting with ``start``; fails the test after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.fd, selectors.EVENT_READ)
            while True:
                while b"\n" in self.buffer:
                    raw, self.buffer = self.buffer.split(b"\n", 1)
                    line = raw.decode(errors="replace")
                    self.seen.append(line)
                    if line.startswith(start):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.kill()
                    raise AssertionError(f"{self.proc.args!r} never said {start!r}: {self.seen}")
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    self.kill()
                    raise AssertionError(f"{self.proc.args!r} ended: {self.seen}")
                self.buffer += chunk

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def finish(self, text: str = "\n") -> int:
        """Tell the child to go on and end; its exit code."""
        self.send(text)
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.read()  # to the end, so a chatty child never blocks on a full pipe
        return self.proc.wait(timeout=TIMEOUT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def hold_open(kind: str, session_id: str) -> Child:
    """Another process holding ``session_id`` open, once it has said so: the library
    (``SessionManager.resume`` in ``hold_session.py``) or the chat loop (``opencode
    --resume ID``, reading its next line)."""
    if kind == "manager":
        child = Child([sys.executable, str(HOLD_SESSION), str(sessions_dir()), session_id])
        line = child.wait_for("ready ")
        assert int(line.split()[1]) == child.pid
        return child
    child = Child([*opencode_command(), "--resume", session_id], watch="stderr")
    child.wait_for(f"Resuming session: {session_id}")
    return child


def release(child: Child, kind: str) -> None:
    """Let a holder from ``hold_open`` close the session and exit cleanly."""
    code = child.finish("\n" if kind == "manager" else "/quit\n")
    assert code == 0, child.seen


def hold_short(session_id: str) -> Child:
    """A short writer holding ``session_id``'s writer lock, once it has said so."""
    child = Child([sys.executable, "-c", SHORT_WRITER, str(sessions_dir()), session_id])
    child.wait_for("ready")
    return child


# -- watching a lock file (Linux inotify) -----------------------------------------------------

IN_OPEN: Final = 0x20
IN_CLOSE_WRITE: Final = 0x08
IN_CLOSE_NOWRITE: Final = 0x10
_EVENT: Final = struct.Struct("iIII")


class OpenWatch:
    """Counts the times a file is opened, as inotify reports them (another process trying
    a lock opens the lock file each time it tries)."""

    def __init__(self, path: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        mask = IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE
        if libc.inotify_add_watch(self.fd, os.fsencode(path), mask) < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), "inotify_add_watch")
        self.opens = 0
        self.closes = 0

    def wait_for_opens(self, count: int, timeout: float = TIMEOUT) -> None:
        """Until the file was opened (and closed again) ``count`` times."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.fd, selectors.EVENT_READ)
            while self.opens < count or self.closes < count:
                left = deadline - time.monotonic()
                assert left > 0 and selector.select(left), (
                    f"opened {self.opens}, closed {self.closes} times in {timeout}s"
                )
                self._read()

    def _read(self) -> None:
        with contextlib.suppress(BlockingIOError):
            data = os.read(self.fd, 65536)
            offset = 0
            while offset < len(data):
                _, mask, _, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size + length
                self.opens += bool(mask & IN_OPEN)
                self.closes += bool(mask & (IN_CLOSE_WRITE | IN_CLOSE_NOWRITE))

    def close(self) -> None:
        os.close(self.fd)
