"""Titles and tags: user text cleaned before it reaches files, tables and prompts."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from typing import Any

import pytest

from opencode.sessions import InvalidSessionValueError, Session, SessionMessage
from opencode.sessions.titles import (
    MAX_GENERATED_TITLE,
    MAX_TAG,
    MAX_TITLE,
    clean_tag,
    clean_tags,
    clean_title,
    generate_title,
    shorten,
)


def has_controls(text: str) -> bool:
    return any(unicodedata.category(ch)[0] == "C" for ch in text)


# -- clean_title ------------------------------------------------------------------------------


def test_clean_title_keeps_ordinary_text() -> None:
    assert clean_title("Refactoring API client") == "Refactoring API client"
    assert clean_title("Grüße — 日本語 🚀") == "Grüße — 日本語 🚀"
    assert clean_title("") == ""


def test_clean_title_collapses_whitespace_and_strips() -> None:
    assert clean_title("  a \t\n b\r\n\r\nc   ") == "a b c"
    assert clean_title("\u00a0wide\u2003space\u3000") == "wide space"


@pytest.mark.parametrize(
    "raw",
    [
        "\x1b[31mred\x1b[0m title",
        "bell\x07 title",
        "nul\x00 title",
        "bidi \u202eevil\u202c title",
        "zero\u200bwidth title",
        "osc \x1b]0;pwned\x07 title",
        "c1 \x9b31m title",
        "del\x7f title",
    ],
)
def test_clean_title_removes_control_and_escape_characters(raw: str) -> None:
    cleaned = clean_title(raw)
    assert not has_controls(cleaned)
    assert "\x1b" not in cleaned
    assert "  " not in cleaned
    assert cleaned == cleaned.strip()
    assert cleaned.endswith(" title")
    assert clean_title(cleaned) == cleaned  # idempotent


def test_clean_title_turns_a_control_between_words_into_a_space() -> None:
    assert clean_title("one\x00two\x1bthree") == "one two three"


def test_clean_title_length_limit_applies_after_cleaning() -> None:
    assert clean_title("x" * MAX_TITLE) == "x" * MAX_TITLE
    assert clean_title("  " + "x" * MAX_TITLE + "\n\n") == "x" * MAX_TITLE
    assert clean_title("a    " * 50) == ("a " * 50).strip()  # 250 raw, 99 cleaned
    with pytest.raises(InvalidSessionValueError, match="200"):
        clean_title("x" * (MAX_TITLE + 1))


@pytest.mark.parametrize("value", [None, 3, b"bytes", ["a"]])
def test_clean_title_rejects_non_text(value: Any) -> None:
    with pytest.raises(InvalidSessionValueError, match="text"):
        clean_title(value)


def test_invalid_value_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        clean_title("x" * 500)


# -- clean_tag --------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["python", "api-v2", "a.b_c", "日本", "x" * MAX_TAG, "[red]"])
def test_clean_tag_accepts_one_printable_word(tag: str) -> None:
    assert clean_tag(tag) == tag


def test_clean_tag_strips_surrounding_whitespace() -> None:
    assert clean_tag("  python\n") == "python"


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("two words", "spaces"),
        ("tab\tbed", "spaces"),
        ("esc\x1b[31m", "control"),
        ("nul\x00", "control"),
        ("bidi\u202e", "control"),
        ("x" * (MAX_TAG + 1), "64"),
    ],
)
def test_clean_tag_rejects(tag: str, reason: str) -> None:
    with pytest.raises(InvalidSessionValueError, match=reason):
        clean_tag(tag)


@pytest.mark.parametrize("value", [None, 1, ["a"]])
def test_clean_tag_rejects_non_text(value: Any) -> None:
    with pytest.raises(InvalidSessionValueError, match="text"):
        clean_tag(value)


def test_clean_tags_dedupes_in_first_seen_order() -> None:
    assert clean_tags([" b", "a", "b", "a ", "c"]) == ["b", "a", "c"]
    assert clean_tags(("x",)) == ["x"]
    assert clean_tags(None) == []
    assert clean_tags([]) == []
    with pytest.raises(InvalidSessionValueError):
        clean_tags(["ok", "not ok"])


# -- shorten / generate_title -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("short one", "short one"),
        ("x" * 50, "x" * 50),
        (
            "Help me refactor the API client so that it supports retries and timeouts",
            "Help me refactor the API client so that it...",
        ),
        (
            "Please look at this: a very, very long sentence, with commas, everywhere ok",
            "Please look at this: a very, very long...",
        ),
        ("x" * 60, "x" * 47 + "..."),
        ("tiny " + "y" * 60, "tiny " + "y" * 42 + "..."),  # no boundary past the middle
    ],
)
def test_shorten(text: str, expected: str) -> None:
    assert shorten(text, 50) == expected
    assert len(shorten(text, 50)) <= 50


def _session_with(*messages: tuple[str, str]) -> Session:
    session = Session(created_at=datetime(2024, 1, 15, 10, 30, 59, tzinfo=timezone.utc))
    for role, content in messages:
        session.add_message(SessionMessage(role=role, content=content))
    return session


def test_generate_title_uses_the_first_user_message() -> None:
    session = _session_with(
        ("system", "You are a helpful assistant."),
        ("assistant", "Hi there"),
        ("user", "Fix the parser"),
        ("user", "And the lexer"),
    )
    assert generate_title(session) == "Fix the parser"


def test_generate_title_cuts_long_messages_at_a_word_boundary() -> None:
    text = "Help me refactor the API client so that it supports retries and timeouts"
    title = generate_title(_session_with(("user", text)))
    assert title == "Help me refactor the API client so that it..."
    assert len(title) <= MAX_GENERATED_TITLE
    assert text.startswith(title.removesuffix("..."))


def test_generate_title_cleans_the_message_text() -> None:
    title = generate_title(_session_with(("user", "\x1b[1m  fix\n\n the\tbug \x00")))
    assert not has_controls(title)
    assert title.endswith("fix the bug")
    assert "  " not in title


def test_generate_title_skips_blank_user_messages() -> None:
    session = _session_with(("user", "  \n\x00 "), ("user", "Real question"))
    assert generate_title(session) == "Real question"


def test_generate_title_without_user_message_uses_the_start_time() -> None:
    assert generate_title(_session_with()) == "Session 2024-01-15 10:30"
    assert generate_title(_session_with(("assistant", "hello"))) == "Session 2024-01-15 10:30"
