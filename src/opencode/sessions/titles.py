"""Titles and tags: user text that ends up in file names' neighbours, tables and prompts."""

from __future__ import annotations

import re
import unicodedata

from opencode.sessions.errors import InvalidSessionValueError
from opencode.sessions.models import Session
from opencode.sessions.validate import utc_now

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final

MAX_GENERATED_TITLE: Final = 50
MAX_TITLE: Final = 200
MAX_TAG: Final = 64
ELLIPSIS: Final = "..."
_WHITESPACE: Final = re.compile(r"\s+")


def _without_controls(text: str) -> str:
    """Replace control and format characters (escape sequences, NUL, bidi overrides) by spaces."""
    return "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)


def storable_text(text: str) -> str:
    """``text`` with undecodable bytes (lone surrogates) replaced by U+FFFD.

    Terminal input and folder names decoded with ``surrogateescape`` carry them; UTF-8 files
    cannot, so each such byte becomes one replacement character, as editors show it.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "replace")
    return text


def clean_title(title: str) -> str:
    """One line of printable text, whitespace collapsed, at most ``MAX_TITLE`` characters."""
    if not isinstance(title, str):
        raise InvalidSessionValueError(f"a title must be text, got {type(title).__name__}")
    text = _WHITESPACE.sub(" ", _without_controls(title)).strip()
    if len(text) > MAX_TITLE:
        raise InvalidSessionValueError(f"title is {len(text)} characters long; at most {MAX_TITLE}")
    return text


def clean_tag(tag: str) -> str:
    """A tag is one printable word: no spaces, no control characters, at most 64 characters."""
    if not isinstance(tag, str):
        raise InvalidSessionValueError(f"a tag must be text, got {type(tag).__name__}")
    text = tag.strip()
    if not text:
        raise InvalidSessionValueError("a tag cannot be empty")
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in text):
        raise InvalidSessionValueError(
            f"tag {text[:40]!r} must not contain spaces or control characters"
        )
    if len(text) > MAX_TAG:
        raise InvalidSessionValueError(f"tag is {len(text)} characters long; at most {MAX_TAG}")
    return text


def clean_tags(tags: list[str] | tuple[str, ...] | None) -> list[str]:
    """Cleaned tags in their first-seen order, without duplicates."""
    result: list[str] = []
    for tag in tags or ():
        cleaned = clean_tag(tag)
        if cleaned not in result:
            result.append(cleaned)
    return result


def generate_title(session: Session) -> str:
    """A title from the first user message: at most 50 characters, cut at a word boundary.

    Without a user message the title says when the session started.
    """
    for message in session.messages:
        if message.role == "user":
            text = _WHITESPACE.sub(" ", _without_controls(message.content)).strip()
            if text:
                return shorten(text, MAX_GENERATED_TITLE)
    started = session.created_at or utc_now()
    return f"Session {started:%Y-%m-%d %H:%M}"


def shorten(text: str, width: int) -> str:
    """``text`` if it fits in ``width``, else cut at the last word boundary plus an ellipsis."""
    if len(text) <= width:
        return text
    room = width - len(ELLIPSIS)
    cut = text[: room + 1]
    boundary = cut.rfind(" ")
    head = cut[:boundary] if boundary > room // 2 else text[:room]
    return head.rstrip(" ,.;:-") + ELLIPSIS
