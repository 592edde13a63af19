"""TAB completion: the shipped scripts, the id fast path, and agreement with Typer's own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import REPO, ago, make_session, opencode_command, sessions_dir, venv_path_env
from typer.testing import CliRunner

from opencode import paths
from opencode.cli import completion
from opencode.cli.app import app
from opencode.cli.completion import completes_session_id, session_id_completions

SCRIPTS = {"bash": "opencode.bash", "zsh": "_opencode", "fish": "opencode.fish"}
A = "3f2a1b4c-0000-4000-8000-000000000001"
B = "3f2a9999-0000-4000-8000-000000000002"
C = "7c000000-0000-4000-8000-000000000003"


@pytest.fixture
def three() -> None:
    make_session("Refactoring API client", session_id=A, updated=ago(hours=2))
    make_session('Implementing: "auth" [red]x[/red] $HOME', session_id=B, updated=ago(hours=1))
    make_session("", session_id=C, updated=ago(days=3))


# -- which word is a session id ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("--resume", True),
        ("-r", True),
        ("--model m --resume", True),
        ("--resume 3f --model", False),
        ("", False),
        ("--model", False),
        ("session", False),
        ("session show", True),
        ("session resume", True),
        ("session title", True),
        ("session tag", True),
        ("session export", True),
        ("session recover", True),
        ("session delete", True),
        ("session delete 3f2a", True),  # every argument of delete is an id
        ("session show 3f2a", False),
        ("session title 3f2a", False),  # now the title
        ("session tag 3f2a", False),
        ("session export --format", False),
        ("session export -f", False),
        ("session export -f json", True),
        ("session export --format json", True),
        ("session export -o out.md 3f", False),
        ("session show --json", True),
        ("session list", False),
        ("session new", False),
        ("--data-dir /d session show", True),
        ("--resume 3f session show", True),
        ("hooks trust", False),
        ("session show --", False),
    ],
)
def test_completes_session_id(line: str, expected: bool) -> None:
    assert completes_session_id(line.split(), "") is expected


def test_option_words_are_never_ids() -> None:
    assert completes_session_id(["session", "show"], "--j") is False


def test_id_command_tables_match_the_app() -> None:
    """Every option that takes a value is known, so its value is never offered ids."""
    import typer

    session_group = typer.main.get_command(app).commands["session"]  # type: ignore[attr-defined]
    id_commands = {
        name
        for name, command in session_group.commands.items()
        if any(
            p.param_type_name == "argument" and p.metavar in ("ID", "[ID]", "ID...")
            for p in command.params
        )
    }
    assert id_commands == set(completion.ID_COMMANDS)
    for name in id_commands:
        takes_value = {
            opt
            for param in session_group.commands[name].params
            if param.param_type_name == "option" and not getattr(param, "is_flag", False)
            for opt in param.opts
        }
        assert completion.ID_COMMANDS[name] == takes_value, name
    multi = {
        name
        for name in id_commands
        if any(
            p.param_type_name == "argument" and p.nargs == -1 and p.metavar == "ID..."
            for p in session_group.commands[name].params
        )
    }
    assert multi == completion.MULTI_ID_COMMANDS


@pytest.mark.parametrize(
    "line",
    [
        "opencode session show 3f",
        "  opencode\tsession  \n show ",
        "",
        "opencode --data-dir 'a b' session show",
        'opencode session show "unfinished',
        "opencode session show a\\ b",
        "opencode x\x0by caf\u00e9\u00a0z",
    ],
)
def test_split_arg_string_is_shlex_splitting(line: str) -> None:
    assert completion.split_arg_string(line) == shlex_words(line)


def shlex_words(line: str) -> list[str]:
    """shlex's words up to an unclosed quote, plus the partial word (as Click keeps it)."""
    import shlex

    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words: list[str] = []
    try:
        words.extend(lexer)
    except ValueError:
        words.append(lexer.token)
    return words


# -- candidates -------------------------------------------------------------------------------


@pytest.mark.usefixtures("three")
def test_candidates_most_recent_first_with_titles() -> None:
    assert session_id_completions("") == [
        (B, 'Implementing: "auth" [red]x[/red] $HOME'),
        (A, "Refactoring API client"),
        (C, "(untitled)"),
    ]
    assert [v for v, _ in session_id_completions("3f2a1")] == [A]
    assert [v for v, _ in session_id_completions("7")] == [C]
    assert session_id_completions("zz") == []


def test_no_index_completes_nothing() -> None:
    assert session_id_completions("") == []
    sessions_dir().mkdir(parents=True)
    (sessions_dir() / "index.json").write_text("{broken")
    assert session_id_completions("3") == []


@pytest.mark.usefixtures("three")
def test_scan_and_full_parse_agree() -> None:
    data = (sessions_dir() / "index.json").read_bytes()
    for prefix in ("3", "3f2a", "3f2a9", "7c", "x"):
        scanned = completion._scan_entries(data, prefix)
        assert scanned is not None
        assert sorted(scanned, key=lambda e: e[0]) == sorted(
            completion._parse_entries(data, prefix), key=lambda e: e[0]
        )
    compact = json.dumps(json.loads(data)).encode()
    assert completion._scan_entries(compact, "3") is None  # unknown layout: full parse instead
    (sessions_dir() / "index.json").write_bytes(compact)
    assert [v for v, _ in session_id_completions("3f")] == [B, A]


def test_titles_with_newlines_stay_on_one_line() -> None:
    make_session("two\nlines\ttab", session_id=A)
    assert session_id_completions("3") == [(A, "two lines tab")]


