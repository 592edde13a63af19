"""The HTTP side: send chat-completions requests with httpx and map failures to ``ChatError``.

httpx is imported inside the methods that use it, so importing ``opencode.chat`` costs the CLI
nothing until a request is actually made.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from opencode import __version__
from opencode.chat.config import ChatConfig
from opencode.chat.errors import (
    ChatConnectionError,
    ChatError,
    ChatHTTPError,
    ChatResponseError,
    ChatTimeoutError,
)
from opencode.chat.models import ChatDelta, ChatReply
from opencode.chat.protocol import (
    DONE_SENTINEL,
    ReplyBuilder,
    build_request_body,
    decode_json,
    error_event,
    error_message_from_body,
    iter_sse_events,
    one_line,
    parse_completion,
)

if TYPE_CHECKING:
    import httpx

# An error body is read up to this size: enough for any explanation, not for a flood.
ERROR_BODY_LIMIT: Final = 1024 * 1024


class ChatClient:
    """A connection-pooling client for one configured model; close it (or use ``with``).

    One instance serves a whole interactive session so later turns reuse the connection.
    """

    def __init__(self, config: ChatConfig) -> None:
        self.config = config
        self._http: httpx.Client | None = None

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections; the client may still be used again afterwards."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            import httpx

            config = self.config
            headers = {"User-Agent": f"opencode/{__version__}"}
            if config.api_key:
                headers["Authorization"] = f"Bearer {config.api_key}"
            self._http = httpx.Client(
                headers=headers,
                timeout=httpx.Timeout(
                    connect=config.connect_timeout,
                    read=config.read_timeout,
                    write=config.read_timeout,
                    pool=config.connect_timeout,
                ),
            )
        return self._http

    def stream_chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ChatStream:
        """Send ``messages`` and return the answer as a stream of text deltas.

        The request is sent and its status checked before this returns, so a refused
        connection or an HTTP 401 raises here; errors later in the answer raise while
        iterating. Use ``with``, or call ``close()`` (e.g. on Ctrl-C), to release the
        connection.
        """
        import httpx

        config = self.config
        body = build_request_body(
            config, messages, stream=True, max_tokens=max_tokens, extra_body=extra_body
        )
        client = self._client()
        request = client.build_request(
            "POST",
            config.chat_completions_url,
            json=body,
            headers={"Accept": "text/event-stream"},
        )
        try:
            response = client.send(request, stream=True)
        except httpx.RequestError as exc:
            raise request_error(exc, config) from exc
        try:
            raise_for_status(response, config)
        except BaseException:
            response.close()
            raise
        return ChatStream(response, config)

    def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ChatReply:
        """Send ``messages`` and wait for the whole answer (no streaming)."""
        import httpx

        config = self.config
        body = build_request_body(
            config, messages, stream=False, max_tokens=max_tokens, extra_body=extra_body
        )
        try:
            response = self._client().post(
                config.chat_completions_url, json=body, headers={"Accept": "application/json"}
            )
        except httpx.RequestError as exc:
            raise request_error(exc, config) from exc
        raise_for_status(response, config)
        return parse_completion(decode_json(response.content, "the reply"), config.model)


class ChatStream:
    """One streamed answer: iterate for text deltas (or ``deltas()``), then read ``reply``.

    ``text`` and ``reasoning`` hold what has arrived so far, so an interrupted answer can
    still be saved. ``reply`` is ``None`` until the server has finished; it carries ``usage``
    only when the server reported it. ``close()`` stops reading and closes the connection; it
    is safe to call more than once and is what ``with`` does on the way out.
    """

    def __init__(self, response: httpx.Response, config: ChatConfig) -> None:
        self._response = response
        self._config = config
        self._builder = ReplyBuilder(config.model)
        self._reply: ChatReply | None = None
        self._closed = False
        self._deltas = self._generate()

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> str:
        """The next piece of answer text (reasoning is skipped: see ``deltas()``)."""
        while True:
            delta = next(self._deltas)
            if delta.text:
                return delta.text

    def deltas(self) -> Iterator[ChatDelta]:
        """The answer as it arrives, reasoning included, each piece once."""
        return self._deltas

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def text(self) -> str:
        """The answer received so far."""
        return self._builder.text

    @property
    def reasoning(self) -> str:
        """The model's thinking received so far (empty for most models)."""
        return self._builder.reasoning

    @property
    def reply(self) -> ChatReply | None:
        """The complete reply once the stream has ended normally, else ``None``."""
        return self._reply

    @property
    def closed(self) -> bool:
        """True once the connection for this answer has been released."""
        return self._closed

    def collect(self) -> ChatReply:
        """Read whatever is left and return the complete reply.

        Raises ``RuntimeError`` if the stream was closed before the answer finished.
        """
        for _ in self:
            pass
        if self._reply is None:
            raise RuntimeError("the stream was closed before the answer was complete")
        return self._reply

    def close(self) -> None:
        """Stop reading and close the connection (the server sees the client go away).

        Call it from the thread that iterates, e.g. after catching ``KeyboardInterrupt``.
        """
        self._deltas.close()
        self._release()

    def _release(self) -> None:
        if not self._closed:
            self._closed = True
            # Closing an unfinished response closes its connection instead of pooling it.
            self._response.close()

    def _generate(self) -> Generator[ChatDelta, None, None]:
        import httpx

        try:
            content_type = self._response.headers.get("content-type", "")
            if content_type.startswith("application/json"):
                # Some servers ignore "stream": true and answer in one piece.
                self._response.read()
                reply = parse_completion(
                    decode_json(self._response.content, "the reply"), self._config.model
                )
                delta = self._builder.add(reply.text, reply.reasoning)
                if delta.text or delta.reasoning:
                    yield delta
                self._reply = reply
                return
            finished = False
            for event, data in iter_sse_events(self._response.iter_lines()):
                if event == "error":
                    raise error_event(data)
                if data.strip() == DONE_SENTINEL:
                    finished = True
                    break
                delta = self._builder.add_chunk(decode_json(data, "a stream chunk"))
                if delta.text or delta.reasoning:
                    yield delta
            # llama.cpp-style servers may end without [DONE] but do send a finish_reason.
            if not finished and self._builder.finish_reason is None:
                raise ChatResponseError(
                    "model server ended the stream before the answer was complete"
                )
            self._reply = self._builder.build()
        except httpx.RequestError as exc:
            raise request_error(exc, self._config) from exc
        finally:
            self._release()


