"""The console script's own logic: argv normalisation (the fast paths: ``test_fastpath.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import CliRunnerHelper, run_opencode

from opencode.cli.app import OpencodeGroup
from opencode.cli.entry import normalize_argv


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
        # every optional-value option of the table is handled alike
        (["--install-completion"], ["--install-completion="]),
        (["--install-completion", "zsh"], ["--install-completion", "zsh"]),
        (["--show-completion", "--data-dir", "/d"], ["--show-completion=", "--data-dir", "/d"]),
        (["-c", "-r"], ["-c", "--resume="]),
        (["--unknown", "-r"], ["--unknown", "--resume="]),
    ],
)
def test_normalize_argv(argv: list[str], expected: list[str]) -> None:
    assert normalize_argv(argv) == expected


def test_normalize_argv_does_not_modify_its_input() -> None:
    argv = ["--resume"]
    normalize_argv(argv)
    assert argv == ["--resume"]


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
    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("opencode.cli.listing.print_listing", interrupted)
    r = cli("session", "list")
    assert r.exit_code == 130
    assert r.stderr == "interrupted\n"

    from opencode.cli.errors import run_guarded

    assert run_guarded(interrupted) == 130


def test_root_option_table_is_the_apps() -> None:
    """argv.ROOT_OPTIONS and the app's root options agree: the same options, names, value
    or not, metavar and help. A root option added to the app alone fails here."""
    import typer

    from opencode.cli.app import app
    from opencode.cli.argv import FLAG, OPTIONAL, ROOT_OPTIONS

    root = typer.main.get_command(app)
    params = root.get_params(typer.Context(root, info_name="opencode"))
    in_app = {param.opts[0]: param for param in params if param.name != "help"}
    assert set(in_app) == {row.name for row in ROOT_OPTIONS}, "add the row to argv.ROOT_OPTIONS"
    for row in ROOT_OPTIONS:
        param = in_app[row.name]
        assert set(param.opts) | set(param.secondary_opts) == set(row.names), row.name
        assert param.is_flag == (row.takes == FLAG), row.name  # type: ignore[attr-defined]
        assert param.metavar == row.metavar, row.name
        assert param.help == row.help, row.name  # type: ignore[attr-defined]
        if row.takes == OPTIONAL:
            assert param.type.convert("", param, None) == "", row.name  # "--resume=" is ""


def test_an_optional_value_works_both_ways_through_the_entry_point() -> None:
    r = run_opencode("--show-completion", "fish")
    assert r.returncode == 0, r.stderr
    r_bare = run_opencode("--show-completion", env={"SHELL": "/usr/bin/fish"})
    assert r_bare.returncode == 0, r_bare.stderr
    assert r_bare.stdout == r.stdout
    assert r.stdout.startswith("# fish TAB completion for opencode")


def test_sort_names_are_the_librarys() -> None:
    from opencode.cli.session import SortField
    from opencode.sessions.index import SORT_ALIASES, SORT_FIELDS

    offered = {field.value for field in SortField}
    understood = {SORT_ALIASES.get(name, name) for name in offered}
    assert understood == set(SORT_FIELDS)  # every field sortable, each by one name
    assert offered <= set(SORT_ALIASES) | set(SORT_FIELDS)


def test_history_budget_default_is_the_chat_librarys(cli: CliRunnerHelper) -> None:
    import typer

    from opencode.chat import DEFAULT_HISTORY_TOKENS
    from opencode.cli.app import app
    from opencode.cli.repl import ReplOptions

    option = next(p for p in typer.main.get_command(app).params if p.name == "history_tokens")
    assert f"default: {DEFAULT_HISTORY_TOKENS}" in (option.help or "")
    assert option.default is None  # so the budget comes from ReplOptions alone
    assert ReplOptions().history_tokens == DEFAULT_HISTORY_TOKENS


def test_a_broken_lazy_sub_app_shows_its_real_error(
    cli: CliRunnerHelper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lazyapps"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "broken.py").write_text("import a_dependency_that_is_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(OpencodeGroup.lazy, "broken", ("lazyapps.broken", "app"))
    monkeypatch.setitem(OpencodeGroup.lazy, "absent", ("lazyapps.absent", "app"))

    r = cli("absent")  # not installed at all: simply no such command
    assert r.exit_code == 2
    assert "No such command" in r.stderr

    r = cli("broken")  # installed but broken: the import error is not hidden
    assert isinstance(r.exception, ModuleNotFoundError)
    assert r.exception.name == "a_dependency_that_is_not_installed"


def test_hooks_errors_are_reported_like_every_other_command(
    cli: CliRunnerHelper, tmp_path: Path
) -> None:
    r = cli("hooks", "trust", str(tmp_path))
    assert r.exit_code == 1
    assert r.stdout == ""
    assert len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith("error: ") and str(tmp_path) in r.stderr


def test_chat_settings_errors_are_usage_errors(cli: CliRunnerHelper) -> None:
    from opencode.chat import ChatConfigError
    from opencode.cli.errors import report
    from opencode.sessions import SessionStorage

    assert report(ChatConfigError("bad settings")) == 2
    r = cli("--base-url", "http://127.0.0.1:9/v1")  # a server but no model
    assert r.exit_code == 2, r.output
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("error: ")
    assert SessionStorage().list_session_ids() == []  # checked before a session was made
