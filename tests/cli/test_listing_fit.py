"""``opencode session list`` fits the terminal: nothing wider than COLUMNS, and only the
title is ever cut.

Rich treats a pipe as 80 columns unless COLUMNS says otherwise, so each run sets COLUMNS.
Widths are measured in terminal cells (``rich.cells.cell_len``): CJK and emoji take two.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from cli_helpers import ago, make_session, run_opencode, sessions_dir
from rich.cells import cell_len

ELLIPSIS = "…"
FULL_HEADERS = ["ID", "Title", "Messages", "Updated"]
COMPACT_HEADERS = ["ID", "Title", "Msgs", "Age"]
COMPACT_AGE = re.compile(r"(now|\d{1,2}(m|h|d|mo|y))")

# Two ids that share their first nine characters: eight are not enough to tell them apart.
TWIN_A = "5eed5eed-a000-4000-8000-000000000001"
TWIN_B = "5eed5eed-b000-4000-8000-000000000002"


@dataclass
class Row:
    id: str
    title: str
    count: str
    age: str


@dataclass
class Expected:
    """What a session's row must show, whatever the width."""

    session_id: str
    short: str  # the unambiguous prefix
    title: str
    count: int
    full_age: str
    compact_age: str


def listing(columns: int, *args: str) -> list[str]:
    r = run_opencode("session", "list", *args, env={"COLUMNS": str(columns)})
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return r.stdout.splitlines()


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("│").split("│")]


def table(lines: list[str]) -> tuple[list[str], list[Row]]:
    """The header cells and the rows (ID, Title, count, age: the first four columns)."""
    framed = [line for line in lines if line.startswith("│")]
    header, *rows = (cells(line) for line in framed)
    age = header.index("Updated") if "Updated" in header else header.index("Age")
    return header, [Row(*row[:3], row[age]) for row in rows]


def title_shown(cell: str, title: str) -> None:
    """The whole title, or a prefix of it cut with an ellipsis."""
    if cell == title:
        return
    assert cell.endswith(ELLIPSIS), (cell, title)
    kept = cell[: -len(ELLIPSIS)].rstrip()
    assert title.startswith(kept), (cell, title)


LONG = "A really long title that goes on and on and on and on, and on and on and on " * 2
CJK = "日本語のタイトルはとても長いです。" * 2
EMOJI = "🚀🚀🚀 rockets 🚀🚀🚀 and more " + "🎉" * 15
MARKUP = "[red]x[/red] markup [bold]title[/bold]"
DAY = 24 * 60
# title, id (None: a new one), minutes since the last message, messages, the age in full and
# in short form; most recent first, as the listing orders them.
HARD_TITLES = [
    (MARKUP, None, 30, 3, "30 minutes ago", "30m"),
    (LONG.strip(), None, 125, 123, "2 hours ago", "2h"),
    (CJK, None, 3 * DAY + 60, 5, "3 days ago", "3d"),
    (EMOJI, None, 9 * DAY, 1, "9 days ago", "9d"),
    ("Twin A", TWIN_A, 11 * DAY + 60, 2, "11 days ago", "11d"),
    ("Twin B", TWIN_B, 12 * DAY + 60, 2, "12 days ago", "12d"),
]


@pytest.fixture
def hard_titles() -> list[Expected]:
    """Long, wide (CJK, emoji) and markup titles, and two ids that share nine characters."""
    expected = []
    for title, sid, minutes, count, full, compact in HARD_TITLES:
        when = ago(minutes=minutes)
        session = make_session(
            title, session_id=sid, updated=when, messages=[("user", "m")] * count
        )
        short = session.id[:10] if sid else session.id[:8]
        expected.append(Expected(session.id, short, title, count, full, compact))
    return expected


@pytest.mark.parametrize("columns", [40, 60, 80, 120])
def test_every_line_fits_and_only_titles_are_cut(hard_titles, columns):
    lines = listing(columns)

    assert "Recent Sessions:" in lines
    too_wide = [line for line in lines if cell_len(line) > columns]
    assert too_wide == []
    header, rows = table(lines)
    compact = "Msgs" in header  # the short forms, for narrow terminals
    if columns != 60:  # about 60 columns is where the layout changes
        assert compact == (columns < 60)
    names = COMPACT_HEADERS if compact else FULL_HEADERS
    assert header[:3] == names[:3] and names[3] in header  # never cut
    assert not any(ELLIPSIS in name for name in header)
    assert len(rows) == len(hard_titles)
    for row, want in zip(rows, hard_titles, strict=True):  # most recent first
        # The short id: eight characters, more when eight are shared; never cut.
        assert row.id == (want.short if compact else want.short + "...")
        assert want.session_id.startswith(row.id.removesuffix("..."))
        assert row.count == str(want.count)
        assert row.age == (want.compact_age if compact else want.full_age)
        if compact:
            assert COMPACT_AGE.fullmatch(row.age)
        title_shown(row.title, want.title)


