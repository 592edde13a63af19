"""Which model server to talk to, resolved from CLI options and environment variables.

Resolution rules (explicit arguments always beat the environment):

* model: ``model`` argument, else ``$OPENCODE_MODEL``.
* base URL: ``base_url`` argument, else ``$OPENCODE_BASE_URL``, else ``$OPENAI_BASE_URL``,
  else ``https://api.openai.com/v1`` when ``$OPENAI_API_KEY`` is set.
* API key: ``$OPENAI_API_KEY``; without one no ``Authorization`` header is sent (local servers).

Having no model at all is a normal state: the interactive loop then works as a journal only,
so resolution returns ``None``. The generic ``OPENAI_*`` variables are often set for other
tools, so on their own they never turn chat on (still ``None``). An opencode-specific setting
that cannot work on its own (a base URL without a model, or a model without any server) is a
mistake worth reporting, so it raises ``ChatConfigError``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from opencode.chat.errors import ChatConfigError

MODEL_ENV: Final = "OPENCODE_MODEL"
TIMEOUT_ENV: Final = "OPENCODE_TIMEOUT"
BASE_URL_ENV: Final = "OPENCODE_BASE_URL"
OPENAI_BASE_URL_ENV: Final = "OPENAI_BASE_URL"
API_KEY_ENV: Final = "OPENAI_API_KEY"

OPENAI_BASE_URL: Final = "https://api.openai.com/v1"
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
DEFAULT_READ_TIMEOUT: Final = 60.0

NO_MODEL_HINT: Final = (
    "No model configured: set OPENCODE_BASE_URL (e.g. http://127.0.0.1:11434/v1) and "
    "OPENCODE_MODEL, or pass --base-url/--model."
)

_ENDPOINT_SUFFIX: Final = "/chat/completions"


@dataclass(frozen=True)
class ChatConfig:
    """Everything the client needs to reach one model on one OpenAI-compatible server.

    ``read_timeout`` bounds each wait for bytes (the first token or the next one), so a server
    that accepts and then hangs fails after that long instead of blocking the loop forever.
    """

    model: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_tokens: int | None = None
    # Some older servers reject ``stream_options``; turning this off omits it.
    stream_usage: bool = True

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise ChatConfigError("model name must not be empty")
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))
        for name in ("connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if not value > 0:
                raise ChatConfigError(f"{name.replace('_', ' ')} must be positive, got {value}")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ChatConfigError(f"max tokens must be at least 1, got {self.max_tokens}")

    @property
    def chat_completions_url(self) -> str:
        """The endpoint every request goes to."""
        return self.base_url + _ENDPOINT_SUFFIX

    @classmethod
    def from_env(
        cls,
        model: str | None = None,
        base_url: str | None = None,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_tokens: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ChatConfig | None:
        """Same as :func:`resolve_chat_config`; ``None`` means "no model, journal only"."""
        return resolve_chat_config(
            model,
            base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_tokens=max_tokens,
            env=env,
        )


def normalize_base_url(url: str) -> str:
    """Accept the forms people paste: trailing slashes or the full ``/chat/completions`` URL."""
    cleaned = url.strip().rstrip("/")
    if cleaned.endswith(_ENDPOINT_SUFFIX):
        cleaned = cleaned[: -len(_ENDPOINT_SUFFIX)].rstrip("/")
    scheme, sep, rest = cleaned.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest:
        raise ChatConfigError(
            f"model server URL must start with http:// or https://, got {url.strip()!r}"
        )
    return cleaned


def resolve_chat_config(
    model: str | None = None,
    base_url: str | None = None,
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    max_tokens: int | None = None,
    env: Mapping[str, str] | None = None,
) -> ChatConfig | None:
    """Combine ``--model``/``--base-url`` with the environment; ``None`` when chat is off.

    Empty values count as unset, so ``OPENCODE_MODEL=`` switches a model off.
    Raises ``ChatConfigError`` for settings that cannot work (see the module docstring).
    """
    environ = os.environ if env is None else env

    def pick(*values: str | None) -> str | None:
        for value in values:
            if value is not None and value.strip():
                return value.strip()
        return None

    chosen_model = pick(model, environ.get(MODEL_ENV))
    own_url = pick(base_url, environ.get(BASE_URL_ENV))
    api_key = pick(environ.get(API_KEY_ENV))
    chosen_url = own_url or pick(environ.get(OPENAI_BASE_URL_ENV))
    if chosen_url is None and api_key is not None:
        chosen_url = OPENAI_BASE_URL

    if chosen_model is None:
        if own_url is not None:
            raise ChatConfigError(
                f"model server {own_url} is set but no model: set {MODEL_ENV} or pass --model"
            )
        return None
    if chosen_url is None:
        raise ChatConfigError(
            f"model {chosen_model!r} is set but no model server: set {BASE_URL_ENV} "
            f"(e.g. http://127.0.0.1:11434/v1) or pass --base-url"
        )
    return ChatConfig(
        model=chosen_model,
        base_url=chosen_url,
        api_key=api_key,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_tokens=max_tokens,
    )


def resolve_chat_settings(
    model: str | None,
    base_url: str | None,
    history_tokens: int,
    env: Mapping[str, str] | None = None,
) -> ChatConfig | None:
    """``resolve_chat_config`` plus ``$OPENCODE_TIMEOUT`` and the history budget, checked.

    ``$OPENCODE_TIMEOUT`` (seconds) bounds each wait for the model server to say something.
    Raises ``ChatConfigError`` for settings that cannot work, so a caller can check them
    before it opens a session and a typo does not leave an empty session behind.
    """
    environ = os.environ if env is None else env
    read_timeout = DEFAULT_READ_TIMEOUT
    raw = environ.get(TIMEOUT_ENV, "").strip()
    if raw:
        try:
            read_timeout = float(raw)
        except ValueError:
            read_timeout = -1.0
        if not 0 < read_timeout < float("inf"):
            raise ChatConfigError(
                f"{TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}"
            )
    if history_tokens < 1:
        raise ChatConfigError(f"history token budget must be at least 1, got {history_tokens}")
    return resolve_chat_config(model, base_url, read_timeout=read_timeout, env=env)
