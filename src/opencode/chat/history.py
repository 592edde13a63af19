"""Turn a session's messages into a request every chat template accepts, within a token budget.

Strict chat templates (Gemma, Mistral, Llama 2 on llama.cpp and vLLM) refuse a conversation
whose roles do not alternate, and OpenAI refuses a tool call without its results. A session
can hold both: a failed or interrupted turn leaves two user messages in a row, a server may
answer with tool calls nobody ran. ``valid_request`` repairs the shape without losing what
the user typed; ``select_history`` then keeps the newest whole turns that fit the budget, so
trimming can never separate an answer from its question.

Token counts are estimated, not measured: a real tokenizer is model-specific and heavy to
import, and the budget only needs to be roughly right. The estimate is one token per
``CHARS_PER_TOKEN`` characters of content (plus tool-call names and arguments), rounded up,
plus ``MESSAGE_OVERHEAD_TOKENS`` per message for the role and framing. For English text and
code this lands within about 25% of OpenAI-style tokenizers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

DEFAULT_HISTORY_TOKENS: Final = 8000
CHARS_PER_TOKEN: Final = 4
MESSAGE_OVERHEAD_TOKENS: Final = 4
MERGE_SEPARATOR: Final = "\n\n"

SYSTEM_ROLES: Final = frozenset({"system", "developer"})

Message = dict[str, Any]


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


# -- the request's shape ------------------------------------------------------------------------


def valid_request(messages: Sequence[Mapping[str, Any]]) -> list[Message]:
    """``messages`` reshaped so that strict servers accept them; the input is not changed.

    * system (and developer) messages go first, consecutive ones of a role merged;
    * the conversation starts with a user message: assistant and tool messages before the
      first one are dropped;
    * consecutive user messages are merged (joined by a blank line), so no text is lost;
      so are consecutive assistant messages, and an empty assistant message is dropped;
    * a tool call is kept only with its result, and a result only right after its call;
      an assistant message left with neither text nor calls is dropped;
    * messages with any other role are dropped.
    """
    system = _merge_runs([dict(m) for m in messages if m.get("role") in SYSTEM_ROLES])
    conversation: list[Message] = []
    for unit in _paired_units(messages):
        head = unit[0]
        if head["role"] == "user":
            if conversation and conversation[-1]["role"] == "user":
                conversation[-1] = _merged(conversation[-1], head)
            else:
                conversation.append(head)
        elif conversation:  # an assistant turn, with its tool results if it made calls
            last = conversation[-1]
            if last["role"] == "assistant" and not last.get("tool_calls"):
                conversation[-1] = _merged(last, head)
                conversation.extend(unit[1:])
            else:
                conversation.extend(unit)
    return system + conversation


def _paired_units(messages: Sequence[Mapping[str, Any]]) -> list[list[Message]]:
    """User messages and assistant turns (a call with its results), orphans removed."""
    units: list[list[Message]] = []
    position = 0
    while position < len(messages):
        message = messages[position]
        position += 1
        role = message.get("role")
        if role == "user":
            units.append([dict(message)])
        elif role == "assistant":
            results: list[Mapping[str, Any]] = []
            while position < len(messages) and messages[position].get("role") == "tool":
                results.append(messages[position])
                position += 1
            unit = _answered_calls(message, results)
            if unit:
                units.append(unit)
        # A tool result not right after its call, or an unknown role: the server refuses it.
    return units


def _call_id(call: object) -> str | None:
    if isinstance(call, Mapping):
        call_id = call.get("id")
        if isinstance(call_id, str) and call_id:
            return call_id
    return None


def _answered_calls(
    message: Mapping[str, Any], results: Sequence[Mapping[str, Any]]
) -> list[Message]:
    """The assistant message keeping only calls that have a result, then those results."""
    turn = dict(message)
    calls = message.get("tool_calls")
    turn.pop("tool_calls", None)
    if turn.get("content") is None:
        turn["content"] = ""
    by_id: dict[str, Mapping[str, Any]] = {}
    for result in results:
        call_id = result.get("tool_call_id")
        if isinstance(call_id, str):
            by_id.setdefault(call_id, result)
    kept_calls: list[Any] = []
    kept_results: list[Message] = []
    for call in calls if isinstance(calls, list) else []:
        call_id = _call_id(call)
        if call_id is not None and call_id in by_id:
            kept_calls.append(call)
            kept_results.append(dict(by_id.pop(call_id)))
    if kept_calls:
        turn["tool_calls"] = kept_calls
        if not turn["content"]:
            turn["content"] = None  # the API wants null, not "", beside tool calls
        return [turn, *kept_results]
    return [turn] if _has_text(turn.get("content")) else []


def _has_text(content: object) -> bool:
    """Content worth sending: non-empty text or a non-empty list of parts."""
    return bool(content)


def _merge_runs(messages: list[Message]) -> list[Message]:
    merged: list[Message] = []
    for message in messages:
        if merged and merged[-1].get("role") == message.get("role"):
            merged[-1] = _merged(merged[-1], message)
        else:
            merged.append(message)
    return merged


def _merged(first: Mapping[str, Any], second: Mapping[str, Any]) -> Message:
    """``first`` with ``second``'s content appended (and its tool calls, if any)."""
    message = dict(first)
    message["content"] = _joined(first.get("content"), second.get("content"))
    calls = second.get("tool_calls")
    if calls:
        message["tool_calls"] = calls
        if not _has_text(message["content"]):
            message["content"] = None
    return message


def _joined(first: object, second: object) -> object:
    """Two contents as one: text joined by a blank line, parts lists concatenated."""
    if not _has_text(first):
        return second if second is not None else ""
    if not _has_text(second):
        return first
    if isinstance(first, str) and isinstance(second, str):
        return first + MERGE_SEPARATOR + second
    return [*_parts(first), *_parts(second)]


def _parts(content: object) -> list[Any]:
    if isinstance(content, list):
        return list(content)
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    return [{"type": "text", "text": text}]


# -- the budget ---------------------------------------------------------------------------------


def _turns(conversation: list[Message]) -> list[list[Message]]:
    """Split a valid conversation at each user message: a question with all its answers."""
    turns: list[list[Message]] = []
    for message in conversation:
        if message["role"] == "user" or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    return turns


def _cost(messages: Sequence[Mapping[str, Any]]) -> int:
    return sum(estimate_tokens(message) for message in messages)


def select_history(messages: Sequence[Mapping[str, Any]], budget_tokens: int) -> list[Message]:
    """The request for the next answer: ``valid_request(messages)`` trimmed to the budget.

    In order of priority: the newest turn (the last user message and anything after it)
    always goes, even over budget; then the system messages, if they fit; then earlier
    turns, newest first, until the next one would not fit. Trimming works in whole turns,
    so the result is as valid as ``valid_request``'s: an answer never goes without its
    question, nor a tool call without its results.
    """
    request = valid_request(messages)
    split = 0
    while split < len(request) and request[split]["role"] in SYSTEM_ROLES:
        split += 1
    system, turns = request[:split], _turns(request[split:])
    if not turns:
        return system
    budget = max(budget_tokens, 0)
    kept = [turns.pop()]
    used = _cost(kept[0])

    kept_system: list[Message] = []
    for message in system:
        cost = estimate_tokens(message)
        if used + cost <= budget:
            kept_system.append(message)
            used += cost

    for turn in reversed(turns):
        cost = _cost(turn)
        if used + cost > budget:
            break
        kept.append(turn)
        used += cost
    return kept_system + [message for turn in reversed(kept) for message in turn]
