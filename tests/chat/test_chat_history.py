"""Which part of a long session goes to the model under a token budget."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from opencode.chat import DEFAULT_HISTORY_TOKENS, estimate_tokens, select_history

Message = dict[str, Any]


def msg(role: str, chars: int = 24, **extra: Any) -> Message:
    """A message costing exactly ceil(chars / 4) + 4 tokens (10 for the default)."""
    return {"role": role, "content": "x" * chars, **extra}


def call_turn(call_id: str = "call_1", **extra: Any) -> Message:
    calls = [{"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    return {"role": "assistant", "content": None, "tool_calls": calls, **extra}


def tool(call_id: str = "call_1", chars: int = 24) -> Message:
    return {"role": "tool", "tool_call_id": call_id, "content": "x" * chars}


def test_estimate_is_four_chars_per_token_plus_overhead() -> None:
    assert estimate_tokens({"role": "user", "content": "x" * 40}) == 14
    assert estimate_tokens({"role": "user", "content": "x" * 41}) == 15
    assert estimate_tokens({"role": "user", "content": ""}) == 4
    assert estimate_tokens({"role": "user", "content": [{"type": "text", "text": "x" * 8}]}) == 6
    assert estimate_tokens(call_turn()) > 4  # tool calls count even without content


def test_default_budget() -> None:
    assert DEFAULT_HISTORY_TOKENS == 8000


def test_empty_history() -> None:
    assert select_history([], 100) == []


def test_everything_fits() -> None:
    history = [msg("system"), msg("user"), msg("assistant"), msg("user")]
    assert select_history(history, 1000) == history


def test_keeps_the_most_recent_that_fit_in_order() -> None:
    history = [msg("user" if i % 2 == 0 else "assistant", content_id=i) for i in range(10)]

    selected = select_history(history, 30)  # three messages of 10 tokens

    assert selected == history[-3:]
    assert all(a is b for a, b in zip(selected, history[-3:], strict=True))


def test_stops_at_the_first_message_that_does_not_fit() -> None:
    history = [msg("user", 4), msg("assistant", 400), msg("user"), msg("assistant")]

    # The small oldest message would fit, but skipping over a gap would garble the story.
    assert select_history(history, 30) == history[-2:]


def test_system_messages_stay_at_the_front() -> None:
    history = [msg("system"), *(msg("user") for _ in range(6)), msg("assistant")]

    selected = select_history(history, 30)

    assert selected == [history[0], *history[-2:]]


def test_system_message_that_does_not_fit_is_dropped() -> None:
    history = [msg("system", 4000), msg("user"), msg("assistant")]
    assert select_history(history, 30) == history[1:]


def test_last_message_always_goes_even_over_budget() -> None:
    history = [msg("system"), msg("user"), msg("user", 10_000)]
    assert select_history(history, 0) == [history[-1]]
    assert select_history(history, -5) == [history[-1]]


def test_a_lone_system_message_is_still_the_last_message() -> None:
    history = [msg("system", 1000)]
    assert select_history(history, 1) == history


def test_tool_results_are_not_split_from_their_call() -> None:
    big_call = call_turn(content="y" * 400)  # too big for the budget; its results are not
    history = [msg("user"), big_call, tool(), tool(), msg("assistant")]

    selected = select_history(history, 40)

    assert selected == [history[-1]]  # never the tool results without their call


def test_call_and_results_travel_together_when_they_fit() -> None:
    history = [msg("user", 400), msg("user"), call_turn(), tool(), tool(), msg("assistant")]
    assert select_history(history, 100) == history[1:]


def test_last_message_as_tool_result_brings_its_call() -> None:
    history = [msg("user"), call_turn(), tool()]
    assert select_history(history, 0) == history[1:]


def test_leading_orphan_tool_result_is_dropped() -> None:
    history = [tool("call_0"), msg("user"), msg("assistant")]
    assert select_history(history, 1000) == history[1:]


def test_orphan_after_system_is_dropped_too() -> None:
    history = [msg("system"), tool("call_0"), tool("call_0"), msg("user")]
    assert select_history(history, 1000) == [history[0], history[-1]]


roles = st.sampled_from(["system", "user", "assistant", "call", "tool"])


def _unit_start(history: list[Message], position: int) -> int:
    """Where the unit holding ``position`` starts: back over tool results to their call."""
    start = position
    while start > 0 and history[start]["role"] == "tool":
        start -= 1
    return start if history[start].get("tool_calls") else position


@settings(max_examples=300)
@given(
    shape=st.lists(st.tuples(roles, st.integers(0, 200)), min_size=1, max_size=25),
    budget=st.integers(-10, 600),
)
def test_selection_invariants(shape: list[tuple[str, int]], budget: int) -> None:
    history = [call_turn() if role == "call" else msg(role, chars) for role, chars in shape]
    leading = 0
    while leading < len(history) - 1 and history[leading]["role"] == "system":
        leading += 1

    selected = select_history(history, budget)

    positions = [next(i for i, m in enumerate(history) if m is s) for s in selected]
    # An in-order subsequence ending with the last message...
    assert positions == sorted(positions)
    assert positions[-1] == len(history) - 1
    # ...made of some leading system messages and one contiguous recent stretch...
    tail = [p for p in positions if p >= leading]
    assert tail == list(range(tail[0], len(history)))
    # ...that does not start with a tool result (unless that is all there is)...
    assert history[tail[0]]["role"] != "tool" or len(tail) == 1
    # ...and never holds a tool result without the call it answers.
    for p in tail:
        assert _unit_start(history, p) in positions or _unit_start(history, p) == p
    # Within budget, unless the mandatory last unit alone is over it (then it goes alone).
    mandatory = list(range(_unit_start(history, len(history) - 1), len(history)))
    mandatory_cost = sum(estimate_tokens(history[p]) for p in mandatory)
    if mandatory_cost > max(budget, 0):
        assert positions == mandatory
    else:
        assert sum(estimate_tokens(m) for m in selected) <= max(budget, 0)
