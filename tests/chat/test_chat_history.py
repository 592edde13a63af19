"""What goes to the model: a request strict chat templates accept, within a token budget."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from opencode.chat import DEFAULT_HISTORY_TOKENS, estimate_tokens, select_history, valid_request

Message = dict[str, Any]


def msg(role: str, chars: int = 24, **extra: Any) -> Message:
    """A message costing exactly ceil(chars / 4) + 4 tokens (10 for the default)."""
    return {"role": role, "content": "x" * chars, **extra}


def said(role: str, text: str) -> Message:
    return {"role": role, "content": text}


def call(call_id: str = "call_1", name: str = "f") -> Message:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


def call_turn(*call_ids: str, content: str | None = None) -> Message:
    calls = [call(call_id) for call_id in call_ids or ("call_1",)]
    return {"role": "assistant", "content": content, "tool_calls": calls}


def tool(call_id: str = "call_1", chars: int = 24) -> Message:
    return {"role": "tool", "tool_call_id": call_id, "content": "x" * chars}


def problems(request: Sequence[Message]) -> list[str]:
    """Why a strict server would refuse ``request`` (empty when it would accept it).

    System messages only at the front, one per role; then a conversation that starts with
    the user, never has two user or two assistant messages in a row, gives every tool call
    its result right after it, and has no result without a call.
    """
    found: list[str] = []
    split = 0
    while split < len(request) and request[split]["role"] in ("system", "developer"):
        split += 1
    system_roles = [m["role"] for m in request[:split]]
    if len(set(system_roles)) != len(system_roles):
        found.append("two system messages")
    conversation = request[split:]
    if conversation and conversation[0]["role"] != "user":
        found.append(f"starts with {conversation[0]['role']}")
    pending: list[str] = []
    previous = None
    for message in conversation:
        role = message["role"]
        if role == "tool":
            if message.get("tool_call_id") not in pending:
                found.append("a tool result without its call")
            else:
                pending.remove(message["tool_call_id"])
        elif pending:
            found.append("a tool call without its result")
            pending = []
        if role not in ("user", "assistant", "tool"):
            found.append(f"role {role}")
        if role in ("user", "assistant") and role == previous:
            found.append(f"two {role} messages in a row")
        if role == "assistant":
            calls = message.get("tool_calls") or []
            pending = [c["id"] for c in calls]
            if not message.get("content") and not calls:
                found.append("an empty assistant message")
        previous = role
    if pending:
        found.append("a tool call without its result")
    return found


def user_text(messages: Sequence[Message]) -> str:
    return "\n\n".join(m["content"] for m in messages if m["role"] == "user" and m["content"])


# -- estimating --------------------------------------------------------------------------------


def test_estimate_is_four_chars_per_token_plus_overhead() -> None:
    assert estimate_tokens({"role": "user", "content": "x" * 40}) == 14
    assert estimate_tokens({"role": "user", "content": "x" * 41}) == 15
    assert estimate_tokens({"role": "user", "content": ""}) == 4
    assert estimate_tokens({"role": "user", "content": [{"type": "text", "text": "x" * 8}]}) == 6
    assert estimate_tokens(call_turn()) > 4  # tool calls count even without content


def test_default_budget() -> None:
    assert DEFAULT_HISTORY_TOKENS == 8000


# -- the request's shape -----------------------------------------------------------------------


def test_a_valid_conversation_is_sent_unchanged() -> None:
    history = [
        said("system", "be brief"),
        said("user", "hi"),
        call_turn("a", "b", content="checking"),
        tool("a"),
        tool("b"),
        said("assistant", "done"),
        said("user", "thanks"),
    ]
    assert valid_request(history) == history
    assert problems(history) == []


def test_user_messages_in_a_row_are_merged_with_a_blank_line() -> None:
    """A failed or interrupted turn leaves two questions in a row: both go, as one."""
    history = [said("user", "first"), said("user", "second"), said("user", "third")]
    assert valid_request(history) == [said("user", "first\n\nsecond\n\nthird")]


def test_an_answer_without_its_question_is_dropped() -> None:
    history = [said("system", "s"), said("assistant", "orphan"), tool("x"), said("user", "q")]
    assert valid_request(history) == [said("system", "s"), said("user", "q")]


def test_assistant_messages_in_a_row_are_merged_and_empty_ones_dropped() -> None:
    history = [
        said("user", "q"),
        said("assistant", "part one"),
        said("assistant", ""),
        {"role": "assistant", "content": None},
        said("assistant", "part two"),
    ]
    assert valid_request(history) == [said("user", "q"), said("assistant", "part one\n\npart two")]


def test_a_tool_call_nobody_answered_is_left_out() -> None:
    """opencode offers no tools: a server's tool call has no result and must not go back."""
    history = [
        said("user", "weather?"),
        call_turn("c1", content="Let me look."),
        said("user", "never mind"),
        call_turn("c2"),  # a pure tool-call answer: nothing left of it
        said("user", "hello?"),
    ]
    assert valid_request(history) == [
        said("user", "weather?"),
        said("assistant", "Let me look."),
        said("user", "never mind\n\nhello?"),
    ]


