"""Errors the chat client raises: each ``str()`` is one human line the CLI can print as is.

The CLI maps ``OpencodeError`` to stderr and an exit code in one place, so these classes carry
the sentence and keep the details (status code, timeout, URL) as attributes for callers that
want to react differently, e.g. retry on a timeout but not on HTTP 401.
"""

from __future__ import annotations

from opencode.errors import OpencodeError


class ChatError(OpencodeError):
    """Base class for everything that can go wrong talking to a model server."""


class ChatConfigError(ChatError):
    """The model settings are incomplete or invalid (e.g. a base URL but no model)."""


class ChatConnectionError(ChatError):
    """The model server could not be reached, or dropped the connection mid-answer."""

    def __init__(self, message: str, *, base_url: str) -> None:
        super().__init__(message)
        self.base_url = base_url


class ChatTimeoutError(ChatError):
    """The model server accepted nothing or said nothing for longer than the configured limit."""

    def __init__(self, message: str, *, base_url: str, timeout: float) -> None:
        super().__init__(message)
        self.base_url = base_url
        self.timeout = timeout


class ChatServerError(ChatError):
    """The model server answered, but with an error instead of a reply."""

    def __init__(self, message: str, *, server_message: str | None = None) -> None:
        super().__init__(message)
        self.server_message = server_message


class ChatHTTPError(ChatServerError):
    """The model server answered with a non-2xx status (bad key, unknown model, overload).

    ``retry_after`` is how many seconds the server asked to wait (429, 503), if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        server_message: str | None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, server_message=server_message)
        self.status_code = status_code
        self.retry_after = retry_after


class ChatResponseError(ChatError):
    """The model server's answer does not follow the chat-completions protocol."""


class ChatUsageError(ChatResponseError):
    """The server's token usage report holds a count that cannot be true.

    The reply itself is still good, so the parser does not let this escape: it keeps the
    reply, drops the usage and puts this message in ``ChatReply.usage_error``.
    """
