"""Choose which part of a long session to send: the newest messages that fit a token budget.

Token counts are estimated, not measured: a real tokenizer is model-specific and heavy to
import, and the budget only needs to be roughly right. The estimate is one token per
``CHARS_PER_TOKEN`` characters of content (plus tool-call names and arguments), rounded up,
plus ``MESSAGE_OVERHEAD_TOKENS`` per message for the role and framing. For English text and
code this lands within about 25% of OpenAI-style tokenizers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar

DEFAULT_HISTORY_TOKENS: Final = 8000
CHARS_PER_TOKEN: Final = 4
MESSAGE_OVERHEAD_TOKENS: Final = 4

_SYSTEM_ROLES: Final = frozenset({"system", "developer"})

MessageT = TypeVar("MessageT", bound=Mapping[str, Any])


def _content_chars(content: object) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        # Multi-part content: count the text parts; other parts (images) count as their JSON.
        total = 0
        for part in content:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                total += len(part["text"])
            else:
                total += len(json.dumps(part, default=str))
        return total
    return len(json.dumps(content, default=str))


def estimate_tokens(message: Mapping[str, Any]) -> int:
    """Rough token cost of one message (see the module docstring for the heuristic)."""
    chars = _content_chars(message.get("content"))
    for key in ("name", "tool_call_id"):
        value = message.get(key)
        if isinstance(value, str):
            chars += len(value)
    tool_calls = message.get("tool_calls")
    if tool_calls:
        chars += len(json.dumps(tool_calls, default=str))
    return -(-chars // CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS


def _is_tool_call_turn(message: Mapping[str, Any]) -> bool:
    return message.get("role") == "assistant" and bool(message.get("tool_calls"))


def _group(messages: Sequence[MessageT]) -> list[list[MessageT]]:
    """Split into units that must travel together: a tool-call turn plus its tool results."""
    units: list[list[MessageT]] = []
    for message in messages:
        if message.get("role") == "tool" and units and _is_tool_call_turn(units[-1][0]):
            units[-1].append(message)
        else:
            units.append([message])
    return units


def select_history(messages: Sequence[MessageT], budget_tokens: int) -> list[MessageT]:
    """The messages to send for the next request, oldest first.

    In order of priority: the last message always goes (with the tool-call turn it answers,
    if it is a tool result), even over budget; then the leading system messages, if they fit;
    then the most recent earlier messages, newest first, until the next one would not fit.
    An assistant ``tool_calls`` message is never separated from its tool results, and a
    ``tool`` message left at the front without its call is dropped, since APIs reject it.
    """
    if not messages:
        return []
    budget = max(budget_tokens, 0)
    split = 0
    while split < len(messages) - 1 and messages[split].get("role") in _SYSTEM_ROLES:
        split += 1
    system, rest = list(messages[:split]), messages[split:]

    units = _group(rest)
    newest = units.pop()
    used = sum(estimate_tokens(message) for message in newest)

    kept_system: list[MessageT] = []
    for message in system:
        cost = estimate_tokens(message)
        if used + cost <= budget:
            kept_system.append(message)
            used += cost

    kept: list[list[MessageT]] = [newest]
    for unit in reversed(units):
        cost = sum(estimate_tokens(message) for message in unit)
        if used + cost > budget:
            break
        kept.append(unit)
        used += cost

    tail = [message for unit in reversed(kept) for message in unit]
    while len(tail) > 1 and tail[0].get("role") == "tool":
        tail.pop(0)
    return kept_system + tail