def test_only_answered_calls_are_kept_with_their_results() -> None:
    history = [
        said("user", "q"),
        call_turn("a", "b", "c"),
        tool("c"),
        tool("zz"),  # answers no call
        tool("a"),
        tool("a"),  # answered twice
        said("assistant", "done"),
    ]
    request = valid_request(history)
    assert request[1]["tool_calls"] == [call("a"), call("c")]
    assert request[1]["content"] is None
    assert [m.get("tool_call_id") for m in request[2:4]] == ["a", "c"]
    assert request[4] == said("assistant", "done")
    assert problems(request) == []


def test_a_tool_result_after_a_user_message_is_dropped() -> None:
    history = [said("user", "q"), call_turn("a"), said("user", "wait"), tool("a")]
    assert valid_request(history) == [said("user", "q\n\nwait")]


def test_system_messages_go_first_and_merge() -> None:
    history = [said("system", "one"), said("user", "q"), said("system", "two")]
    assert valid_request(history) == [said("system", "one\n\ntwo"), said("user", "q")]


def test_unknown_roles_are_dropped() -> None:
    history = [said("user", "q"), said("narrator", "meanwhile"), said("assistant", "a")]
    assert valid_request(history) == [said("user", "q"), said("assistant", "a")]


def test_multipart_contents_merge_into_one_list_of_parts() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:,"}}
    history = [said("user", "look"), {"role": "user", "content": [image]}]
    assert valid_request(history) == [
        {"role": "user", "content": [{"type": "text", "text": "look"}, image]}
    ]


def test_the_input_is_left_alone() -> None:
    history = [said("user", "a"), said("user", "b"), call_turn("x"), tool("y")]
    before = copy.deepcopy(history)
    valid_request(history)
    select_history(history, 10)
    assert history == before


# -- the budget --------------------------------------------------------------------------------


def test_empty_history() -> None:
    assert select_history([], 100) == []


def test_everything_fits() -> None:
    history = [msg("system"), msg("user"), msg("assistant"), msg("user")]
    assert select_history(history, 1000) == history


def test_keeps_the_most_recent_whole_turns_that_fit_in_order() -> None:
    history = [msg("user" if i % 2 == 0 else "assistant", content_id=i) for i in range(10)]

    assert select_history(history, 40) == history[-4:]  # two turns of 20 tokens
    assert select_history(history, 39) == history[-2:]  # never an answer without its question


def test_stops_at_the_first_turn_that_does_not_fit() -> None:
    history = [msg("user", 4), msg("assistant", 400), msg("user"), msg("assistant")]

    # The small oldest message would fit, but skipping over a gap would garble the story.
    assert select_history(history, 30) == history[-2:]