def test_the_twins_need_more_than_eight_characters(hard_titles):
    r = run_opencode("session", "list", "-q")
    assert set(r.stdout.split()) >= {TWIN_A, TWIN_B}
    _, rows = table(listing(120))
    shown = {row.title: row.id for row in rows}
    assert shown["Twin A"] == "5eed5eed-a..." and shown["Twin B"] == "5eed5eed-b..."
    # A shown id can be typed back.
    r = run_opencode("session", "show", "5eed5eed-a", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["id"] == TWIN_A


def test_wide_titles_are_cut_on_a_cell_boundary():
    cjk = "日本語のタイトルはとても長いです。" * 4
    make_session(cjk, updated=ago(hours=1))

    for columns in (40, 60, 80, 120):
        lines = listing(columns)
        assert all(cell_len(line) <= columns for line in lines), (columns, lines)
        _, (row,) = table(lines)
        title_shown(row.title, cjk)
        assert "\ufffd" not in row.title  # no half of a wide character


def test_markup_in_titles_shows_literally():
    title = "[red]x[/red] and [bold]y[/bold] [link=http://e.x]z[/link]"
    make_session(title)

    r = run_opencode("session", "list", env={"COLUMNS": "120", "FORCE_COLOR": "1"})

    assert r.returncode == 0, r.stderr
    plain = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout)
    assert title in plain
    assert "\x1b]8;" not in r.stdout  # no hyperlink escape from [link=...]


def test_headers_are_not_cut_at_40_columns_even_with_long_short_ids():
    make_session("One", session_id="abcdef12-3456-4000-8000-000000000001", updated=ago(hours=1))
    make_session("Two", session_id="abcdef12-3457-4000-8000-000000000002", updated=ago(hours=2))

    lines = listing(40)

    assert all(cell_len(line) <= 40 for line in lines)
    header, rows = table(lines)
    assert [row.id for row in rows] == ["abcdef12-3456", "abcdef12-3457"]  # never cut
    assert header == COMPACT_HEADERS


# -- markers and the fork tree ------------------------------------------------------------------


def _ids_in_order(lines: list[str]) -> list[tuple[str, str]]:
    _, rows = table(lines)
    return [(row.id.removesuffix("..."), row.title) for row in rows]


def test_tree_shows_forks_under_their_parent_and_pinned_first():
    parent = make_session(
        "Parent",
        updated=ago(days=2),
        messages=[("user", "a"), ("assistant", "b"), ("user", "c"), ("assistant", "d")],
    )
    newer = make_session("Newer", updated=ago(hours=1), messages=[("user", "x")])
    pinned = make_session("Pinned but old", updated=ago(days=30), messages=[("user", "x")])
    r = run_opencode("session", "pin", pinned.id)
    assert r.returncode == 0, r.stderr
    r = run_opencode("session", "fork", parent.id, "--at", "2", "--title", "Child")
    assert r.returncode == 0, r.stderr
    child_id = r.stdout.strip()

    flat = _ids_in_order(listing(120))
    tree = _ids_in_order(listing(120, "--tree"))

    assert flat[0] == (pinned.id[:8], "[pinned] Pinned but old")
    assert tree[0] == flat[0]  # pinned first, with a marker
    assert tree[1] == (newer.id[:8], "Newer")
    at = tree.index((parent.id[:8], "Parent"))
    assert tree[at + 1] == (child_id[:8], "└ Child")  # right under its parent, indented
    r = run_opencode("session", "list", "--json")
    by_id = {row["id"]: row for row in json.loads(r.stdout)}
    assert by_id[child_id]["forked_from"] == parent.id
    assert by_id[pinned.id]["pinned"] is True


def test_damaged_and_conflicted_sessions_are_marked():
    damaged = make_session("Broken file", updated=ago(hours=1), messages=[("user", "x")])
    conflicted = make_session("Edited twice", updated=ago(hours=2), messages=[("user", "x")])
    make_session("Healthy", updated=ago(hours=3), messages=[("user", "x")])
    folder = sessions_dir()
    (folder / f"{damaged.id}.json").write_text("{ not json")
    copy = folder / f"{conflicted.id}.sync-conflict-20240115-103000-ABCDEFG.json"
    copy.write_bytes((folder / f"{conflicted.id}.json").read_bytes())

    warnings = ""
    for args in ((), ("--tree",)):
        r = run_opencode("session", "list", *args, env={"COLUMNS": "120"})
        assert r.returncode == 0, r.stderr
        titles = [title for _, title in _ids_in_order(r.stdout.splitlines())]
        assert titles == ["(damaged) Broken file", "(conflict) Edited twice", "Healthy"], titles
        warnings += r.stderr
    # Said once, when the listing first finds them.
    assert f"session {damaged.id} is damaged" in warnings
    assert f"opencode session resolve {conflicted.id}" in warnings
