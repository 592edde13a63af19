"""Dates people type: ``--since 2024-01-15``, ``--since 7d``, ``--since yesterday``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from opencode.sessions.errors import InvalidSessionValueError
from opencode.sessions.validate import parse_timestamp, utc_now

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final

_RELATIVE: Final = re.compile(r"(\d{1,6})\s*(m|min|h|d|w|y)", re.IGNORECASE)
_UNITS: Final = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """The moment ``text`` names, in UTC.

    Accepts ISO dates and times (``2024-01-15``, ``2024-01-15T10:30``; a date without a zone
    is local midnight), ``today``, ``yesterday``, and ages such as ``30m``, ``12h``, ``7d``,
    ``2w`` or ``1y``. ``InvalidSessionValueError`` for anything else.
    """
    now = now or utc_now()
    value = text.strip().lower()
    if value in ("today", "yesterday"):
        midnight = now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        days = 0 if value == "today" else 1
        return (midnight - timedelta(days=days)).astimezone(timezone.utc)
    relative = _RELATIVE.fullmatch(value)
    if relative is not None:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        return now - timedelta(seconds=amount * _UNITS[unit])
    try:
        if len(value) == 10:  # a bare date: midnight where the user is
            day = datetime.fromisoformat(value)
            return day.astimezone().astimezone(timezone.utc)
        return parse_timestamp(text.strip())
    except (ValueError, OverflowError):
        raise InvalidSessionValueError(
            f"cannot read {text[:40]!r} as a date; use 2024-01-15, 2024-01-15T10:30, "
            "today, yesterday, or an age such as 12h, 7d, 2w"
        ) from None
