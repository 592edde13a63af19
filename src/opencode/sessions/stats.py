"""Usage statistics: sessions, messages, tokens, bytes on disk and cost, in total and grouped.

Everything comes from the index (SQL aggregates over its rows), never from session files,
so 100,000 sessions take one query. Groups: the model; the day or ISO week of the last
activity, in the user's time zone; or the project, which is the git work tree of the
session's working folder (``opencode.paths.project_root``), found once per distinct folder.

Cost is optional: ``<config dir>/prices.json`` maps model names to prices per million prompt
and completion tokens (see ``load_prices``); nothing is fetched from the network.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from opencode.sessions.errors import InvalidSessionValueError, SessionError
from opencode.sessions.validate import format_timestamp

if TYPE_CHECKING:
    from opencode.sessions.index import SessionIndex

GROUPS: Final = ("model", "day", "week", "project")
# The index query each grouping runs; weeks and projects are folded from days and folders.
_SQL_GROUP: Final = {
    None: "all",
    "model": "model",
    "day": "day",
    "week": "day",
    "project": "folder",
}
PRICES_FILE: Final = "prices.json"
PRICES_VERSION: Final = 1
MAX_PRICES_BYTES: Final = 1024 * 1024
PER_TOKENS: Final = 1_000_000


class PriceTableError(SessionError):
    """``prices.json`` exists but cannot be used (the statistics go on without cost)."""


@dataclass(frozen=True)
class Price:
    """What a model costs per million prompt and completion tokens."""

    prompt: float
    completion: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt + completion_tokens * self.completion) / PER_TOKENS


@dataclass(frozen=True)
class StatsQuery:
    """Which sessions to count and how to group them.

    ``since``: active at or after then; ``under_dir``: started in that folder or below (a
    project); ``group_by``: one of ``GROUPS``, or None for the total alone.
    """

    since: datetime | None = None
    under_dir: str | os.PathLike[str] | None = None
    group_by: str | None = None


@dataclass
class Usage:
    """Sums over a set of sessions; ``cost`` is None without a price table."""

    sessions: int = 0
    messages: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    bytes: int = 0
    cost: float | None = None
    unpriced_tokens: int | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, row: Sequence[Any], price: Price | None, priced: bool) -> None:
        """Add one ``(.., .., sessions, messages, prompt, completion, bytes)`` index row."""
        sessions, messages, prompt, completion, size = (int(v) for v in row[2:7])
        self.sessions += sessions
        self.messages += messages
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.bytes += size
        if not priced:
            return
        self.cost = (self.cost or 0.0) + (price.cost(prompt, completion) if price else 0.0)
        self.unpriced_tokens = (self.unpriced_tokens or 0) + (0 if price else prompt + completion)

    def to_dict(self) -> dict[str, Any]:
        """The numbers as ``session stats --json`` prints them."""
        return {
            "sessions": self.sessions,
            "messages": self.messages,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "bytes": self.bytes,
            "cost": None if self.cost is None else round(self.cost, 6),
            "unpriced_tokens": self.unpriced_tokens,
        }


@dataclass(frozen=True)
class StatsGroup:
    """One group's sums; ``key`` is None for sessions without a model or folder."""

    key: str | None
    usage: Usage


