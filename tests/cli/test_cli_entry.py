"""The console script's own logic: argv normalisation and the listing fast path."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cli_helpers import CliRunnerHelper, make_session, run_opencode

from opencode.cli.entry import fast_listing_data_dir, normalize_argv


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], []),
        (["--resume"], ["--resume="]),
        (["-r"], ["--resume="]),
        (["--resume", "3f2a"], ["--resume", "3f2a"]),
        (["-r", "3f2a"], ["-r", "3f2a"]),
        (["--resume=3f2a"], ["--resume=3f2a"]),
        (["-r3f2a"], ["-r3f2a"]),
        (["--resume", "--model", "m"], ["--resume=", "--model", "m"]),
        (["--model", "m", "--resume"], ["--model", "m", "--resume="]),
        (["--model", "--resume"], ["--model", "--resume"]),  # --resume is --model's value
        (["--data-dir", "/d", "-r"], ["--data-dir", "/d", "--resume="]),
        (["--resume", "-c"], ["--resume=", "-c"]),
        # after the subcommand nothing is rewritten
        (["session", "resume", "--resume"], ["session", "resume", "--resume"]),
        (["session", "show", "-r"], ["session", "show", "-r"]),
        (["--", "--resume"], ["--", "--resume"]),
        (["--list-sessions"], ["--list-sessions"]),
    ],
)
def test_normalize_argv(argv: list[str], expected: list[str]) -> None:
    assert normalize_argv(argv) == expected


def test_normalize_argv_does_not_modify_its_input() -> None:
    argv = ["--resume"]
    normalize_argv(argv)
    assert argv == ["--resume"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--list-sessions"], (True, None)),
        (["--list-sessions", "--data-dir", "/d"], (True, "/d")),
        (["--data-dir", "/d", "--list-sessions"], (True, "/d")),
        (["--data-dir=/d", "--list-sessions"], (True, "/d")),
        (["--list-sessions", "--model", "m"], (False, None)),
        (["--list-sessions", "--resume="], (False, None)),
        (["--list-sessions", "-h"], (False, None)),
        (["--data-dir", "--list-sessions"], (False, None)),
        (["session", "list"], (False, None)),
        ([], (False, None)),
    ],
)
def test_fast_listing_is_only_for_the_plain_listing(
    argv: list[str], expected: tuple[bool, str | None]
) -> None:
    assert fast_listing_data_dir(argv) == expected


def test_fast_listing_path_imports_neither_typer_nor_click() -> None:
    make_session("Fast one")
    code = (
        "import sys, io\n"
        "sys.argv = ['opencode', '--list-sessions']\n"
        "out = io.StringIO(); real = sys.stdout; sys.stdout = out\n"
        "from opencode.cli.entry import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "sys.stdout = real\n"
        "assert code == 0, code\n"
        "assert 'Fast one' in out.getvalue(), out.getvalue()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_python_dash_m_opencode_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "opencode", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("opencode ")


def test_installed_script_prints_version() -> None:
    r = run_opencode("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("opencode ")
    assert r.stderr == ""


def test_ctrl_c_exits_130_without_a_traceback(
    cli: CliRunnerHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(**_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("opencode.cli.render.print_listing", interrupted)
    r = cli("session", "list")
    assert r.exit_code == 130
    assert r.stderr == "interrupted\n"

    from opencode.cli.errors import run_guarded

    assert run_guarded(interrupted) == 130


def test_root_value_options_match_the_app() -> None:
    import typer

    from opencode.cli.app import app
    from opencode.cli.completion import RESUME_OPTIONS, ROOT_VALUE_OPTIONS

    root = typer.main.get_command(app)
    takes_value = {
        opt
        for param in root.params
        if not getattr(param, "is_flag", False) and param.name != "resume"
        for opt in param.opts
    }
    assert takes_value == ROOT_VALUE_OPTIONS
    resume = next(p for p in root.params if p.name == "resume")
    assert set(resume.opts) == RESUME_OPTIONS