# -- the fast path speaks each shell's protocol, exactly like Typer ---------------------------


def _fast(env: dict[str, str]) -> tuple[int, str]:
    result = subprocess.run(
        opencode_command(),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stderr == ""
    return result.returncode, result.stdout


def _typer(env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, [], env=env, prog_name="opencode")
    return result.exit_code, result.stdout


def bash(words: str, cword: int) -> dict[str, str]:
    return {"_OPENCODE_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}


def zsh(line: str) -> dict[str, str]:
    return {"_OPENCODE_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line}


def fish(action: str, line: str) -> dict[str, str]:
    return {
        "_OPENCODE_COMPLETE": "complete_fish",
        "_TYPER_COMPLETE_FISH_ACTION": action,
        "_TYPER_COMPLETE_ARGS": line,
    }


SHELL_CASES = [
    bash("opencode session show 3f", 3),
    bash("opencode --resume ", 2),
    bash(f"opencode session delete {A} ", 4),
    zsh("opencode session show 3f"),
    zsh("opencode session export zz"),
    zsh("opencode -r "),
    fish("get-args", "opencode session tag "),
    fish("is-args", "opencode session tag "),
    fish("is-args", "opencode session show zz"),
]


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize("env", SHELL_CASES, ids=lambda env: " ".join(env.values()))
def test_fast_path_output_equals_typers(env: dict[str, str]) -> None:
    assert _fast(env) == _typer(env)


@pytest.mark.usefixtures("three")
def test_fast_path_formats() -> None:
    code, out = _fast(SHELL_CASES[0])
    assert (code, out) == (0, f"{B}\n{A}\n")
    code, out = _fast(SHELL_CASES[3])
    assert out.startswith(f'_arguments \'*: :(("{B}":"Implementing\\\\: ""auth"" [red]x')
    code, out = _fast(SHELL_CASES[6])
    assert out.splitlines()[-1] == f"{C}\t(untitled)"
    assert _fast(SHELL_CASES[8])[0] == 1  # fish: no ids here, let it complete files


def test_fast_path_honours_data_dir_in_the_command_line(tmp_path: Path) -> None:
    other = tmp_path / "other"
    os.environ["OPENCODE_DATA_DIR"], saved = str(other), os.environ["OPENCODE_DATA_DIR"]
    try:
        session = make_session("Elsewhere")
    finally:
        os.environ["OPENCODE_DATA_DIR"] = saved
    env = {
        "_OPENCODE_COMPLETE": "complete_bash",
        "COMP_WORDS": f"opencode --data-dir {other} session show ",
        "COMP_CWORD": "5",
    }
    assert _fast(env) == (0, f"{session.id}\n")


def test_completion_path_imports_only_what_it_needs() -> None:
    make_session("x", session_id=A)
    code = (
        "import os, sys\n"
        "os.environ.update(_OPENCODE_COMPLETE='complete_bash', "
        "COMP_WORDS='opencode session show 3', COMP_CWORD='3')\n"
        "sys.argv = ['opencode']\n"
        "from opencode.cli.entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('typer', 'click', 'rich', 'orjson', 'platformdirs', 'humanize', 'typing',\n"
        "         'shlex')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "                or m.startswith('opencode.sessions'))\n"
        "print(loaded, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.stdout == f"{A}\n"
    assert result.stderr.strip() == "[]"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"XDG_DATA_HOME": "/x/data"},
        {"XDG_DATA_HOME": "relative/data"},
        {"XDG_DATA_HOME": ""},
        {"OPENCODE_DATA_DIR": "~/od"},
    ],
)
def test_default_data_dir_matches_paths(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.delenv("OPENCODE_DATA_DIR")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert completion.default_data_dir() == str(paths.data_dir())


# -- the shipped scripts ----------------------------------------------------------------------


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_shipped_scripts_are_what_the_app_generates(shell: str) -> None:
    result = subprocess.run(
        opencode_command(),
        env={**os.environ, "_OPENCODE_COMPLETE": f"source_{shell}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    shipped = (REPO / "completions" / SCRIPTS[shell]).read_text()
    assert shipped == result.stdout.strip() + "\n", (
        f"completions/{SCRIPTS[shell]} is stale; regenerate it with "
        f"_OPENCODE_COMPLETE=source_{shell} opencode"
    )


def _bash_complete(*words: str) -> list[str]:
    script = (
        f"source {REPO / 'completions' / 'opencode.bash'}\n"
        f"COMP_WORDS=({' '.join(words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        "_opencode_completion opencode\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        env={**os.environ, **venv_path_env()},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.usefixtures("three")
def test_shipped_bash_script_completes_ids_commands_and_options() -> None:
    assert _bash_complete("opencode", "session", "show", "3f") == [B, A]
    assert _bash_complete("opencode", "session", "show", "") == [B, A, C]
    assert _bash_complete("opencode", "--resume", "7") == [C]
    assert _bash_complete("opencode", "sess") == ["session"]
    assert "cleanup" in _bash_complete("opencode", "session", "")
    assert "--max-age-days" in _bash_complete("opencode", "session", "cleanup", "--")
    assert _bash_complete("opencode", "session", "list", "--sort", "t") == ["title", "tokens"]


def test_install_completion_writes_the_script(tmp_path: Path) -> None:
    result = subprocess.run(
        [*opencode_command(), "--install-completion", "bash"],
        env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    installed = Path(os.environ["HOME"]) / ".bash_completions" / "opencode.sh"
    assert (
        installed.read_text().strip()
        == (REPO / "completions" / "opencode.bash").read_text().strip()
    )
