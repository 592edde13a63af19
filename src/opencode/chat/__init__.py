"""Talk to an OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM, llama.cpp...).

No terminal code lives here: the interactive loop renders what this package returns. Importing
it is cheap; httpx is loaded on the first request.

Typical use from a synchronous loop::

    config = resolve_chat_config(model, base_url)    # None: no model, journal only
    with ChatClient(config) as client:
        history = select_history(messages, DEFAULT_HISTORY_TOKENS)
        with client.stream_chat(history) as stream:  # Ctrl-C inside closes the connection
            for delta in stream:
                show(delta)
        reply = stream.reply                          # text, usage (or None), finish_reason
        # reply.usage_error: the server's counts were impossible and were dropped
"""

from __future__ import annotations

from opencode.chat.client import ChatClient, ChatStream
from opencode.chat.config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    NO_MODEL_HINT,
    OPENAI_BASE_URL,
    ChatConfig,
    resolve_chat_config,
    resolve_chat_settings,
)
from opencode.chat.errors import (
    ChatConfigError,
    ChatConnectionError,
    ChatError,
    ChatHTTPError,
    ChatResponseError,
    ChatServerError,
    ChatTimeoutError,
    ChatUsageError,
)
from opencode.chat.history import (
    DEFAULT_HISTORY_TOKENS,
    estimate_tokens,
    select_history,
)
from opencode.chat.models import ChatMessage, ChatReply, ChatUsage

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_HISTORY_TOKENS",
    "DEFAULT_READ_TIMEOUT",
    "NO_MODEL_HINT",
    "OPENAI_BASE_URL",
    "ChatClient",
    "ChatConfig",
    "ChatConfigError",
    "ChatConnectionError",
    "ChatError",
    "ChatHTTPError",
    "ChatMessage",
    "ChatReply",
    "ChatResponseError",
    "ChatServerError",
    "ChatStream",
    "ChatTimeoutError",
    "ChatUsage",
    "ChatUsageError",
    "estimate_tokens",
    "resolve_chat_config",
    "resolve_chat_settings",
    "select_history",
]
