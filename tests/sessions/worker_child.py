"""A worker script (``_workers/``) run as a child process, its output lines awaited with a
generous deadline: tests synchronise on what the child reports, never on time."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

WORKERS = Path(__file__).parent / "_workers"
TIMEOUT = 60.0


class Child:
    """``_workers/<script> args...``, with stdin, stdout and stderr piped."""

    def __init__(self, script: str, *args: str | Path | int) -> None:
        self.script = script
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKERS / script), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        assert self.proc.stdout is not None
        self.fd = self.proc.stdout.fileno()
        self.buffer = b""
        self.stderr = ""

    def readline(self, timeout: float = TIMEOUT) -> str:
        """The child's next line; the test fails if none comes within ``timeout``."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.proc.kill()
                pytest.fail(f"{self.script} printed nothing for {timeout}s")
            readable, _, _ = select.select([self.fd], [], [], left)
            if readable:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    _, err = self.proc.communicate(timeout=TIMEOUT)
                    pytest.fail(f"{self.script} exited early:\n{err.decode()}")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def send(self, text: str = "") -> None:
        """One line on the child's stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{text}\n".encode())
        self.proc.stdin.flush()

    def ask(self, command: str) -> str:
        """Send one command and return its acknowledgement."""
        self.send(command)
        return self.readline()

    def wait(self) -> int:
        """Wait for the child to exit; keeps what it wrote to stderr."""
        _, err = self.proc.communicate(timeout=TIMEOUT)
        self.stderr = err.decode()
        return self.proc.returncode

    def finish(self) -> None:
        """Let the child go on (one stdin line), then wait for a clean exit."""
        self.send()
        assert self.wait() == 0, self.stderr

    def kill(self) -> None:
        """Make sure the child is gone and its pipes are closed (also after a failure)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None and not stream.closed:
                with contextlib.suppress(OSError):
                    stream.close()
