"""``opencode --list-sessions`` and ``opencode session list``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli_helpers import CliRunnerHelper, ago, make_session, run_opencode, sessions_dir


def test_list_sessions_shows_the_spec_table_most_recent_first(cli: CliRunnerHelper) -> None:
    old = make_session("Bug fix in parser", updated=ago(days=3), messages=[("user", "x")] * 8)
    mid = make_session("Implementing auth", updated=ago(days=1, minutes=5))
    new = make_session("Refactoring API client", updated=ago(hours=2, minutes=1))

    r = cli("--list-sessions")

    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert "Recent Sessions:" in lines
    header = next(line for line in lines if "Title" in line)
    for column in ("ID", "Title", "Messages", "Updated"):
        assert column in header
    rows = [line for line in lines if "..." in line]
    assert [row.split()[1] for row in rows] == [f"{s.id[:8]}..." for s in (new, mid, old)]
    assert "Refactoring API client" in rows[0] and "2 hours ago" in rows[0]
    assert "a day ago" in rows[1]
    assert "Bug fix in parser" in rows[2] and "3 days ago" in rows[2] and " 8 " in rows[2]
    assert r.stderr == ""


def test_list_sessions_with_no_sessions_says_so_on_stderr(cli: CliRunnerHelper) -> None:
    r = cli("--list-sessions")
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    assert "No sessions yet" in r.stderr


def test_untitled_sessions_show_as_untitled(cli: CliRunnerHelper) -> None:
    make_session("")
    r = cli("session", "list")
    assert r.exit_code == 0, r.output
    assert "(untitled)" in r.stdout


def test_list_sessions_shows_a_page_and_a_footer(cli: CliRunnerHelper) -> None:
    for n in range(23):
        make_session(f"Session number {n:02d}", updated=ago(minutes=100 - n))
    r = cli("--list-sessions")
    assert r.exit_code == 0, r.output
    assert r.stdout.count("Session number") == 20
    assert "Session number 22" in r.stdout and "Session number 02" not in r.stdout
    assert r.stderr.strip() == "Showing 20 of 23 sessions; see 'opencode session list --limit N'"

    r = cli("session", "list", "--limit", "0")
    assert r.stdout.count("Session number") == 23
    assert r.stderr == ""

    r = cli("session", "list", "--limit", "5", "--offset", "20")
    assert r.stdout.count("Session number") == 3
    assert "Session number 02" in r.stdout
    assert "Showing sessions 21-23 of 23" in r.stderr


def test_session_list_json_is_stable_and_complete(cli: CliRunnerHelper) -> None:
    for n in range(25):
        make_session(f"S{n}", updated=ago(minutes=60 - n), tags=["t"], model="m1")

    r = cli("session", "list", "--json")

    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert len(data) == 25  # --json lists everything unless --limit says otherwise
    assert set(data[0]) == {
        "id",
        "title",
        "created_at",
        "updated_at",
        "message_count",
        "total_tokens",
        "tags",
        "working_dir",
        "model",
        # the lifecycle keys
        "active_at",
        "damaged",
        "pinned",
        "archived_at",
        "forked_from",
        "conflicts",
    }
    assert data[0]["title"] == "S24"
    assert (data[0]["damaged"], data[0]["pinned"], data[0]["archived_at"]) == (None, False, None)
    assert (data[0]["forked_from"], data[0]["conflicts"]) == (None, [])
    assert data[0]["active_at"].endswith("+00:00") and "T" in data[0]["active_at"]
    assert data[0]["tags"] == ["t"] and data[0]["model"] == "m1"
    assert data[0]["updated_at"].endswith("+00:00") and "T" in data[0]["updated_at"]
    assert r.stderr == ""
    assert len(json.loads(cli("session", "list", "--json", "--limit", "3").stdout)) == 3


def test_session_list_quiet_prints_ids_only(cli: CliRunnerHelper) -> None:
    a = make_session("A", updated=ago(hours=2))
    b = make_session("B", updated=ago(hours=1))
    r = cli("session", "list", "-q")
    assert r.exit_code == 0, r.output
    assert r.stdout == f"{b.id}\n{a.id}\n"


def test_session_list_sort_and_asc(cli: CliRunnerHelper) -> None:
    a = make_session("banana", updated=ago(hours=3), messages=[("user", "m")] * 3)
    b = make_session("Apple", updated=ago(hours=1), messages=[("user", "m")] * 1)
    c = make_session("cherry", updated=ago(hours=2), messages=[("user", "m")] * 2)

    def ids(*args: str) -> list[str]:
        r = cli("session", "list", "-q", *args)
        assert r.exit_code == 0, r.output
        return r.stdout.split()

    assert ids() == [b.id, c.id, a.id]
    assert ids("--asc") == [a.id, c.id, b.id]
    assert ids("--sort", "title") == [b.id, a.id, c.id]  # A-Z by default, case ignored
    assert ids("--sort", "title", "--asc") == [b.id, a.id, c.id]
    assert ids("--sort", "title", "--desc") == [c.id, a.id, b.id]
    assert ids("--sort", "messages") == [a.id, c.id, b.id]
    assert ids("--sort", "created", "--asc") == [a.id, c.id, b.id]
    assert ids("--sort", "tokens") is not None

    r = cli("session", "list", "--sort", "size")
    assert r.exit_code == 2
    assert "Traceback" not in r.output


def test_session_list_filters(cli: CliRunnerHelper, tmp_path: Path) -> None:
    here = tmp_path / "proj"
    here.mkdir()
    a = make_session("Fix parser", tags=["bug", "parser"], working_dir=str(here))
    b = make_session("Parser docs", tags=["docs"])
    c = make_session("Auth bug", tags=["bug"])

    def ids(*args: str) -> set[str]:
        r = cli("session", "list", "-q", *args)
        assert r.exit_code == 0, r.output
        return set(r.stdout.split())

    assert ids("--tag", "bug") == {a.id, c.id}
    assert ids("--tag", "bug", "--tag", "parser") == {a.id}
    assert ids("--search", "PARSER") == {a.id, b.id}
    assert ids("--dir", str(here)) == {a.id}
    old = Path.cwd()
    os.chdir(here)
    try:
        assert ids("--here") == {a.id}
    finally:
        os.chdir(old)

    r = cli("session", "list", "--search", "nothing like this")
    assert r.exit_code == 0
    assert r.stdout == ""
    assert "No sessions match" in r.stderr

    r = cli("session", "list", "--here", "--dir", str(here))
    assert r.exit_code == 2
    assert "cannot be used together" in r.output


def test_session_list_table_has_tokens_and_tags_when_wide(cli: CliRunnerHelper) -> None:
    make_session("Tagged", tags=["alpha", "beta"])
    r = cli("session", "list")
    assert r.exit_code == 0, r.output
    assert "Tokens" in r.stdout
    assert "alpha, beta" in r.stdout


def test_listing_marks_a_corrupt_file_with_a_warning(cli: CliRunnerHelper) -> None:
    good = make_session("Good one")
    (sessions_dir() / "0badf11e-0000-4000-8000-000000000000.json").write_text("{not json")

    r = cli("--list-sessions")

    assert r.exit_code == 0, r.output
    assert "Good one" in r.stdout and good.id[:8] in r.stdout
    # Listed (so it can be recovered or deleted) with a marker, not skipped.
    damaged = [line for line in r.stdout.splitlines() if "0badf11e" in line]
    assert len(damaged) == 1 and "(damaged)" in damaged[0], r.stdout
    assert "(damaged)" not in next(line for line in r.stdout.splitlines() if "Good one" in line)
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, r.stderr
    assert "0badf11e-0000-4000-8000-000000000000" in warnings[0]
    assert "Traceback" not in r.stderr


def test_listing_notices_files_removed_behind_the_index(cli: CliRunnerHelper) -> None:
    gone = make_session("Gone")
    kept = make_session("Kept")
    (sessions_dir() / f"{gone.id}.json").unlink()
    r = cli("--list-sessions")
    assert r.exit_code == 0, r.output
    assert kept.id[:8] in r.stdout
    assert gone.id[:8] not in r.stdout


def test_list_sessions_through_the_installed_command(tmp_path: Path) -> None:
    make_session("From a real process", updated=ago(hours=2, minutes=1))
    r = run_opencode("--list-sessions")
    assert r.returncode == 0, r.stderr
    assert "Recent Sessions:" in r.stdout
    assert "From a real process" in r.stdout and "2 hours ago" in r.stdout
    assert "\x1b[" not in r.stdout  # piped: no colour

    other = tmp_path / "elsewhere"
    r = run_opencode("--data-dir", str(other), "--list-sessions")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert "No sessions yet" in r.stderr

    r = run_opencode("--list-sessions", env={"OPENCODE_DATA_DIR": str(other)})
    assert "No sessions yet" in r.stderr


def test_data_dir_option_behaves_like_the_environment_variable(
    cli: CliRunnerHelper, tmp_path: Path
) -> None:
    other = tmp_path / "other-data"
    r = cli("--data-dir", str(other), "session", "new", "--title", "Elsewhere")
    assert r.exit_code == 0, r.output
    assert (other / "sessions" / f"{r.stdout.strip()}.json").is_file()
    r = cli("--data-dir", str(other), "session", "list", "-q")
    assert len(r.stdout.split()) == 1


def test_no_colour_when_piped_even_without_no_color(tmp_path: Path) -> None:
    make_session("Plain please", tags=["x"])
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"
    import subprocess

    from cli_helpers import opencode_command

    for args in (["--list-sessions"], ["session", "list"], ["session", "show", "Plain please"]):
        result = subprocess.run(
            [*opencode_command(), *args], capture_output=True, text=True, env=env, check=False
        )
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stdout
        assert "Plain please" in result.stdout


def test_a_stdout_that_cannot_encode_the_title_still_lists(tmp_path: Path) -> None:
    session = make_session("café ☕", tags=["thé"])
    env = {"PYTHONIOENCODING": "ascii"}
    r = run_opencode("session", "list", "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.isascii()
    rows = json.loads(r.stdout)  # still valid JSON, with the exact text
    assert [(row["title"], row["tags"]) for row in rows] == [("café ☕", ["thé"])]

    for args in (["session", "list"], ["--list-sessions"]):
        r = run_opencode(*args, env=env)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        assert "caf\\xe9 \\u2615" in r.stdout, r.stdout
        assert session.id[:8] in r.stdout

    r = run_opencode("session", "show", session.id, "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["title"] == "café ☕"


def test_empty_data_dir_is_a_usage_error(cli: CliRunnerHelper) -> None:
    r = cli("--data-dir", "", "session", "list")
    assert r.exit_code == 2
    assert "--data-dir" in r.stderr and "empty" in r.stderr
    proc = run_opencode("--data-dir", "", "--list-sessions")
    assert proc.returncode == 2
    assert "--data-dir" in proc.stderr and "Traceback" not in proc.stderr


def test_data_dir_that_is_a_file_is_one_error_line_on_every_path(tmp_path: Path) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    expected = f"error: data folder {a_file} is not a folder"
    runs = [
        run_opencode("--list-sessions", env={"OPENCODE_DATA_DIR": str(a_file)}),
        run_opencode("session", "list", env={"OPENCODE_DATA_DIR": str(a_file)}),
        run_opencode("--list-sessions", "--data-dir", str(a_file)),
        run_opencode("--data-dir", str(a_file), "session", "list"),
    ]
    for r in runs:
        assert r.returncode == 1, r.stderr
        lines = r.stderr.splitlines()
        assert lines[0] == expected
        assert len(lines) == 2 and lines[1].startswith("hint: ")
        assert r.stdout == ""


def test_relative_data_dir_is_made_absolute_for_hooks(tmp_path: Path) -> None:
    log = tmp_path / "hooks.log"
    config = Path(os.environ["OPENCODE_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "hooks.json").write_text(
        json.dumps(
            {
                "hooks": [
                    {
                        "event": "session:start",
                        "command": f'cd / && echo "$OPENCODE_DATA_DIR" >> {log}',
                    }
                ]
            }
        )
    )
    work = tmp_path / "work"
    work.mkdir()

    r = run_opencode("--data-dir", "rel", "session", "new", cwd=work)

    assert r.returncode == 0, r.stderr
    assert (work / "rel" / "sessions" / f"{r.stdout.strip()}.json").is_file()
    assert log.read_text().splitlines() == [str(work / "rel")]
