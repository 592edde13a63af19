"""Every command has help and is documented; the libraries stay free of terminal code."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import typer
from cli_helpers import REPO, CliRunnerHelper

from opencode.cli.app import app

ROOT_OPTIONS = ["--list-sessions", "--resume", "--continue", "--data-dir", "--version"]


def command_paths() -> Iterator[tuple[str, typer.Context, object]]:
    """``("opencode session list", ctx, command)`` for every command and group."""
    root = typer.main.get_command(app)

    def walk(
        command: object, path: str, parent: typer.Context | None
    ) -> Iterator[tuple[str, typer.Context, object]]:
        name = path.rsplit(" ", 1)[-1]
        ctx = typer.Context(command, info_name=name, parent=parent)  # type: ignore[arg-type]
        yield path, ctx, command
        list_commands = getattr(command, "list_commands", None)
        if list_commands is not None:
            for name in list_commands(ctx):
                yield from walk(command.get_command(ctx, name), f"{path} {name}", ctx)  # type: ignore[attr-defined]

    yield from walk(root, "opencode", None)


ALL_COMMANDS = [path for path, _, _ in command_paths()]


def test_the_expected_commands_exist() -> None:
    for path in (
        "opencode session new",
        "opencode session list",
        "opencode session show",
        "opencode session resume",
        "opencode session title",
        "opencode session tag",
        "opencode session delete",
        "opencode session cleanup",
        "opencode session export",
        "opencode session recover",
        "opencode hooks",
    ):
        assert path in ALL_COMMANDS


@pytest.mark.parametrize("path", ALL_COMMANDS)
def test_every_command_has_help(path: str, cli: CliRunnerHelper) -> None:
    command = next(c for p, _, c in command_paths() if p == path)
    assert (getattr(command, "help", None) or "").strip(), f"{path} has no help text"
    for param in getattr(command, "params", []):
        if param.name not in ("help",) and not getattr(param, "hidden", False):
            assert getattr(param, "help", None), f"{path}: {param.name} has no help"
    r = cli(*path.split()[1:], "--help")
    assert r.exit_code == 0, r.output
    assert "Usage:" in r.stdout


@pytest.mark.parametrize("path", [p for p in ALL_COMMANDS if p != "opencode"])
def test_every_command_is_in_the_readme(path: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert path in readme, f"README.md does not document `{path}`"


@pytest.mark.parametrize("option", ROOT_OPTIONS)
def test_root_options_are_in_the_readme(option: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"opencode {option}" in readme, f"README.md does not show `opencode {option}`"


def test_libraries_never_import_terminal_packages() -> None:
    code = (
        "import opencode.sessions, opencode.hooks, opencode.chat, sys\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click'))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_hooks_commands_are_mounted_lazily(cli: CliRunnerHelper) -> None:
    r = cli("hooks", "list", "--json")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "[]"
    r = cli("hooks", "--help")
    assert r.exit_code == 0
    assert "--install-completion" not in r.stdout
    r = cli("--help")
    assert "session" in r.stdout and "hooks" in r.stdout
