"""A real chat-completions server on 127.0.0.1 for the client tests; nothing is mocked.

Each test sets ``stub.behavior`` (via the ``reply_*``/``hang*`` helpers) to decide how the next
requests are answered, then inspects ``stub.requests`` for what the client actually sent.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from opencode.chat import ChatClient, ChatConfig

Behavior = Callable[["_Handler", "StubChatServer"], None]
Event = dict[str, Any] | str


@dataclass
class RecordedRequest:
    """What the client sent: path, headers (lower-case names) and the parsed JSON body."""

    path: str
    headers: dict[str, str]
    body: Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # ThreadingHTTPServer joins every handler thread in server_close(); a handler that is
    # deliberately hung would then stall teardown, so do not wait for them.
    block_on_close = False
    stub: StubChatServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stops reading mid-answer resets the connection: expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streaming, like real servers
    timeout = 15  # idle keep-alive connections end by themselves

    def do_POST(self) -> None:
        stub = self.server.stub  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        stub.requests.append(
            RecordedRequest(
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=json.loads(raw) if raw else None,
            )
        )
        stub.behavior(self, stub)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # Low-level writers the behaviours share.
    def send_body(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
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

    def write_events(self, events: list[Event]) -> None:
        for event in events:
            data = event if isinstance(event, str) else json.dumps(event)
            self.write_chunk(f"data: {data}\n\n".encode())

    def write_chunk(self, payload: bytes) -> None:
        """One HTTP chunk of the streamed body, written as is."""
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class StubChatServer:
    """The running stub; ``base_url`` ends in ``/v1`` like a real OpenAI-compatible server."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.release = threading.Event()  # set at teardown so hung handlers return
        self.client_went_away = threading.Event()
        self.behavior: Behavior = _unset
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.stub = self
        host, port = self._httpd.server_address[:2]
        self.base_url = f"http://{host!s}:{port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # Behaviours.
    def reply_json(
        self, payload: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode()
        self.behavior = lambda h, s: h.send_body(status, body, "application/json", headers)

    def reply_raw(self, body: bytes, status: int = 200, content_type: str = "text/plain") -> None:
        self.behavior = lambda h, s: h.send_body(status, body, content_type)

    def reply_sse_bytes(self, body: bytes, *, complete: bool = True) -> None:
        """A stream whose body is exactly ``body`` (any SSE framing a test needs).

        ``complete=False`` drops the connection without the final chunk, as a server that
        dies mid-answer does.
        """

        def behave(handler: _Handler, stub: StubChatServer) -> None:
            handler.start_stream()
            handler.write_chunk(body)
            if complete:
                handler.end_stream()
            handler.close_connection = True

        self.behavior = behave

    def reply_sse(self, events: list[Event]) -> None:
        def behave(handler: _Handler, stub: StubChatServer) -> None:
            handler.start_stream()
            handler.write_events(events)
            handler.end_stream()

        self.behavior = behave

    def hang(self, answer_after: float | None = None) -> None:
        """Accept the request and say nothing: forever, or for ``answer_after`` seconds.

        A late answer lets a timeout test fail when the client's own limit is not applied
        (it would wait and succeed) without measuring wall-clock time tightly.
        """

        def behave(handler: _Handler, stub: StubChatServer) -> None:
            if stub.release.wait(30 if answer_after is None else answer_after):
                handler.close_connection = True
                return
            text = "too late"
            if stub.requests[-1].body.get("stream"):
                handler.start_stream()
                handler.write_events(
                    [{"choices": [{"index": 0, "delta": {"content": text}}]}, "[DONE]"]
                )
                handler.end_stream()
            else:
                message = {"role": "assistant", "content": text}
                payload = {"choices": [{"index": 0, "message": message}]}
                handler.send_body(200, json.dumps(payload).encode(), "application/json")

        self.behavior = behave

    def stream_then_hang(self, events: list[Event]) -> None:
        def behave(handler: _Handler, stub: StubChatServer) -> None:
            handler.start_stream()
            handler.write_events(events)
            stub.release.wait(30)
            handler.close_connection = True

        self.behavior = behave

    def stream_then_watch_client(self, events: list[Event]) -> None:
        """Send ``events`` mid-answer, then record whether the client closes the connection."""

        def behave(handler: _Handler, stub: StubChatServer) -> None:
            handler.start_stream()
            handler.write_events(events)
            handler.connection.settimeout(10)
            try:
                gone = handler.connection.recv(1) == b""
            except (ConnectionError, TimeoutError):
                gone = False
            if gone:
                stub.client_went_away.set()
            handler.close_connection = True

        self.behavior = behave


def _unset(handler: _Handler, stub: StubChatServer) -> None:
    handler.send_body(500, b'{"error": {"message": "no behaviour set"}}', "application/json")


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours proxy variables; requests to the stub must go straight to it."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)


@pytest.fixture
def stub() -> Iterator[StubChatServer]:
    server = StubChatServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_client(stub: StubChatServer) -> Iterator[Callable[..., ChatClient]]:
    """Build clients for the stub (keyword arguments go to ``ChatConfig``); all are closed."""
    clients: list[ChatClient] = []

    def make(**overrides: Any) -> ChatClient:
        settings: dict[str, Any] = {
            "model": "stub-model",
            "base_url": stub.base_url,
            "read_timeout": 5.0,
        }
        settings.update(overrides)
        client = ChatClient(ChatConfig(**settings))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def unused_port() -> int:
    """A port nothing listens on (bound and released, so the OS just handed it out)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
