"""Talk to an OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM, llama.cpp...).

No terminal code lives here: the interactive loop renders what this package returns. Importing
it is cheap; httpx is loaded on the first request.

Typical use from a synchronous loop::

    config = resolve_chat_config(model, base_url)    # None: no model, journal only
    with ChatClient(config) as client:
        # Always a valid request: roles alternate, no orphan tool calls, whole turns only.
        history = select_history(messages, DEFAULT_HISTORY_TOKENS)
        with client.stream_chat(history) as stream:  # Ctrl-C inside closes the connection
            for delta in stream.deltas():             # or `for text in stream`: answer only
                show(delta.reasoning, delta.text)
        reply = stream.reply                          # text, reasoning, usage, finish_reason
        # reply.usage_error: the server's counts were impossible and were dropped
        # reply.cut_off: the model hit its length limit; stream.text: what arrived so far
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
    valid_request,
)
from opencode.chat.models import ChatDelta, ChatMessage, ChatReply, ChatUsage

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
    "ChatDelta",
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
    "valid_request",
]