@dataclass
class StatsReport:
    """The total, the groups (empty without ``group_by``) and what the price table said."""

    query: StatsQuery
    total: Usage
    groups: list[StatsGroup] = field(default_factory=list)
    priced: bool = False
    price_problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What ``session stats --json`` prints."""
        query = self.query
        return {
            "since": None if query.since is None else format_timestamp(query.since),
            "project": None if query.under_dir is None else os.fspath(query.under_dir),
            "group_by": query.group_by,
            "priced": self.priced,
            "total": self.total.to_dict(),
            "groups": [{"key": g.key, **g.usage.to_dict()} for g in self.groups],
        }


def collect_stats(
    index: SessionIndex, query: StatsQuery, *, prices_path: Path | None = None
) -> StatsReport:
    """The statistics ``query`` asks for, priced from ``prices_path`` (default: the config
    folder's ``prices.json``) when that file exists. A price table that cannot be used is
    reported in ``price_problem`` and the statistics come without cost."""
    if query.group_by not in (None, *GROUPS):
        choices = ", ".join(GROUPS)
        raise InvalidSessionValueError(f"cannot group by {query.group_by!r}; choose {choices}")
    prices, problem = _prices_or_problem(prices_path)
    rows = index.usage_rows(_SQL_GROUP[query.group_by], *_filters(query))
    priced = prices is not None
    report = StatsReport(query, _empty(priced), priced=priced, price_problem=problem)
    grouped: dict[str | None, Usage] = {}
    key_of = _key_function(query.group_by)
    for row in rows:
        price = prices.get(row[1]) if prices is not None else None
        report.total.add(row, price, priced)
        if query.group_by is not None:
            grouped.setdefault(key_of(row[0]), _empty(priced)).add(row, price, priced)
    report.groups = _ordered(grouped, query.group_by)
    return report


def _empty(priced: bool) -> Usage:
    return Usage(cost=0.0, unpriced_tokens=0) if priced else Usage()


def _filters(query: StatsQuery) -> tuple[list[str], list[Any]]:
    from opencode.sessions.indexquery import filter_clauses

    clauses, args = filter_clauses(under_dir=query.under_dir)
    if query.since is not None:
        clauses.append("active_at >= ?")
        args.append(format_timestamp(query.since))
    return clauses, args


def _key_function(group_by: str | None) -> Callable[[str], str | None]:
    if group_by == "week":
        return _iso_week
    if group_by == "project":
        return _project_of()
    return lambda key: key or None


def _iso_week(day: str) -> str | None:
    """``2024-W03`` for a ``2024-01-15`` day (ISO weeks start on Monday)."""
    if not day:
        return None
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def _project_of() -> Callable[[str], str | None]:
    """The project of a working folder, each folder looked up once: its git work tree when
    it is an absolute path here, else the folder as recorded."""
    from opencode.paths import project_root

    roots: dict[str, str | None] = {}

    def project(folder: str) -> str | None:
        if folder not in roots:
            if not folder:
                roots[folder] = None
            elif os.path.isabs(folder):
                roots[folder] = str(project_root(folder))
            else:
                roots[folder] = folder
        return roots[folder]

    return project


def _ordered(grouped: Mapping[str | None, Usage], group_by: str | None) -> list[StatsGroup]:
    """Days and weeks in time order; models and projects by tokens, most first. Sessions
    without a key come last."""
    groups = [StatsGroup(key, usage) for key, usage in grouped.items()]
    if group_by in ("day", "week"):
        return sorted(groups, key=lambda g: (g.key is None, g.key or ""))
    return sorted(
        groups,
        key=lambda g: (g.key is None, -g.usage.total_tokens, -g.usage.sessions, g.key or ""),
    )


# -- prices -----------------------------------------------------------------------------------


def prices_file() -> Path:
    """``<config dir>/prices.json`` (the config folder honours ``OPENCODE_CONFIG_DIR``)."""
    from opencode.paths import config_dir

    return config_dir() / PRICES_FILE


def _prices_or_problem(path: Path | None) -> tuple[dict[str, Price] | None, str | None]:
    try:
        return load_prices(path if path is not None else prices_file()), None
    except PriceTableError as exc:
        return None, str(exc)


def load_prices(path: Path) -> dict[str, Price] | None:
    """The price table at ``path``; None when there is no such file.

    The file is ``{"version": 1, "models": {"gpt-4o": {"prompt": 2.5, "completion": 10.0}}}``:
    prices per million tokens, in whatever currency the user writes them. Anything else is a
    ``PriceTableError`` saying what is wrong.
    """
    import orjson

    from opencode import fsutil

    try:
        data = fsutil.read_regular(path, MAX_PRICES_BYTES)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PriceTableError(f"{path}: {exc.strerror or exc}; costs are left out") from None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise PriceTableError(f"{path}: not valid JSON ({exc}); costs are left out") from None
    try:
        return _price_table(document)
    except ValueError as exc:
        raise PriceTableError(f"{path}: {exc}; costs are left out") from None


def _price_table(document: object) -> dict[str, Price]:
    if not isinstance(document, dict):
        raise ValueError("expected a JSON object")
    version = document.get("version")
    if version != PRICES_VERSION:
        raise ValueError(f"'version' must be {PRICES_VERSION}, not {version!r}")
    models = document.get("models")
    if not isinstance(models, dict):
        raise ValueError("'models' must be an object of model names")
    return {str(name): _price(name, entry) for name, entry in models.items()}


def _price(name: str, entry: object) -> Price:
    if not isinstance(entry, dict):
        raise ValueError(f"model {name!r}: expected an object with 'prompt' and 'completion'")
    return Price(_amount(name, entry, "prompt"), _amount(name, entry, "completion"))


def _amount(name: str, entry: dict[str, Any], key: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"model {name!r}: '{key}' must be a number")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"model {name!r}: '{key}' must be a number of at least 0")
    return float(value)
