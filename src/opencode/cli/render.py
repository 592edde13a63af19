"""The building blocks of what people read: short ids, titles, ages, sizes, JSON, tables.

Every piece of user or model text goes through ``printable`` and into a ``rich.text.Text``,
so neither Rich markup nor terminal escape sequences in a title or a message take effect.
Rich, humanize and ``json`` are imported inside the functions that use them: a search's
start-up is a few milliseconds from its target.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone

from opencode.cli.console import printable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, Final

    from rich.table import Table
    from rich.text import Text

SHORT_ID_LENGTH: Final = 8
UNTITLED: Final = "(untitled)"
WIDE_TABLE_COLUMNS: Final = 100

# The spec's table (section 10): an outer frame, column rules, one rule under the header.
_SPEC_BOX: Final = "┌──┐\n│ ││\n├──┤\n│ ││\n├──┤\n├──┤\n│ ││\n└──┘\n"


def utc_now() -> datetime:
    """The current time (aware, UTC)."""
    return datetime.now(timezone.utc)


def short_id(session_id: str) -> str:
    """The first eight characters of an id: enough to tell sessions apart and to type."""
    return session_id[:SHORT_ID_LENGTH]


def title_of(title: str) -> str:
    """A title fit for one line of a terminal; ``(untitled)`` when there is none."""
    return printable(title) if title else UNTITLED


def ago(when: datetime, now: datetime | None = None) -> str:
    """``2 hours ago``, ``3 days from now``: how long since ``when``, in the words of
    ``humanize.naturaltime`` (a test holds them equal), without importing it."""
    delta = (now or utc_now()) - when
    words = natural_delta(abs(delta))
    if words == "a moment":
        return "now"
    return f"{words} from now" if delta < timedelta(0) else f"{words} ago"


def natural_delta(delta: timedelta) -> str:
    """A positive length of time, rounded to the unit that makes sense (months of 30.5
    days between years): ``a moment``, ``5 minutes``, ``an hour``, ``1 year, 2 months``."""
    years, days = divmod(delta.days, 365)
    months = round(days / 30.5)
    if years == 0 and days == 0:
        return _within_a_day(delta.seconds)
    if years == 0:
        if days == 1:
            return "a day"
        if months == 0:
            return _count(days, "day")
        return "a month" if months == 1 else "a year" if months == 12 else _count(months, "month")
    if years == 1:
        if months == 0:
            return "a year" if days == 0 else f"1 year, {_count(days, 'day')}"
        if months == 12:
            return "2 years"
        return "1 year, 1 month" if months == 1 else f"1 year, {_count(months, 'month')}"
    return _count(round(delta.days / 365), "year")


def _within_a_day(seconds: int) -> str:
    if seconds == 0:
        return "a moment"
    if seconds == 1:
        return "a second"
    if seconds < 60:
        return _count(seconds, "second")
    if seconds < 3600:
        minutes = round(seconds / 60)
        return (
            "a minute"
            if minutes == 1
            else "an hour"
            if minutes == 60
            else _count(minutes, "minute")
        )
    hours = round(seconds / 3600)
    return "an hour" if hours == 1 else "a day" if hours == 24 else _count(hours, "hour")


def _count(number: int, unit: str) -> str:
    """``1 day``, ``3 days``, ``1,000 years``."""
    return f"{number:,} {unit}" if number == 1 else f"{number:,} {unit}s"


def age(when: datetime, now: datetime | None = None, *, compact: bool = False) -> str:
    """How long ago: ``2 hours ago``, or with ``compact`` ``2h`` (at most 4 cells, for a
    column headed "Age")."""
    if not compact:
        return ago(when, now)
    seconds = max(0, int(((now or utc_now()) - when).total_seconds()))
    for unit, length in (("y", 365 * 86400), ("mo", 30 * 86400), ("d", 86400), ("h", 3600)):
        if seconds >= length:
            return f"{min(seconds // length, 99)}{unit}"
    if seconds >= 60:
        return f"{seconds // 60}m"
    return "now"


def size(num_bytes: int) -> str:
    """``1.2 MB``: a byte count people can read."""
    import humanize

    return str(humanize.naturalsize(num_bytes))


def local_time(when: datetime) -> str:
    """A timestamp in the user's time zone, to the second."""
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def dumps_json(data: Any, *, ascii_only: bool | None = None) -> str:
    """Stable, readable JSON (``json.dumps``, indent 2), with text as UTF-8.

    Characters that could act on a terminal (C1 controls, line and bidi overrides) are
    still ``\\uXXXX`` escapes; JSON escapes the C0 ones itself. When stdout cannot carry
    UTF-8 (``ascii_only`` left as None decides from it), everything non-ASCII is escaped.
    """
    if ascii_only is None:
        ascii_only = not _stdout_is_utf8()
    import json

    text = json.dumps(data, indent=2, ensure_ascii=ascii_only)
    return text if ascii_only else _unsafe_in_json().sub(_json_escape, text)


@functools.cache
def _unsafe_in_json() -> re.Pattern[str]:
    """Characters JSON may hold raw that a terminal would act on (C1 controls, bidi
    overrides); compiled on first use, as most commands write no JSON."""
    return re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _stdout_is_utf8() -> bool:
    import codecs
    import sys

    try:
        return codecs.lookup(sys.stdout.encoding or "ascii").name == "utf-8"
    except (LookupError, AttributeError):
        return False


def rich_text(value: str, style: str = "") -> Text:
    from rich.text import Text

    return Text(value, style=style)


def spec_table(*, title: str | None = None) -> Table:
    from rich.box import Box
    from rich.table import Table

    return Table(box=Box(_SPEC_BOX), title=title, title_justify="left", header_style="bold")
