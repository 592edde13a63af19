"""``render.ago`` says what ``humanize.naturaltime`` says, without importing humanize (whose
import is a tenth of a quick search's start-up)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import humanize
import pytest

from opencode.cli.render import ago

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
DAY = 86_400
# Every boundary the wording turns on: seconds, minutes, hours, a day, months of 30.5 days,
# one year and its months, many years.
EDGES = [
    *range(0, 130),
    *(m * 60 + s for m in range(0, 61) for s in (-31, -30, -29, 0, 29, 30, 31)),
    *(h * 3600 + s for h in range(0, 25) for s in (-1801, -1800, -1799, 0, 1799, 1800, 1801)),
    *(d * DAY + s for d in range(0, 800) for s in (0, 1, DAY // 2, DAY - 1)),
    *(
        y * 365 * DAY + s
        for y in (2, 3, 10, 999, 1000, 1001)
        for s in (-1, 0, 182 * DAY, 183 * DAY)
    ),
]


@pytest.mark.parametrize("direction", [1, -1], ids=["past", "future"])
def test_ago_words_every_boundary_as_humanize_does(direction: int) -> None:
    for seconds in EDGES:
        delta = timedelta(seconds=direction * seconds)
        assert ago(NOW - delta, NOW) == humanize.naturaltime(delta), delta


def test_ago_words_random_ages_as_humanize_does() -> None:
    rng = random.Random(20261202)
    for _ in range(20_000):
        delta = timedelta(
            seconds=rng.randrange(-5000 * DAY, 5000 * DAY), microseconds=rng.randrange(10**6)
        )
        assert ago(NOW - delta, NOW) == humanize.naturaltime(delta), delta


def test_ago_reads_naturally() -> None:
    assert ago(NOW, NOW) == "now"
    assert ago(NOW - timedelta(hours=2), NOW) == "2 hours ago"
    assert ago(NOW + timedelta(days=3), NOW) == "3 days from now"
    assert ago(NOW - timedelta(days=400), NOW) == "1 year, 1 month ago"
    assert ago(NOW - timedelta(days=365 * 1500), NOW) == "1,500 years ago"
