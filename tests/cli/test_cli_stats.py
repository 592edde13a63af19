"""``opencode session stats`` and ``session list --wide``, through the installed command."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli_helpers import ago, make_session, run_opencode, sessions_dir

from opencode.sessions import SessionStorage


def seed_usage() -> None:
    make_session(
        "Refactor the parser",
        model="gpt-4o",
        total_prompt_tokens=2_000_000,
        total_completion_tokens=100_000,
        messages=[("user", "a")] * 4,
    )
    make_session(
        "Write the docs",
        model="gpt-4o",
        total_prompt_tokens=1_000_000,
        total_completion_tokens=0,
        messages=[("user", "b")] * 2,
    )
    make_session(
        "Local experiment",
        model="llama3",
        total_prompt_tokens=500,
        total_completion_tokens=50,
        messages=[("user", "c")],
    )


def write_prices(content: str) -> Path:
    config = Path(os.environ["OPENCODE_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    prices = config / "prices.json"
    prices.write_text(content)
    return prices


def test_stats_totals_in_a_table() -> None:
    seed_usage()

    r = run_opencode("session", "stats")

    assert r.returncode == 0, r.stderr
    header = next(line for line in r.stdout.splitlines() if "Sessions" in line)
    for column in ("Sessions", "Messages", "Prompt", "Completion", "Size"):
        assert column in header
    assert "Cost" not in header
    row = next(line for line in r.stdout.splitlines() if "3,000,500" in line)
    assert "│        3 │        7 │" in row and "100,050" in row
    assert r.stderr == ""


def test_stats_json_by_model() -> None:
    seed_usage()
    size = SessionStorage(sessions_dir()).get_storage_size()

    r = run_opencode("session", "stats", "--by", "model", "--json")

    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["group_by"], data["since"], data["project"], data["priced"]) == (
        "model",
        None,
        None,
        False,
    )
    assert [(g["key"], g["sessions"], g["total_tokens"]) for g in data["groups"]] == [
        ("gpt-4o", 2, 3_100_000),
        ("llama3", 1, 550),
    ]
    total = data["total"]
    assert total["sessions"] == 3 and total["messages"] == 7
    assert 0 < total["bytes"] <= size
    assert total["cost"] is None and total["unpriced_tokens"] is None


def test_stats_cost_from_prices_json() -> None:
    seed_usage()
    write_prices(
        json.dumps({"version": 1, "models": {"gpt-4o": {"prompt": 2.5, "completion": 10}}})
    )

    r = run_opencode("session", "stats", "--by", "model")

    assert r.returncode == 0, r.stderr
    assert "Cost" in r.stdout
    gpt = next(line for line in r.stdout.splitlines() if "gpt-4o" in line)
    assert gpt.rstrip("│ ").endswith("8.50")  # 3M prompt at 2.5 + 0.1M completion at 10
    llama = next(line for line in r.stdout.splitlines() if "llama3" in line)
    assert llama.rstrip("│ ").endswith("-")
    assert "some sessions' models have no price in prices.json" in r.stderr

    data = json.loads(run_opencode("session", "stats", "--json").stdout)
    assert data["priced"] is True
    assert data["total"]["cost"] == 8.5 and data["total"]["unpriced_tokens"] == 550


def test_a_malformed_price_file_is_one_warning_and_no_cost_column() -> None:
    seed_usage()
    prices = write_prices('{"version": 1, "models": {"gpt-4o": "cheap"}}')

    r = run_opencode("session", "stats")

    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        f"warning: {prices}: model 'gpt-4o': expected an object with 'prompt' and "
        "'completion'; costs are left out"
    ]
    assert "Cost" not in r.stdout


def test_stats_since_and_by_day() -> None:
    make_session("Old", updated=ago(days=40), total_prompt_tokens=1)
    make_session("New", updated=ago(hours=1), total_prompt_tokens=10)

    data = json.loads(run_opencode("session", "stats", "--since", "7d", "--json").stdout)
    assert data["total"]["prompt_tokens"] == 10 and data["since"] is not None

    r = run_opencode("session", "stats", "--by", "day")
    assert r.returncode == 0, r.stderr
    assert "Day" in r.stdout and "Total" in r.stdout

    r = run_opencode("session", "stats", "--since", "someday")
    assert r.returncode == 1
    assert r.stderr.startswith("error: cannot read 'someday' as a date")


def test_stats_here_and_by_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "src").mkdir()
    make_session("In project", working_dir=str(project / "src"), total_prompt_tokens=7)
    make_session("At the root", working_dir=str(project), total_prompt_tokens=3)
    make_session("Elsewhere", working_dir=str(tmp_path / "other"), total_prompt_tokens=100)

    r = run_opencode("session", "stats", "--here", "--json", cwd=project / "src")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["project"] == str(project) and data["total"]["prompt_tokens"] == 10

    data = json.loads(run_opencode("session", "stats", "--by", "project", "--json").stdout)
    assert [(g["key"], g["sessions"]) for g in data["groups"]] == [
        (str(tmp_path / "other"), 1),
        (str(project), 2),
    ]

    r = run_opencode("session", "stats", "--by", "week")
    assert r.returncode == 0 and "Week" in r.stdout


def test_stats_with_no_sessions() -> None:
    r = run_opencode("session", "stats")
    assert r.returncode == 0
    assert r.stdout == "" and "No sessions match." in r.stderr
    data = json.loads(run_opencode("session", "stats", "--json").stdout)
    assert data["total"]["sessions"] == 0 and data["groups"] == []


# -- session list --wide ----------------------------------------------------------------------


def seed_wide() -> list[str]:
    ids = []
    for n, model in enumerate(("claude-sonnet-4-5-20250929", "gpt-4o", None)):
        session = make_session(
            f"Refactoring the parser, part {n} of 3",
            updated=ago(hours=n + 1, minutes=1),
            model=model,
            total_prompt_tokens=12_000 * (n + 1),
            total_completion_tokens=345,
            messages=[("user", "hello")] * (n + 2),
            tags=["parser", "refactor"],
        )
        ids.append(session.id)
    return ids


def table_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line and line[0] in "┌│├└"]


def test_list_wide_at_80_columns_keeps_id_count_and_age_whole() -> None:
    ids = seed_wide()

    r = run_opencode("session", "list", "--wide", env={"COLUMNS": "80"})

    assert r.returncode == 0, r.stderr
    lines = table_lines(r.stdout)
    assert all(len(line) <= 80 for line in lines), r.stdout
    header = lines[1]
    for column in ("ID", "Title", "Tokens", "Size", "Updated"):
        assert column in header, r.stdout
    rows = lines[3:-1]
    for n, (session_id, row) in enumerate(zip(ids, rows, strict=True)):
        cells = [cell.strip() for cell in row.strip("│").split("│")]
        assert cells[0].startswith(session_id[:8])
        assert cells[1].endswith("…")  # the title absorbs the squeeze
        assert cells[2] == str(n + 2)
        assert f"{12_000 * (n + 1) + 345:,}" in cells
        assert cells[5].endswith("ago")
        assert not any(cell.endswith("…") for cell in cells[2:]), row


def test_list_wide_at_160_columns_shows_everything() -> None:
    ids = seed_wide()

    r = run_opencode("session", "list", "--wide", env={"COLUMNS": "160"})

    assert r.returncode == 0, r.stderr
    lines = table_lines(r.stdout)
    assert all(len(line) <= 160 for line in lines)
    header = lines[1]
    for column in ("ID", "Title", "Messages", "Tokens", "Size", "Updated", "Model", "Tags"):
        assert column in header, r.stdout
    first = lines[3]
    assert f"{ids[0][:8]}..." in first
    assert "Refactoring the parser, part 0 of 3" in first
    assert "claude-sonnet-4-5-20250929"[:23] in first and "parser, refactor" in first
    assert "an hour ago" in first and "12,345" in first and " Bytes " in first


def test_list_wide_json_adds_size_and_the_token_split() -> None:
    ids = seed_wide()
    r = run_opencode("session", "list", "--wide", "--json")
    assert r.returncode == 0, r.stderr
    rows = {row["id"]: row for row in json.loads(r.stdout)}
    assert rows[ids[1]]["prompt_tokens"] == 24_000
    assert rows[ids[1]]["completion_tokens"] == 345
    assert rows[ids[1]]["size_bytes"] > 0
    plain = json.loads(run_opencode("session", "list", "--json").stdout)
    assert "size_bytes" not in plain[0]
