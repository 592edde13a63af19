"""Helpers for the sync tests: machines (data folders) that run the real ``opencode``, an S3
server (moto) with its credentials, and the network faults the tests inject."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode.sessions import Session, SessionIndex, SessionManager, SessionStorage

REGION = "us-east-1"
ACCESS_KEY = "AKIAOPENCODETESTS000"
SECRET_KEY = "opencode-test-secret-key-0000000000000000"
WORKERS = Path(__file__).parent / "_workers"
PROCESS_TIMEOUT = 120


def opencode_command() -> list[str]:
    """The installed console script, else ``python -m opencode``."""
    beside = Path(sys.executable).with_name("opencode")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("opencode")
    return [found] if found else [sys.executable, "-m", "opencode"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, *, deadline_seconds: float = 60.0) -> None:
    """Poll until something accepts connections on ``port`` (a generous deadline)."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.05)  # polling a condition under a deadline


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error: ")]


@dataclass
class Machine:
    """One data folder and config folder: what one computer would have."""

    name: str
    root: Path
    base_env: dict[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def storage(self) -> SessionStorage:
        return SessionStorage(self.data_dir / "sessions")

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            **self.base_env,
            "OPENCODE_DATA_DIR": str(self.data_dir),
            "OPENCODE_CONFIG_DIR": str(self.config_dir),
        }
        env.update(extra)
        return env

    def run(self, *args: str, input: str = "", **extra_env: str) -> Result:
        done = subprocess.run(
            [*opencode_command(), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env(**extra_env),
            timeout=PROCESS_TIMEOUT,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def sync(self, *args: str, **extra_env: str) -> dict[str, Any]:
        """``opencode sync ARGS --json``, which must succeed; the JSON report."""
        result = self.run("sync", *args, "--json", **extra_env)
        assert result.returncode == 0, result.stderr
        report: dict[str, Any] = result.json()
        return report

    def manager(self) -> SessionManager:
        return SessionManager(self.storage, auto_save_interval=0, fire_shell_hooks=False)

    def new_session(self, title: str, *messages: str, tags: tuple[str, ...] = ()) -> Session:
        manager = self.manager()
        session = manager.create(title=title, working_dir="/work/project", tags=list(tags))
        for number, text in enumerate(messages):
            manager.add_message("user" if number % 2 == 0 else "assistant", text)
        manager.close()
        return self.storage.load(session.id)

    def add_messages(self, session_id: str, *messages: str) -> Session:
        manager = self.manager()
        manager.resume(session_id)
        for text in messages:
            manager.add_message("user", text)
        manager.close()
        return self.storage.load(session_id)

    def load(self, session_id: str) -> Session:
        return self.storage.load(session_id)

    def ids(self) -> set[str]:
        return set(self.storage.list_session_ids())

    def index_ids(self) -> set[str]:
        index = SessionIndex(self.storage)
        try:
            return set(index.ids())
        finally:
            index.close()

    def files(self) -> list[str]:
        """Every file under the sessions folder (to show nothing was written)."""
        folder = self.data_dir / "sessions"
        if not folder.exists():
            return []
        return sorted(p.name for p in folder.iterdir())


def contents(session: Session) -> list[tuple[str, str, str]]:
    return [(m.id, m.role, m.content) for m in session.messages]


def moved(report: dict[str, Any], direction: str | None = None) -> list[tuple[str, str]]:
    """``(id, action)`` of what moved (one way)."""
    return sorted(
        (m["id"], m["action"])
        for m in report["moved"]
        if direction is None or m["direction"] == direction
    )


# -- network faults ------------------------------------------------------------------------------


class SilentServer:
    """Accepts connections and never answers: an endpoint that times out."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self.listener.accept()
                self.connections.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.close()


class CuttingProxy:
    """Forwards 127.0.0.1:<port> to an HTTP server. While ``armed``, a response whose body
    is at least ``min_body`` bytes is cut after ``cut_after`` bytes of its body: the
    connection is closed mid-transfer, as a dropped network would."""

    def __init__(self, target_port: int, *, min_body: int, cut_after: int) -> None:
        self.target_port = target_port
        self.min_body = min_body
        self.cut_after = cut_after
        self.armed = True
        self.cuts = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
                self._sockets += [client, upstream]
                threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
                threading.Thread(
                    target=self._responses, args=(upstream, client), daemon=True
                ).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                target.sendall(chunk)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def _responses(self, upstream: socket.socket, client: socket.socket) -> None:
        """Forward responses one by one, cutting a large one when armed."""
        buffer = b""
        with contextlib.suppress(OSError):
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = upstream.recv(65536)
                    if not chunk:
                        client.sendall(buffer)
                        client.shutdown(socket.SHUT_WR)
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = _content_length(head)
                client.sendall(head + b"\r\n\r\n")
                if self.armed and length >= self.min_body:
                    self._cut(upstream, client, buffer)
                    return
                while len(buffer) < length:
                    chunk = upstream.recv(65536)
                    if not chunk:
                        break
                    buffer += chunk
                client.sendall(buffer[:length])
                buffer = buffer[length:]

    def _cut(self, upstream: socket.socket, client: socket.socket, buffer: bytes) -> None:
        while len(buffer) < self.cut_after:
            chunk = upstream.recv(65536)
            if not chunk:
                break
            buffer += chunk
        client.sendall(buffer[: self.cut_after])
        self.cuts += 1
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


@contextlib.contextmanager
def held_open(machine: Machine, session_id: str) -> Iterator[subprocess.Popen[str]]:
    """A child process holding ``session_id`` open as a chat loop does (see the worker)."""
    child = subprocess.Popen(
        [
            sys.executable,
            str(WORKERS / "hold_open.py"),
            str(machine.storage.storage_dir),
            session_id,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=machine.env(),
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == f"ready {session_id}"
        yield child
    finally:
        if child.poll() is None:
            assert child.stdin is not None
            with contextlib.suppress(OSError):
                child.stdin.close()
            child.wait(timeout=PROCESS_TIMEOUT)


def tell(child: subprocess.Popen[str], line: str) -> str:
    """Send one command to a held-open child and return its acknowledgement."""
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()
    return child.stdout.readline().strip()


# -- the S3 server and machines using it ------------------------------------------------------


@dataclass
class S3Server:
    """The moto server: its endpoint, and an admin client for setting up buckets."""

    endpoint: str
    port: int
    admin: Any

    def new_bucket(self) -> str:
        name = f"t-{uuid.uuid4().hex[:20]}"
        self.admin.create_bucket(Bucket=name)
        return name

    @contextmanager
    def checking_credentials(self) -> Iterator[None]:
        """Make the server check every request's credentials (moto does not by default)."""
        import httpx

        httpx.post(f"{self.endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()
        try:
            yield
        finally:
            httpx.post(f"{self.endpoint}/moto-api/reset-auth", content=b"inf").raise_for_status()


def aws_env(root: Path) -> dict[str, str]:
    """Credentials from the environment only: no profile, no files, no instance metadata."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(root / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
    }


def make_machine(tmp_path: Path, name: str) -> Machine:
    root = tmp_path / name
    root.mkdir()
    return Machine(name, root, aws_env(tmp_path))
