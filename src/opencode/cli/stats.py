"""``opencode session stats``: how many sessions, messages, tokens and bytes, and their cost."""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Final

import typer

from opencode.cli import console, render
from opencode.cli.console import say, warning
from opencode.cli.options import JsonFlag, open_manager

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from opencode.sessions.stats import StatsReport, Usage

HEADINGS: Final = {None: "", "model": "Model", "day": "Day", "week": "Week", "project": "Project"}
NONE_KEYS: Final = {"model": "(no model)", "project": "(no folder)"}
UNPRICED_MARK: Final = "*"


class GroupBy(str, Enum):
    """What ``--by`` groups sessions by."""

    model = "model"
    day = "day"
    week = "week"
    project = "project"


def stats_command(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Only sessions active since DATE (2024-01-15, 7d, today).",
            show_default=False,
        ),
    ] = None,
    here: Annotated[
        bool, typer.Option("--here", help="Only sessions of this project (git root or folder).")
    ] = False,
    by: Annotated[
        GroupBy | None,
        typer.Option(
            "--by", help="Group by model, day, ISO week or project (git root).", show_default=False
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Count sessions, messages, tokens and bytes on disk (with cost from prices.json)."""
    from opencode.paths import project_root
    from opencode.sessions.dates import parse_since
    from opencode.sessions.stats import StatsQuery, collect_stats

    query = StatsQuery(
        since=parse_since(since) if since else None,
        under_dir=project_root(os.getcwd()) if here else None,
        group_by=by.value if by is not None else None,
    )
    report = collect_stats(open_manager().index, query)
    if report.price_problem:
        warning(report.price_problem)
    if json_output:
        sys.stdout.write(render.dumps_json(report.to_dict()) + "\n")
        return
    if query.under_dir is not None:
        say(f"Sessions under {query.under_dir}")
    if not report.total.sessions:
        say("No sessions match.")
        return
    console.out().print(_table(report), crop=False)
    if report.priced and report.total.unpriced_tokens:
        say(f"{UNPRICED_MARK} some sessions' models have no price in prices.json")


def _table(report: StatsReport) -> Table:
    group_by = report.query.group_by
    table = render.spec_table()
    if group_by is not None:
        table.add_column(HEADINGS[group_by], overflow="fold")
    for name in ("Sessions", "Messages", "Prompt", "Completion", "Size"):
        table.add_column(name, justify="right", no_wrap=True)
    if report.priced:
        table.add_column("Cost", justify="right", no_wrap=True)
    for group in report.groups:
        key = group.key if group.key is not None else NONE_KEYS.get(group_by or "", "(none)")
        table.add_row(*_cells(key, group.usage, report))
    if group_by is not None:
        table.add_section()
    table.add_row(*_cells("Total", report.total, report))
    return table


def _cells(key: str, usage: Usage, report: StatsReport) -> list[Text]:
    cells = [render.rich_text(console.printable(key))] if report.query.group_by else []
    values = [
        f"{usage.sessions:,}",
        f"{usage.messages:,}",
        f"{usage.prompt_tokens:,}",
        f"{usage.completion_tokens:,}",
        render.size(usage.bytes),
    ]
    if report.priced:
        values.append(_cost(usage))
    return cells + [render.rich_text(value) for value in values]


def _cost(usage: Usage) -> str:
    """``12.34``, ``-`` when nothing in the group is priced, a mark when part is not."""
    cost = usage.cost or 0.0
    if usage.unpriced_tokens and not cost:
        return "-"
    mark = UNPRICED_MARK if usage.unpriced_tokens else ""
    return f"{cost:,.2f}{mark}"
