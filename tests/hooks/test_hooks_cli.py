"""`opencode hooks list` and `opencode hooks trust`, through the Typer sub-app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opencode.cli.hooks import app
from opencode.hooks import is_trusted

WriteHooks = Callable[..., Path]
RunOpencode = Callable[..., subprocess.CompletedProcess[str]]
runner = CliRunner()


@pytest.fixture
def configured(
    config_dir: Path, project: Path, write_hooks: WriteHooks, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A global hook, and an untrusted project (the current folder) with two hooks."""
    write_hooks(
        config_dir / "hooks.json",
        [{"event": "session:start", "command": "echo global", "description": "hello"}],
    )
    hooks_file = write_hooks(
        project / ".opencode" / "hooks.json",
        [
            {"event": "tool:pre_execute:bash", "command": "echo \x1b[31mred"},
            {"event": "session:end", "command": "echo off", "enabled": False},
        ],
    )
    monkeypatch.chdir(project)
    return hooks_file


def test_list_with_no_hooks() -> None:
    r = runner.invoke(app, ["list"])
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    assert "No hooks configured" in r.stderr


def test_list_shows_source_pattern_command_and_whether_it_runs(configured: Path) -> None:
    r = runner.invoke(app, ["list"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["SOURCE", "RUNS", "EVENT", "DESCRIPTION", "COMMAND"]
    assert lines[1].split() == ["global", "yes", "session:start", "hello", "echo", "global"]
    assert lines[2].split() == [
        "project",
        "no",
        "(untrusted)",
        "tool:pre_execute:bash",
        "-",
        "echo",
        "\\x1b[31mred",
    ]
    assert lines[3].split() == [
        "project",
        "no",
        "(disabled)",
        "session:end",
        "-",
        "echo",
        "off",
    ]
    assert "\x1b" not in r.stdout
    assert str(configured.resolve()) in r.stderr
    assert "opencode hooks trust" in r.stderr


def test_installed_command_lists_descriptions(
    config_dir: Path, write_hooks: WriteHooks, run_opencode: RunOpencode
) -> None:
    long_text = "Tell the team channel that a session started, with its id and folder"
    write_hooks(
        config_dir / "hooks.json",
        [
            {"event": "session:start", "command": "notify", "description": long_text},
            {"event": "session:end", "command": "bye", "description": "say\x1b[2J  bye"},
            {"event": "session:save", "command": "quiet"},
        ],
    )
    r = run_opencode("hooks", "list")
    assert r.returncode == 0, r.stderr
    header, first, second, third = r.stdout.splitlines()
    column = header.index("DESCRIPTION")
    assert header.index("COMMAND") > column
    assert first[column:].startswith(long_text[:30])
    assert "..." in first
    assert first.rstrip().endswith("notify")
    assert second[column:].startswith("say\\x1b[2J bye")
    assert third[column:].startswith("- ")
    assert "\x1b" not in r.stdout

    r = run_opencode("hooks", "list", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["description"] for row in rows] == [long_text, "say\x1b[2J  bye", ""]


def test_list_json(configured: Path) -> None:
    r = runner.invoke(app, ["list", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [(row["source"], row["event"], row["will_run"]) for row in rows] == [
        ("global", "session:start", True),
        ("project", "tool:pre_execute:bash", False),
        ("project", "session:end", False),
    ]
    assert rows[1]["command"] == "echo \x1b[31mred"
    assert rows[1]["file"] == str(configured.resolve())
    assert rows[0]["description"] == "hello"
    assert {"trusted", "enabled", "timeout", "index"} <= rows[0].keys()


def test_list_json_with_no_hooks() -> None:
    r = runner.invoke(app, ["list", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == []


def test_trust_default_path_is_the_current_folder(configured: Path) -> None:
    r = runner.invoke(app, ["trust"])
    assert r.exit_code == 0, r.output
    assert str(configured.resolve()) in r.stdout
    assert r.stderr == ""
    assert is_trusted(configured)
    rows = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    assert [row["will_run"] for row in rows] == [True, True, False]


def test_trust_explicit_path(project: Path, write_hooks: WriteHooks) -> None:
    hooks_file = write_hooks(project / ".opencode" / "hooks.json", [])
    r = runner.invoke(app, ["trust", str(project)])
    assert r.exit_code == 0, r.output
    assert is_trusted(hooks_file)


def test_trust_without_hooks_file_is_one_line_error(work_dir: Path) -> None:
    r = runner.invoke(app, ["trust", str(work_dir)])
    assert r.exit_code == 1
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert str(work_dir) in r.stderr


def test_library_does_not_import_typer_or_rich() -> None:
    code = (
        "import sys, opencode.hooks; "
        "print(sorted(m for m in ('typer', 'rich', 'click') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == "[]"
