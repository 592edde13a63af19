"""Typed field readers for data loaded from disk.

Every check names the offending field, so a corrupt file produces a message a person can act
on, and never a bare ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from opencode.sessions.errors import InvalidSessionValueError, SessionCorruptedError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, Final

# Counts (tokens, sequence numbers) above this are refused wherever they enter: the sum of
# two of them still fits a signed 64-bit integer (SQLite, orjson), and no real count is near.
MAX_COUNT: Final = 2**53 - 1
# Free-form JSON values (metadata, tool arguments and results, tool calls) may nest this
# deep; one limit for reading and writing, so whatever loads can be saved again.
MAX_NESTING: Final = 64


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


def format_timestamp(value: datetime) -> str:
    """ISO-8601 in UTC, e.g. ``2024-01-15T10:30:00+00:00``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


def parse_timestamp(text: str) -> datetime:
    """Parse ISO-8601 (``Z`` accepted on every Python); naive values are taken as UTC."""
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is timezone.utc:
        return parsed  # the form we write: nothing to convert
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def corrupt(where: str, expected: str, value: object) -> SessionCorruptedError:
    """A corruption error naming the field, what it should be and what it is."""
    return SessionCorruptedError(f"field '{where}': expected {expected}, got {_type_name(value)}")


def as_object(value: object, where: str) -> Mapping[str, Any]:
    """``value`` as a JSON object."""
    if not isinstance(value, Mapping):
        raise corrupt(where, "an object", value)
    return value


def as_list(value: object, where: str) -> list[Any]:
    """``value`` as a JSON array."""
    if not isinstance(value, list):
        raise corrupt(where, "a list", value)
    return value


def req_str(data: Mapping[str, Any], key: str, where: str) -> str:
    """A required string field."""
    if key not in data:
        raise SessionCorruptedError(f"field '{where}{key}' is missing")
    value = data[key]
    if not isinstance(value, str):
        raise corrupt(where + key, "a string", value)
    return value


def opt_str(
    data: Mapping[str, Any], key: str, where: str, default: str | None = None
) -> str | None:
    """An optional string field (absent or null gives ``default``)."""
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise corrupt(where + key, "a string", value)
    return value


def str_or(data: Mapping[str, Any], key: str, where: str, default: str) -> str:
    """An optional string field that always yields a string."""
    value = opt_str(data, key, where, default)
    return default if value is None else value


def opt_int(
    data: Mapping[str, Any], key: str, where: str, default: int = 0, maximum: int = MAX_COUNT
) -> int:
    """An optional integer field from 0 to ``maximum`` (booleans are not integers here)."""
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise corrupt(where + key, "a whole number", value)
    if value < 0:
        raise SessionCorruptedError(f"field '{where}{key}': must not be negative")
    if value > maximum:
        raise SessionCorruptedError(f"field '{where}{key}': {value} is out of range")
    return value


def opt_number(data: Mapping[str, Any], key: str, where: str, default: float = 0.0) -> float:
    """An optional number field."""
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise corrupt(where + key, "a number", value)
    try:
        return float(value)
    except OverflowError:
        raise SessionCorruptedError(f"field '{where}{key}': number out of range") from None


def opt_bool(data: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    """An optional boolean field."""
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise corrupt(where + key, "true or false", value)
    return value


def timestamp(
    data: Mapping[str, Any], key: str, where: str, default: datetime | None = None
) -> datetime:
    """A timestamp field; required unless ``default`` is given."""
    if key not in data or data[key] is None:
        if default is not None:
            return default
        raise SessionCorruptedError(f"field '{where}{key}' is missing")
    value = data[key]
    if not isinstance(value, str):
        raise corrupt(where + key, "an ISO-8601 timestamp", value)
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError):
        raise SessionCorruptedError(
            f"field '{where}{key}': {value[:40]!r} is not an ISO-8601 timestamp"
        ) from None


def str_list(data: Mapping[str, Any], key: str, where: str) -> list[str]:
    """An optional list of strings."""
    value = data.get(key)
    if value is None:
        return []
    items = as_list(value, where + key)
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise corrupt(f"{where}{key}[{position}]", "a string", item)
    return list(items)


def opt_object(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    """An optional JSON object (absent or null gives an empty dict)."""
    value = data.get(key)
    if value is None:
        return {}
    return dict(as_object(value, where + key))


def nesting_depth(value: object, stop_after: int = MAX_NESTING) -> int:
    """How deeply lists and objects nest in ``value`` (a scalar is 0, ``{}`` is 1).

    Iterative, so a hostile value cannot exhaust the stack; stops counting past
    ``stop_after``.
    """
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > stop_after:
            break
        stack.extend(
            (child, depth + 1) for child in children if isinstance(child, (Mapping, list, tuple))
        )
    return deepest


def nests_deeper_than(value: object, limit: int = MAX_NESTING) -> bool:
    """Whether lists and objects nest more than ``limit`` levels in ``value``: the same
    answer as ``nesting_depth(value) > limit``, several times faster for the small values
    of a message (loading a long session checks tens of thousands). Recursion stops at
    ``limit`` levels, so a hostile value cannot exhaust the stack."""
    if type(value) is dict:
        children: Any = value.values()
    elif type(value) is list:
        children = value
    elif isinstance(value, Mapping):
        children = value.values()
    elif isinstance(value, (list, tuple)):
        children = value
    else:
        return False
    if limit <= 0:
        return True
    for child in children:
        if type(child) in _SCALARS:
            continue
        if nests_deeper_than(child, limit - 1):
            return True
    return False


_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def check_nesting_on_load(value: object, where: str) -> None:
    """``SessionCorruptedError`` when a stored value nests deeper than ``MAX_NESTING``."""
    if nests_deeper_than(value):
        raise SessionCorruptedError(f"field '{where}': nested more than {MAX_NESTING} levels deep")


def check_nesting_on_write(value: object, what: str) -> None:
    """``InvalidSessionValueError`` when a value to store nests deeper than ``MAX_NESTING``."""
    if nests_deeper_than(value):
        raise InvalidSessionValueError(
            f"{what} is nested more than {MAX_NESTING} levels deep; it cannot be stored"
        )


def check_count(value: object, what: str) -> int:
    """A count to store: a whole number from 0 to ``MAX_COUNT`` (not a bool, not a float)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise InvalidSessionValueError(
            f"{what} must be a whole number from 0 to {MAX_COUNT}, got {_shown(value)}"
        )
    return value


def _shown(value: object) -> str:
    """A short description of a bad value (``str`` of a huge int would itself fail)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a {value.bit_length()}-bit number"
    return repr(value)[:40]
