"""Usage statistics from the index: totals, groups by model, day, ISO week and project,
filters, and costs from a price table."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions import (
    InvalidSessionValueError,
    Session,
    SessionIndex,
    SessionMessage,
    SessionStorage,
)
from opencode.sessions.stats import StatsQuery, StatsReport, collect_stats, load_prices

UTC = timezone.utc


@pytest.fixture
def storage(data_dir: Path) -> SessionStorage:
    return SessionStorage(data_dir / "sessions")


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Days are the user's: run in a zone where UTC 03:30 is still yesterday."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def seed(
    storage: SessionStorage,
    *,
    at: datetime,
    model: str | None = None,
    messages: int = 1,
    prompt: int = 0,
    completion: int = 0,
    working_dir: str = "/w",
) -> Session:
    session = Session(
        title="s",
        working_dir=working_dir,
        model=model,
        created_at=at,
        updated_at=at,
        total_prompt_tokens=prompt,
        total_completion_tokens=completion,
        messages=[SessionMessage(role="user", content="x", timestamp=at) for _ in range(messages)],
    )
    storage.save(session)
    SessionIndex(storage).add(session)
    return session


def stats(storage: SessionStorage, prices: Path | None = None, **query: Any) -> StatsReport:
    return collect_stats(
        SessionIndex(storage),
        StatsQuery(**query),
        prices_path=prices or storage.storage_dir.parent / "no-prices.json",
    )


def test_totals_add_up_sessions_messages_tokens_and_bytes(storage: SessionStorage) -> None:
    a = seed(storage, at=datetime(2024, 1, 1, tzinfo=UTC), messages=3, prompt=100, completion=10)
    b = seed(storage, at=datetime(2024, 1, 2, tzinfo=UTC), messages=2, prompt=50, completion=5)

    report = stats(storage)

    total = report.total
    assert (total.sessions, total.messages) == (2, 5)
    assert (total.prompt_tokens, total.completion_tokens, total.total_tokens) == (150, 15, 165)
    assert total.bytes == storage.session_size(a.id) + storage.session_size(b.id) > 0
    assert report.groups == [] and report.priced is False
    assert report.to_dict()["total"] == {
        "sessions": 2,
        "messages": 5,
        "prompt_tokens": 150,
        "completion_tokens": 15,
        "total_tokens": 165,
        "bytes": total.bytes,
        "cost": None,
        "unpriced_tokens": None,
    }


def test_statistics_come_from_the_index_not_the_session_files(
    storage: SessionStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(storage, at=datetime(2024, 1, 1, tzinfo=UTC), prompt=7)
    stats(storage)  # the index has seen the folder

    def no_reading(self: SessionStorage, session_id: str) -> Session:
        raise AssertionError(f"read {session_id}")

    monkeypatch.setattr(SessionStorage, "load", no_reading)
    assert stats(storage, group_by="model").total.prompt_tokens == 7


def test_groups_by_model_most_tokens_first_and_no_model_last(storage: SessionStorage) -> None:
    day = datetime(2024, 1, 1, tzinfo=UTC)
    seed(storage, at=day, model="small", prompt=10)
    seed(storage, at=day, model="big", prompt=500)
    seed(storage, at=day, model="big", prompt=500)
    seed(storage, at=day, model=None, prompt=9999)

    groups = stats(storage, group_by="model").groups

    assert [(g.key, g.usage.sessions, g.usage.prompt_tokens) for g in groups] == [
        ("big", 2, 1000),
        ("small", 1, 10),
        (None, 1, 9999),
    ]


def test_days_and_iso_weeks_are_the_users_and_in_time_order(
    storage: SessionStorage, new_york: None
) -> None:
    seed(storage, at=datetime(2024, 1, 15, 3, 30, tzinfo=UTC))  # Sunday 14th in New York
    seed(storage, at=datetime(2024, 1, 15, 18, 0, tzinfo=UTC))  # Monday 15th
    seed(storage, at=datetime(2024, 1, 9, 12, 0, tzinfo=UTC))

    days = stats(storage, group_by="day").groups
    weeks = stats(storage, group_by="week").groups

    assert [(g.key, g.usage.sessions) for g in days] == [
        ("2024-01-09", 1),
        ("2024-01-14", 1),
        ("2024-01-15", 1),
    ]
    assert [(g.key, g.usage.sessions) for g in weeks] == [("2024-W02", 2), ("2024-W03", 1)]


def test_projects_are_git_work_trees_of_the_working_folders(
    storage: SessionStorage, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "src" / "deep").mkdir(parents=True)
    loose = tmp_path / "loose"
    loose.mkdir()
    day = datetime(2024, 1, 1, tzinfo=UTC)
    seed(storage, at=day, working_dir=str(project), prompt=1)
    seed(storage, at=day, working_dir=str(project / "src" / "deep"), prompt=1)
    seed(storage, at=day, working_dir=str(loose), prompt=1)
    seed(storage, at=day, working_dir="", prompt=1)

    groups = {g.key: g.usage.sessions for g in stats(storage, group_by="project").groups}

    assert groups == {str(project): 2, str(loose): 1, None: 1}


def test_since_and_project_filters(storage: SessionStorage, tmp_path: Path) -> None:
    old = datetime(2024, 1, 1, tzinfo=UTC)
    new = datetime(2024, 6, 1, tzinfo=UTC)
    inside = tmp_path / "proj"
    seed(storage, at=old, working_dir=str(inside), prompt=1)
    seed(storage, at=new, working_dir=str(inside / "sub"), prompt=10)
    seed(storage, at=new, working_dir=str(tmp_path / "proj-other"), prompt=100)

    assert stats(storage, since=new - timedelta(days=1)).total.prompt_tokens == 110
    assert stats(storage, under_dir=str(inside)).total.prompt_tokens == 11
    both = stats(storage, since=new - timedelta(days=1), under_dir=str(inside))
    assert both.total.prompt_tokens == 10
    assert both.to_dict()["project"] == str(inside)


def test_an_unknown_grouping_is_refused(storage: SessionStorage) -> None:
    with pytest.raises(InvalidSessionValueError, match="cannot group by"):
        stats(storage, group_by="colour")


# -- costs ------------------------------------------------------------------------------------


def test_costs_come_from_the_price_table_per_million_tokens(
    storage: SessionStorage, tmp_path: Path
) -> None:
    day = datetime(2024, 1, 1, tzinfo=UTC)
    seed(storage, at=day, model="gpt-4o", prompt=2_000_000, completion=100_000)
    seed(storage, at=day, model="mystery", prompt=30, completion=3)
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps({"version": 1, "models": {"gpt-4o": {"prompt": 2.5, "completion": 10.0}}})
    )

    report = stats(storage, prices, group_by="model")

    assert report.priced and report.price_problem is None
    assert report.total.cost == pytest.approx(2 * 2.5 + 0.1 * 10.0)
    assert report.total.unpriced_tokens == 33
    by_model = {g.key: (g.usage.cost, g.usage.unpriced_tokens) for g in report.groups}
    assert by_model == {"gpt-4o": (pytest.approx(6.0), 0), "mystery": (0.0, 33)}
    assert report.to_dict()["total"]["cost"] == 6.0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('{"version": 2, "models": {}}', "'version' must be 1"),
        ('{"version": 1, "models": []}', "'models' must be an object"),
        ('{"version": 1, "models": {"m": {"prompt": "cheap", "completion": 1}}}', "'prompt'"),
        ('{"version": 1, "models": {"m": {"prompt": -1, "completion": 1}}}', "at least 0"),
        ('{"version": 1, "models": {"m": {"prompt": 1}}}', "'completion'"),
    ],
)
def test_a_malformed_price_table_is_one_problem_and_no_cost(
    storage: SessionStorage, tmp_path: Path, content: str, problem: str
) -> None:
    seed(storage, at=datetime(2024, 1, 1, tzinfo=UTC), model="m", prompt=5)
    prices = tmp_path / "prices.json"
    prices.write_text(content)

    report = stats(storage, prices)

    assert report.priced is False and report.total.cost is None
    assert report.price_problem is not None
    assert problem in report.price_problem and str(prices) in report.price_problem
    assert report.total.prompt_tokens == 5


def test_no_price_table_means_no_cost_and_no_problem(tmp_path: Path) -> None:
    assert load_prices(tmp_path / "absent.json") is None