def raise_for_status(response: httpx.Response, config: ChatConfig) -> None:
    """Turn a non-2xx answer into ``ChatHTTPError`` carrying the server's own explanation."""
    import httpx

    if response.is_success:
        return
    try:
        body = _read_capped(response, ERROR_BODY_LIMIT)
    except httpx.RequestError:
        body = b""
    status = response.status_code
    server_message = error_message_from_body(body, response.headers.get("content-type", ""))
    detail = server_message or response.reason_phrase
    retry_after = retry_after_seconds(response.headers)
    message = f"model server returned HTTP {status}"
    if detail:
        message += f": {detail}"
    if status == 404:
        message += f" (is {config.base_url} the right base URL?)"
    if retry_after is not None:
        message += f" (retry after {_seconds(math.ceil(retry_after))})"
    raise ChatHTTPError(
        message, status_code=status, server_message=server_message, retry_after=retry_after
    )


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the body: a hostile error page cannot fill the memory."""
    if response.is_stream_consumed:
        return response.content[:limit]
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """How long the server asked the client to wait, from ``Retry-After`` (seconds or an
    HTTP date) or OpenAI's ``retry-after-ms``; ``None`` when it did not say, or said nonsense.
    """
    raw = (headers.get("retry-after") or "").strip()
    if raw:
        seconds: float | None
        try:
            seconds = float(raw)
        except ValueError:
            seconds = _seconds_until(raw)
        return seconds if seconds is not None and 0 <= seconds < math.inf else None
    raw_ms = (headers.get("retry-after-ms") or "").strip()
    try:
        milliseconds = float(raw_ms)
    except ValueError:
        return None
    return milliseconds / 1000 if 0 <= milliseconds < math.inf else None


def _seconds_until(http_date: str) -> float | None:
    from datetime import datetime, timezone
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _refused(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def request_error(exc: httpx.RequestError, config: ChatConfig) -> ChatError:
    """One human line for an httpx failure, naming the server and what went wrong."""
    import httpx

    where = f"model server at {config.base_url}"
    reason = one_line(str(exc)) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return ChatTimeoutError(
            f"{where} did not accept the connection within {_seconds(config.connect_timeout)}",
            base_url=config.base_url,
            timeout=config.connect_timeout,
        )
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return ChatTimeoutError(
            f"{where} did not answer within {_seconds(config.read_timeout)}",
            base_url=config.base_url,
            timeout=config.read_timeout,
        )
    if isinstance(exc, httpx.TimeoutException):
        return ChatTimeoutError(
            f"{where} timed out: {reason}",
            base_url=config.base_url,
            timeout=config.connect_timeout,
        )
    if isinstance(exc, httpx.ConnectError):
        if _refused(exc):
            return ChatConnectionError(f"{where} refused the connection", base_url=config.base_url)
        return ChatConnectionError(f"could not reach {where}: {reason}", base_url=config.base_url)
    if isinstance(exc, httpx.DecodingError):
        return ChatResponseError(f"{where} sent a body that could not be decoded: {reason}")
    return ChatConnectionError(
        f"{where} dropped the connection: {reason}", base_url=config.base_url
    )
