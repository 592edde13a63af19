"""Helpers for the interactive-loop tests: a real chat-completions server and process drivers.

Test files load this module by path (pytest runs with ``--import-mode=importlib``, so
``tests/cli`` is not importable as a package)::

    stub_chat_server = load_helper()   # see _load_helper in each test file

* ``StubChatServer``: a ThreadingHTTPServer on 127.0.0.1 (port 0). Each request takes the next
  queued behaviour (``reply``, ``fail``, ``hang``, ``slow``), or the default one.
* ``run_opencode``: the installed ``opencode`` executable with piped stdin.
* ``PtyProcess``: the same executable on a pseudo-terminal, for the prompt and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Behavior = Callable[["_Handler", "StubChatServer"], None]

OPENCODE = Path(sys.executable).parent / "opencode"
MODEL = "stub-model"
WAIT = 20.0  # generous upper bound for anything a test waits for; never a speed assertion


@dataclass
class RecordedRequest:
    path: str
    body: Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # hung handlers must not stall teardown
    stub: StubChatServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-answer (Ctrl-C, kill -9) resets the connection.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 15

    def do_POST(self) -> None:
        stub: StubChatServer = self.server.stub  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        stub.requests.append(RecordedRequest(self.path, json.loads(raw) if raw else None))
        stub.received.set()
        stub.next_behavior()(self, stub)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_body(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def write_event(self, event: dict[str, Any] | str) -> None:
        data = event if isinstance(event, str) else json.dumps(event)
        payload = f"data: {data}\n\n".encode()
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _delta(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def _finish(usage: dict[str, int] | None) -> list[dict[str, Any] | str]:
    events: list[dict[str, Any] | str] = [
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    ]
    if usage is not None:
        events.append({"choices": [], "usage": usage})
    events.append("[DONE]")
    return events


class StubChatServer:
    """A chat-completions server whose answers each test scripts in advance."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.received = threading.Event()
        self.release = threading.Event()  # set at teardown: hung handlers return
        self.proceed = threading.Event()  # tests set it to let a ``slow`` answer finish
        self._queue: list[Behavior] = []
        self._lock = threading.Lock()
        self.default: Behavior = self.reply_behavior(["ok"])
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.stub = self
        host, port = self._httpd.server_address[:2]
        self.base_url = f"http://{host!s}:{port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> StubChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.proceed.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def next_behavior(self) -> Behavior:
        with self._lock:
            return self._queue.pop(0) if self._queue else self.default

    def queue(self, *behaviors: Behavior) -> None:
        with self._lock:
            self._queue.extend(behaviors)

    # -- behaviours ----------------------------------------------------------------------------

    @staticmethod
    def reply_behavior(chunks: Sequence[str], usage: dict[str, int] | None = None) -> Behavior:
        def behave(handler: _Handler, stub: StubChatServer) -> None:
            handler.start_stream()
            for chunk in chunks:
                handler.write_event(_delta(chunk))
            for event in _finish(usage):
                handler.write_event(event)
            handler.end_stream()

        return behave

    def reply(self, *chunks: str, usage: dict[str, int] | None = None) -> None:
        """A streamed answer made of ``chunks``, with ``usage`` reported at the end if given."""
        self.queue(self.reply_behavior(chunks, usage))

    def fail(self, status: int, message: str) -> None:
        """An OpenAI-style error body with HTTP ``status``."""
        body = json.dumps({"error": {"message": message, "type": "server_error"}}).encode()
        self.queue(lambda h, s: h.send_body(status, body, "application/json"))

    def hang(self) -> None:
        """Accept the request and say nothing until teardown."""

        def behave(handler: _Handler, stub: StubChatServer) -> None:
            stub.release.wait(30)
            handler.close_connection = True

        self.queue(behave)

    def slow(
        self, first: str, rest: str = " and the rest", usage: dict[str, int] | None = None
    ) -> None:
        """Stream ``first``, then wait for ``proceed`` (or the client leaving) before ``rest``."""

        def behave(handler: _Handler, stub: StubChatServer) -> None:
            handler.start_stream()
            handler.write_event(_delta(first))
            # Keep the connection busy with SSE comments so a departed client is noticed.
            deadline = time.monotonic() + 30
            while not stub.proceed.wait(0.1) and time.monotonic() < deadline:
                handler.wfile.write(b"3\r\n:\n\n\r\n")
                handler.wfile.flush()
            for event in [_delta(rest), *_finish(usage)]:
                handler.write_event(event)
            handler.end_stream()

        self.queue(behave)


# -- running the real executable ----------------------------------------------------------------


