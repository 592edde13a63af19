"""Helpers for the interactive-loop tests: a real chat-completions server and process drivers.

Test files load this module by path (pytest runs with ``--import-mode=importlib``, so
``tests/cli`` is not importable as a package)::

    stub_chat_server = load_helper()   # see _load_helper in each test file

* ``StubChatServer``: a ThreadingHTTPServer on 127.0.0.1 (port 0). Each request takes the next
  queued behaviour (``reply``, ``fail``, ``hang``, ``slow``, ``cut``...), or the default one.
  ``StubChatServer(strict_roles=True)`` refuses, like llama.cpp's and vLLM's strict chat
  templates (Mistral, Llama 2, Gemma), any request whose roles do not alternate.
* ``run_opencode``: the installed ``opencode`` executable with piped stdin.
* ``PtyProcess``: the same executable on a pseudo-terminal, for the prompt and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import socket
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
WAIT = 60.0  # generous upper bound for anything a test waits for; never a speed assertion


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
        body = json.loads(raw) if raw else None
        stub.requests.append(RecordedRequest(self.path, body))
        stub.received.set()
        problem = alternation_problem(body.get("messages") if isinstance(body, dict) else None)
        if stub.strict_roles and problem is not None:
            stub.refused.append(problem)
            error = {"message": problem, "type": "invalid_request_error", "code": 400}
            self.send_body(400, json.dumps({"error": error}).encode(), "application/json")
            return
        stub.next_behavior()(self, stub)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_body(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
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


ROLES_MUST_ALTERNATE = "Conversation roles must alternate user/assistant/user/assistant/..."


def alternation_problem(messages: Any) -> str | None:
    """What a strict chat template says about ``messages`` (``None``: it renders them).

    The Mistral, Llama 2 and Gemma templates that llama.cpp and vLLM apply allow one system
    message first, then user and assistant strictly in turn starting with the user, and no
    tool messages; OpenAI also refuses a tool call without its results and a null content.
    """
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    if messages[0].get("role") == "system":
        messages = messages[1:]
    for position, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            return f"Only user and assistant roles are supported! (got {role!r})"
        if (role == "user") != (position % 2 == 0):
            return ROLES_MUST_ALTERNATE
        if message.get("tool_calls"):
            return "assistant message has tool_calls without tool results"
        if not isinstance(message.get("content"), str):
            return "message content must be a string"
    return None


def _delta(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def _finish(usage: dict[str, int] | None, reason: str = "stop") -> list[dict[str, Any] | str]:
    events: list[dict[str, Any] | str] = [
        {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}
    ]
    if usage is not None:
        events.append({"choices": [], "usage": usage})
    events.append("[DONE]")
    return events


class StubChatServer:
    """A chat-completions server whose answers each test scripts in advance."""

    def __init__(self, *, strict_roles: bool = False) -> None:
        self.strict_roles = strict_roles
        self.refused: list[str] = []  # why strict_roles refused requests, in order
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

    def fail(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        """An OpenAI-style error body with HTTP ``status`` (and e.g. a Retry-After header)."""
        body = json.dumps({"error": {"message": message, "type": "server_error"}}).encode()
        self.queue(lambda h, s: h.send_body(status, body, "application/json", headers))

    def stream(self, *events: dict[str, Any] | str, complete: bool = True) -> None:
        """A stream of exactly ``events``; ``complete=False`` drops the connection after them
        without ending the chunked body, as a server that dies mid-answer does."""

        def behave(handler: _Handler, stub: StubChatServer) -> None:
            handler.start_stream()
            for event in events:
                handler.write_event(event)
            if complete:
                handler.end_stream()
            handler.close_connection = True

        self.queue(behave)

    def reply_cut_off(self, *chunks: str) -> None:
        """An answer the model stopped at its length limit (``finish_reason: "length"``)."""
        self.stream(*(_delta(chunk) for chunk in chunks), *_finish(None, "length"))

    def reply_reasoning(self, thinking: Sequence[str], *chunks: str) -> None:
        """A reasoning model: ``reasoning_content`` deltas first, then the answer."""
        events: list[dict[str, Any] | str] = [
            {"choices": [{"index": 0, "delta": {"reasoning_content": part}}]} for part in thinking
        ]
        self.stream(*events, *(_delta(chunk) for chunk in chunks), *_finish(None))

    def reply_tool_call(self, name: str, arguments: str = "{}", text: str = "") -> None:
        """An answer that asks to run a tool (opencode offers none)."""
        call = {"index": 0, "id": "call_1", "type": "function"}
        call["function"] = {"name": name, "arguments": arguments}
        events: list[dict[str, Any] | str] = [_delta(text)] if text else []
        events.append({"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]})
        self.stream(*events, *_finish(None, "tool_calls"))

    def cut(self, *chunks: str) -> None:
        """Stream ``chunks``, then drop the connection mid-answer."""
        self.stream(*(_delta(chunk) for chunk in chunks), complete=False)

    def hang(self) -> None:
        """Accept the request and say nothing until teardown."""

        def behave(handler: _Handler, stub: StubChatServer) -> None:
            stub.release.wait(30)
            handler.close_connection = True

        self.queue(behave)

    def slow(
        self, first: str = "", rest: str = " and the rest", usage: dict[str, int] | None = None
    ) -> None:
        """Stream ``first``, then wait for ``proceed`` (or the client leaving) before ``rest``."""

        def behave(handler: _Handler, stub: StubChatServer) -> None:
            handler.start_stream()
            if first:
                handler.write_event(_delta(first))
            # Keep the connection busy with SSE comments so a departed client is noticed.
            deadline = time.monotonic() + WAIT
            while not stub.proceed.wait(0.1) and time.monotonic() < deadline:
                handler.wfile.write(b"3\r\n:\n\n\r\n")
                handler.wfile.flush()
            for event in [_delta(rest), *_finish(usage)]:
                handler.write_event(event)
            handler.end_stream()

        self.queue(behave)


# -- a third-party server ---------------------------------------------------------------------

LLMOCK = Path(sys.executable).parent / "llmock"
STARTUP_DEADLINE = 120.0  # a loaded CI machine can take long to import FastAPI; never a speed test


def free_port() -> int:
    """A port the OS just handed out and nothing listens on (there is a small race: retried)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class LLMockProcess:
    """LLMock (PyPI ``llmock``), a third-party OpenAI-compatible server, in its own process.

    It speaks the chat-completions protocol the way OpenAI does (SSE chunks, usage on
    request, error bodies, ``Retry-After``), and tests script its next answers or faults over
    its ``/_llmock`` control API. Nothing here is ours: a real server, on 127.0.0.1.
    """

    def __init__(self, log: Path) -> None:
        self.log_path = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root + "/v1"

    def start(self) -> LLMockProcess:
        assert LLMOCK.exists(), (
            f"{LLMOCK} is missing: install the test extra (pip install -e '.[test]')"
        )
        for _attempt in range(3):  # another process may take the free port first
            self.port = free_port()
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(
                    [str(LLMOCK), "serve", *self._options()],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=chat_env(None),
                )
            if self._wait_until_ready():
                return self
        raise AssertionError(f"llmock never answered /health: {self.log_path.read_text()}")

    def _options(self) -> list[str]:
        # Tool mode off: it answers in text even if a request offered tools (ours never do).
        where = ["--host", "127.0.0.1", "--port", str(self.port)]
        return [*where, "--log-level", "warning", "--tool-mode", "off"]

    def _wait_until_ready(self) -> bool:
        """Poll ``/health`` under a generous deadline; False if the process died (port taken)."""
        import httpx

        assert self.proc is not None
        deadline = time.monotonic() + STARTUP_DEADLINE
        with httpx.Client(trust_env=False, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.root + "/health").status_code == 200:
                        return True
                time.sleep(0.05)  # polling a condition under a deadline
        self.stop()
        raise AssertionError(f"llmock not ready within {STARTUP_DEADLINE} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=WAIT)

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        import httpx

        with httpx.Client(trust_env=False, timeout=WAIT) as client:
            response = client.request(method, self.root + "/_llmock" + path, json=body)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Forget earlier requests and anything still queued."""
        self._control("POST", "/reset")

    def script(self, *behaviors: dict[str, Any]) -> None:
        """Queue behaviours in LLMock's own JSON form, e.g. ``{"type": "reply", "text": "hi"}``."""
        self._control("POST", "/scenario", {"behaviors": list(behaviors)})

    def chat_requests(self) -> list[dict[str, Any]]:
        """The bodies of the chat-completions requests it served, oldest first."""
        records = self._control("GET", "/requests")["requests"]
        return [r["body"] for r in records if r["path"].endswith("/chat/completions")]


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
    ``stdout_pipe=True`` pipes stdout instead, as ``opencode | cat`` run in a terminal does
    (``read_stdout`` collects it once the program has exited).
    """

    def __init__(
        self, args: Sequence[str], env: dict[str, str], *, stdout_pipe: bool = False
    ) -> None:
        import fcntl
        import pty
        import struct
        import termios

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))

        def make_controlling_terminal() -> None:  # runs in the child after setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            # A person's terminal delivers Ctrl-C; a test run started in the background
            # (``cmd &`` in a script) would otherwise pass SIGINT on ignored.
            signal.signal(signal.SIGINT, signal.SIG_DFL)

        self.proc = subprocess.Popen(
            [str(OPENCODE), *args],
            stdin=slave,
            stdout=subprocess.PIPE if stdout_pipe else slave,
            stderr=slave,
            env={**env, "TERM": "xterm"},
            start_new_session=True,
            preexec_fn=make_controlling_terminal,  # noqa: PLW1509 - needed for a real tty
        )
        os.close(slave)
        self.master = master
        self.buffer = b""  # everything read and not yet consumed by expect()
        self.raw = b""  # every byte the program wrote, escape sequences and all

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
                self.raw += chunk

    def wait(self, timeout: float = WAIT) -> int:
        code = self.proc.wait(timeout=timeout)
        return code

    def read_stdout(self) -> str:
        """Everything a piped stdout carried (the program must have exited)."""
        assert self.proc.stdout is not None, "stdout is the terminal: use expect()"
        return self.proc.stdout.read().decode(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        os.close(self.master)
