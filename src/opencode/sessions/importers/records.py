"""Reading other tools' JSON and JSON Lines: typed field access that names the bad line.

Foreign files are not ours to trust: every value is checked for its type as it is read,
and a mismatch is one ``ImportFormatError`` saying where (``line 12: field 'message' ...``),
never a ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

import orjson

from opencode.sessions.importers.errors import ImportFormatError
from opencode.sessions.validate import MAX_COUNT, parse_timestamp

_BOM: Final = b"\xef\xbb\xbf"
# Epoch milliseconds of 9999-12-31: anything larger is not a real time.
_MAX_EPOCH_MS: Final = 253_402_300_799_000


def parse_json(data: bytes, label: str, what: str) -> Any:
    """One JSON document; ``what`` names the format expected, for the error."""
    try:
        return orjson.loads(data.removeprefix(_BOM))
    except orjson.JSONDecodeError as exc:
        raise ImportFormatError(f"not {what} (not valid JSON: {exc})", label) from None


@dataclass(frozen=True)
class Record:
    """One line of a JSON Lines file: its 1-based number and its object."""

    line: int
    data: Mapping[str, Any]

    @property
    def where(self) -> str:
        return f"line {self.line}"


@dataclass
class JsonLines:
    """The objects of a JSON Lines file; ``partial_tail`` when its last line was cut off
    (the tool was still writing it) and was left out."""

    records: list[Record]
    partial_tail: bool = False


def parse_json_lines(data: bytes, label: str, what: str) -> JsonLines:
    """Every non-blank line as a JSON object. A line that is not one is an error, except
    an undecodable last line without a newline: that is a write in progress, skipped.
    ``what`` names the format (``a Codex rollout``) for an error on the very first line."""
    lines = data.removeprefix(_BOM).split(b"\n")
    result = JsonLines([])
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if number == len(lines) and not data.endswith(b"\n") and result.records:
                result.partial_tail = True
                break
            problem = f"line {number} is not valid JSON ({exc})"
            raise ImportFormatError(_first(problem, what, result), label) from None
        if not isinstance(value, dict):
            problem = f"line {number} is not a JSON object"
            raise ImportFormatError(_first(problem, what, result), label)
        result.records.append(Record(number, value))
    return result


def _first(problem: str, what: str, result: JsonLines) -> str:
    """On the first line, the likelier story is another format altogether."""
    return problem if result.records else f"not {what} ({problem})"


def first_lines(data: bytes, count: int) -> Iterator[Any]:
    """The first ``count`` non-blank lines that parse as JSON (for format detection)."""
    seen = 0
    for raw in data.removeprefix(_BOM).split(b"\n"):
        if seen >= count:
            return
        if not raw.strip():
            continue
        seen += 1
        try:
            yield orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue


# -- fields -----------------------------------------------------------------------------------


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _wrong(where: str, key: str, expected: str, value: object) -> ImportFormatError:
    return ImportFormatError(f"{where}: field '{key}' should be {expected}, not {_kind(value)}")


def text(data: Mapping[str, Any], key: str, where: str) -> str | None:
    """An optional string field."""
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _wrong(where, key, "text", value)


def obj(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    """An optional object field."""
    value = data.get(key)
    if value is None or isinstance(value, Mapping):
        return value
    raise _wrong(where, key, "an object", value)


def array(data: Mapping[str, Any], key: str, where: str) -> list[Any] | None:
    """An optional list field."""
    value = data.get(key)
    if value is None or isinstance(value, list):
        return value
    raise _wrong(where, key, "a list", value)


def flag(data: Mapping[str, Any], key: str, where: str) -> bool:
    """An optional true/false field (absent is false)."""
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    raise _wrong(where, key, "true or false", value)


def count(data: Mapping[str, Any], key: str, where: str) -> int:
    """An optional token count: a whole number from 0 to ``MAX_COUNT`` (absent is 0)."""
    value = data.get(key)
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(where, key, "a whole number", value)
    if not 0 <= value <= MAX_COUNT:
        raise ImportFormatError(f"{where}: field '{key}' is out of range ({value})")
    return value


def iso_time(data: Mapping[str, Any], key: str, where: str) -> datetime | None:
    """An optional ISO-8601 timestamp field (``Z`` or an offset; naive means UTC)."""
    value = text(data, key, where)
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError):
        raise ImportFormatError(
            f"{where}: field '{key}' is not a timestamp ({value[:40]!r})"
        ) from None


def epoch_ms(data: Mapping[str, Any], key: str, where: str) -> datetime | None:
    """An optional time given as milliseconds since 1970 (JavaScript's ``Date.now()``)."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _wrong(where, key, "a number of milliseconds", value)
    if not 0 <= value <= _MAX_EPOCH_MS:
        raise ImportFormatError(f"{where}: field '{key}' is not a time ({value})")
    return datetime.fromtimestamp(value / 1000, timezone.utc)