def chat_env(stub: StubChatServer | None, **extra: str) -> dict[str, str]:
    """The current (isolated) environment, pointed at ``stub`` and never at a proxy."""
    env = dict(os.environ)
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        env.pop(name, None)
    env["NO_PROXY"] = "127.0.0.1,localhost"
    for name in ("OPENCODE_MODEL", "OPENCODE_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        env.pop(name, None)
    if stub is not None:
        env["OPENCODE_BASE_URL"] = stub.base_url
        env["OPENCODE_MODEL"] = MODEL
    env.update(extra)
    return env


def run_opencode(
    args: Sequence[str], stdin: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``opencode ARGS`` with ``stdin`` piped in; stdout and stderr captured apart."""
    return subprocess.run(
        [str(OPENCODE), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


SESSION_LINE = re.compile(r"^(?:Session|Resuming session): (\S+)$", re.MULTILINE)


def session_id_from(stderr: str) -> str:
    """The id the loop announced on stderr."""
    match = SESSION_LINE.search(stderr)
    assert match, stderr
    return match.group(1)


def load_session(session_id: str) -> Any:
    """The session as stored on disk (the test process shares the isolated data folder)."""
    from opencode.sessions import SessionStorage

    return SessionStorage().load(session_id)


def contents(session: Any) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in session.messages]


class PipedProcess:
    """``opencode`` with stdin/stdout/stderr pipes, read incrementally (for the kill test)."""

    def __init__(self, args: Sequence[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [str(OPENCODE), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.out = b""
        self.err = b""

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def wait_for_stdout(self, needle: str, timeout: float = WAIT) -> None:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        streams = {self.proc.stdout.fileno(): "out", self.proc.stderr.fileno(): "err"}
        while needle.encode() not in self.out:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{needle!r} not on stdout: {self.out!r} / {self.err!r}"
            ready, _, _ = select.select(list(streams), [], [], remaining)
            for fd in ready:
                chunk = os.read(fd, 65536)
                if streams[fd] == "out":
                    self.out += chunk
                else:
                    self.err += chunk
                if not chunk:
                    streams.pop(fd)
            assert streams or needle.encode() in self.out, (self.out, self.err)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=WAIT)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.out += self.proc.stdout.read()
        self.err += self.proc.stderr.read()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(BrokenPipeError):
                    stream.close()


# -- a pseudo-terminal ----------------------------------------------------------------------------

# System calls that wait for the terminal, by number: read (of fd 0), and select and poll in
# their variants.
_TERMINAL_WAITS: dict[str, tuple[str, frozenset[str]]] = {
    "x86_64": ("0", frozenset({"7", "23", "270", "271"})),
    "aarch64": ("63", frozenset({"72", "73"})),
}
_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


class PtyProcess:
    """``opencode`` whose stdin, stdout and stderr are one pseudo-terminal it controls.

    ``expect`` waits for text (terminal escape sequences removed) and returns what came
    before it; Ctrl-C is ``write(b"\\x03")``, which the terminal turns into SIGINT.
    """

    def __init__(self, args: Sequence[str], env: dict[str, str]) -> None:
        import fcntl
        import pty
        import struct
        import termios

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))

        def make_controlling_terminal() -> None:  # runs in the child after setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [str(OPENCODE), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm"},
            start_new_session=True,
            preexec_fn=make_controlling_terminal,  # noqa: PLW1509 - needed for a real tty
        )
        os.close(slave)
        self.master = master
        self.buffer = b""  # everything read and not yet consumed by expect()

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def interrupt_at_prompt(self) -> None:
        """Ctrl-C while the program waits for a key.

        CPython notices a signal only while it is blocked waiting for the terminal (readline
        in ``select()``, a plain ``input()`` in ``read()``); one that lands while it is still
        echoing the last key stays pending until the next key. A person never types that
        fast, so wait until the program is blocked there before pressing Ctrl-C.
        """
        self.wait_until_blocked_on_the_terminal()
        self.write(b"\x03")

    def wait_until_blocked_on_the_terminal(self, timeout: float = WAIT) -> None:
        """Poll the main thread's current system call (Linux ``/proc/PID/syscall``)."""
        read, polls = _TERMINAL_WAITS.get(os.uname().machine, ("", frozenset()))
        deadline = time.monotonic() + timeout
        while True:
            try:  # "running", or the call's number and arguments
                fields = Path(f"/proc/{self.proc.pid}/syscall").read_text().split() or ["?"]
            except OSError:
                fields = ["?"]
            if not read or fields[0] == "?":
                # Not visible here: give the echo a moment instead. Unlike the check below,
                # this pause is a guess, which a very busy machine may beat.
                time.sleep(0.3)
                return
            if fields[0] in polls or (fields[0] == read and fields[1] == "0x0"):
                return
            assert time.monotonic() < deadline, f"never blocked on the terminal: {fields}"
            time.sleep(0.01)  # polling a condition under a deadline

    def expect(self, text: str, timeout: float = WAIT) -> str:
        needle = text.encode()
        deadline = time.monotonic() + timeout
        while True:
            clean = _ESCAPES.sub(b"", self.buffer)
            index = clean.find(needle)
            if index >= 0:
                self.buffer = clean[index + len(needle) :]
                return clean[:index].decode(errors="replace")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} did not appear; got {clean!r}")
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{text!r} did not appear before exit; got {clean!r}")
                self.buffer += chunk

    def wait(self, timeout: float = WAIT) -> int:
        code = self.proc.wait(timeout=timeout)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)
        os.close(self.master)