def test_system_messages_stay_at_the_front() -> None:
    history = [msg("system"), msg("user"), msg("assistant"), msg("user"), msg("assistant")]
    history.append(msg("user"))

    assert select_history(history, 40) == [history[0], *history[-3:]]


def test_system_message_that_does_not_fit_is_dropped() -> None:
    history = [msg("system", 4000), msg("user"), msg("assistant")]
    assert select_history(history, 30) == history[1:]


def test_the_newest_turn_always_goes_even_over_budget() -> None:
    history = [msg("system"), msg("user"), msg("user", 10_000)]
    merged = said("user", "x" * 24 + "\n\n" + "x" * 10_000)
    assert select_history(history, 0) == [merged]
    assert select_history(history, -5) == [merged]


def test_a_lone_system_message_is_still_sent() -> None:
    history = [msg("system", 1000)]
    assert select_history(history, 1) == history


def test_a_tool_call_travels_with_its_results_and_question() -> None:
    history = [msg("user", 400), msg("user"), call_turn(), tool(), msg("assistant"), msg("user")]

    selected = select_history(history, 10)

    assert selected == [history[-1]]
    assert select_history(history, 1000)[1:] == history[2:]


def test_a_turn_ending_in_tool_results_is_kept_whole() -> None:
    history = [msg("user"), call_turn(), tool()]
    assert select_history(history, 0) == history


def test_leading_orphan_tool_result_is_dropped() -> None:
    history = [tool("call_0"), msg("user"), msg("assistant")]
    assert select_history(history, 1000) == history[1:]


def test_orphan_after_system_is_dropped_too() -> None:
    history = [msg("system"), tool("call_0"), tool("call_0"), msg("user")]
    assert select_history(history, 1000) == [history[0], history[-1]]


# -- properties --------------------------------------------------------------------------------

CALL_IDS = ["a", "b", "c"]
texts = st.text(alphabet="xy \n", max_size=12)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    role = draw(st.sampled_from(["system", "user", "assistant", "call", "tool", "narrator"]))
    if role == "call":
        ids = draw(st.lists(st.sampled_from(CALL_IDS), min_size=1, max_size=3))
        content = draw(st.one_of(st.none(), texts))
        return {"role": "assistant", "content": content, "tool_calls": [call(i) for i in ids]}
    if role == "tool":
        return tool(draw(st.sampled_from([*CALL_IDS, "zz"])), draw(st.integers(0, 40)))
    content = draw(st.one_of(st.none(), texts)) if role == "assistant" else draw(texts)
    return {"role": role, "content": content}


histories = st.lists(messages(), max_size=25)


@settings(max_examples=500)
@given(history=histories)
def test_any_sequence_of_roles_becomes_a_valid_request(history: list[Message]) -> None:
    request = valid_request(history)

    assert problems(request) == []
    # Every word the user typed goes, in order; only blank lines may join them.
    assert user_text(request) == user_text(history)
    assert valid_request(request) == request  # nothing left to repair


@settings(max_examples=300)
@given(history=histories, budget=st.integers(-10, 400))
def test_trimming_keeps_the_request_valid(history: list[Message], budget: int) -> None:
    full = valid_request(history)
    selected = select_history(history, budget)

    assert problems(selected) == []
    system = [m for m in full if m["role"] == "system"]
    conversation = full[len(system) :]
    kept_system = [m for m in selected if m["role"] == "system"]
    kept = selected[len(kept_system) :]
    assert kept_system in ([], system)
    # A suffix of the conversation that starts at a question (only the budget drops text)...
    assert kept == conversation[len(conversation) - len(kept) :]
    if not conversation:
        assert selected == system  # nothing to trim but instructions: they go as they are
        return
    assert kept[0]["role"] == "user"
    newest = conversation[max(i for i, m in enumerate(conversation) if m["role"] == "user") :]
    assert len(kept) >= len(newest)  # the newest turn always goes
    # ...within budget, unless the newest turn alone is over it (then it goes alone).
    if sum(estimate_tokens(m) for m in selected) > max(budget, 0):
        assert selected == newest
