"""TAB completion: the id fast path, the shipped scripts, bash, and installing the scripts.

zsh and fish are driven in ``test_completion_shells.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import typer
from cli_helpers import (
    REPO,
    CliRunnerHelper,
    ago,
    make_session,
    opencode_command,
    sessions_dir,
    venv_path_env,
)
from typer.testing import CliRunner

from opencode.cli import argv, completion, completion_scripts
from opencode.cli.app import app
from opencode.cli.completion import completes_session_id, session_id_completions

SCRIPTS = completion_scripts.SHIPPED_NAMES
A = "3f2a1b4c-0000-4000-8000-000000000001"
B = "3f2a9999-0000-4000-8000-000000000002"
C = "7c000000-0000-4000-8000-000000000003"


@pytest.fixture
def three() -> None:
    make_session("Refactoring API client", session_id=A, updated=ago(hours=2))
    make_session('Implementing: "auth" [red]x[/red] $HOME', session_id=B, updated=ago(hours=1))
    make_session("", session_id=C, updated=ago(days=3))


def archive(session_id: str) -> None:
    """Archive a session the way the library records it: metadata ``archived_at``."""
    from opencode.sessions import SessionManager, SessionStorage

    manager = SessionManager(storage=SessionStorage())
    manager.resume(session_id)
    manager.set_metadata("archived_at", datetime.now(timezone.utc).isoformat())
    manager.close()


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
        ("--install-completion", False),
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
        ("session export --format=json", True),
        ("session export -o out.md 3f", False),
        ("session show --json", True),
        ("session list", False),
        ("session new", False),
        ("--data-dir /d session show", True),
        ("--data-dir=/d session show", True),
        ("--resume 3f session show", True),
        ("--resume= session show", True),
        ("-r3f session show", True),
        ("--resume --continue", False),  # --resume took no value; -c is a flag
        ("hooks trust", False),
        ("session show --", False),
    ],
)
def test_completes_session_id(line: str, expected: bool) -> None:
    assert completes_session_id(line.split(), "") is expected


def test_option_words_are_never_ids() -> None:
    assert completes_session_id(["session", "show"], "--j") is False


def test_id_command_table_matches_the_app() -> None:
    """argv.ID_COMMANDS lists exactly the session commands with an ID argument, with the
    options of each that take a value (so that value is never offered ids)."""
    root = typer.main.get_command(app)
    root_ctx = typer.Context(root)
    session_group = root.get_command(root_ctx, "session")  # type: ignore[attr-defined]
    ctx = typer.Context(session_group, parent=root_ctx)
    commands = {
        name: session_group.get_command(ctx, name) for name in session_group.list_commands(ctx)
    }

    def id_argument(name: str) -> Any:
        return next(
            (
                p
                for p in commands[name].params
                if p.param_type_name == "argument" and p.metavar in ("ID", "[ID]", "ID...")
            ),
            None,
        )

    with_ids = {name for name in commands if id_argument(name) is not None}
    assert with_ids == set(argv.ID_COMMANDS), "add or remove the row in argv.ID_COMMANDS"
    for name in with_ids:
        takes_value = {
            opt
            for param in commands[name].params
            if param.param_type_name == "option" and not getattr(param, "is_flag", False)
            for opt in param.opts
        }
        assert argv.ID_COMMANDS[name].value_options == takes_value, name
        argument = id_argument(name)
        assert argument is not None
        assert argv.ID_COMMANDS[name].many == (argument.nargs == -1), name
        assert argv.ID_COMMANDS[name].name == name


# -- where the cursor is ----------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("comp_words", "cword", "args", "incomplete", "split"),
    [
        # bash splits at "=" (COMP_WORDBREAKS): the cursor's word arrives in pieces
        ("opencode --resume = 3f", 3, [], "--resume=3f", True),
        ("opencode --resume =", 2, [], "--resume=", True),
        ("opencode --resume 3f", 2, ["--resume"], "3f", False),
        ("opencode --resume ", 2, ["--resume"], "", False),
        (
            "opencode --data-dir = /d session show 3",
            6,
            ["--data-dir=/d", "session", "show"],
            "3",
            False,
        ),
        # "=" not in COMP_WORDBREAKS: one word, and the answer must repeat "--resume="
        ("opencode --resume=3f", 1, [], "--resume=3f", False),
        # an "=" that follows no option is a word of its own
        ("opencode session title 3f a = b", 6, ["session", "title", "3f", "a", "="], "b", False),
    ],
)
def test_bash_cursor_undoes_splits_at_equals(
    monkeypatch: pytest.MonkeyPatch,
    comp_words: str,
    cword: int,
    args: list[str],
    incomplete: str,
    split: bool,
) -> None:
    monkeypatch.setenv("COMP_WORDS", comp_words)
    monkeypatch.setenv("COMP_CWORD", str(cword))
    cursor = completion.shell_cursor("bash")
    assert cursor is not None
    assert (cursor.args, cursor.incomplete, cursor.split_at_equals) == (args, incomplete, split)


# -- candidates, from the SQLite index --------------------------------------------------------


@pytest.mark.usefixtures("three")
def test_candidates_most_recent_first_with_titles() -> None:
    assert session_id_completions("") == [
        (B, 'Implementing: "auth" [red]x[/red] $HOME'),
        (A, "Refactoring API client"),
        (C, "(untitled)"),
    ]


@pytest.mark.usefixtures("three")
def test_candidates_start_with_the_prefix() -> None:
    assert [v for v, _ in session_id_completions("3f2a")] == [B, A]
    assert [v for v, _ in session_id_completions("3f2a1")] == [A]
    assert [v for v, _ in session_id_completions("7")] == [C]
    assert session_id_completions("zz") == []
    assert session_id_completions("%") == []  # no LIKE patterns: a prefix is literal
    assert session_id_completions("3f2a1b4c-0000-4000-8000-000000000001") == [
        (A, "Refactoring API client")
    ]


@pytest.mark.usefixtures("three")
def test_archived_sessions_are_not_offered() -> None:
    archive(A)
    assert [v for v, _ in session_id_completions("")] == [B, C]
    assert session_id_completions("3f2a1") == []


@pytest.mark.usefixtures("three")
def test_most_recent_activity_comes_first() -> None:
    make_session("Refactoring API client", session_id=A, updated=ago(minutes=1))  # touched now
    assert [v for v, _ in session_id_completions("")] == [A, B, C]


def test_no_index_or_a_broken_one_completes_nothing() -> None:
    assert session_id_completions("") == []
    make_session("x", session_id=A)
    index = Path(completion.index_path())
    assert index.is_file() and index.parent.parent == sessions_dir()
    for extra in ("-wal", "-shm"):
        Path(f"{index}{extra}").unlink(missing_ok=True)
    index.write_bytes(b"not a database" * 100)
    assert session_id_completions("3") == []


def test_titles_with_newlines_stay_on_one_line() -> None:
    make_session("two\nlines\ttab", session_id=A)
    assert session_id_completions("3") == [(A, "two lines tab")]


# -- the fast path speaks each shell's protocol -----------------------------------------------


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


# bash and fish read what Typer's own completion prints; the fast path prints the same.
SAME_AS_TYPER = [
    bash("opencode session show 3f", 3),
    bash("opencode --resume ", 2),
    bash(f"opencode session delete {A} ", 4),
    fish("get-args", "opencode session tag "),
    fish("get-args", "opencode -r 3f"),
    fish("is-args", "opencode session tag "),  # what scripts written by Typer ask first
    fish("is-args", "opencode session show zz"),
]


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize("env", SAME_AS_TYPER, ids=lambda env: " ".join(env.values()))
def test_fast_path_output_equals_typers(env: dict[str, str]) -> None:
    assert _fast(env) == _typer(env)


@pytest.mark.usefixtures("three")
def test_fast_path_formats() -> None:
    assert _fast(bash("opencode session show 3f", 3)) == (0, f"{B}\n{A}\n")
    assert _fast(fish("get-args", "opencode session tag "))[1].splitlines() == [
        f'{B}\tImplementing: "auth" [red]x[/red] $HOME',
        f"{A}\tRefactoring API client",
        f"{C}\t(untitled)",
    ]
    assert _fast(fish("is-args", "opencode session show zz"))[0] == 1  # no ids: files instead


@pytest.mark.usefixtures("three")
def test_zsh_answer_keeps_the_order_and_describes_with_titles() -> None:
    code, out = _fast(zsh("opencode session show 3f"))
    assert code == 0
    assert out == (
        "local -a _opencode_ids; _opencode_ids=("
        f"'{B}:Implementing: \"auth\" [red]x[/red] $HOME' '{A}:Refactoring API client'); "
        "_describe -V -t session-ids 'session id' _opencode_ids\n"
    )
    assert _fast(zsh("opencode session show zz")) == (0, "_files\n")


def test_zsh_answer_quotes_titles() -> None:
    make_session("it's $(echo no) `x` \\", session_id=A)
    assert f"'{A}:it'\\''s $(echo no) `x` \\'" in _fast(zsh("opencode -r "))[1]


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        # bash split the word at "=": it replaces only "7", so the answer is the id alone
        (bash("opencode --resume = 7", 3), f"{C}\n"),
        (bash("opencode --resume =", 2), f"{B}\n{A}\n{C}\n"),
        # "=" not a word break: bash replaces the whole word
        (bash("opencode --resume=7", 1), f"--resume={C}\n"),
        (fish("get-args", "opencode --resume=7"), f"--resume={C}\t(untitled)\n"),
        (
            zsh("opencode --resume=7"),
            f"local -a _opencode_ids; _opencode_ids=('{C}:(untitled)'); compset -P '*='; "
            "_describe -V -t session-ids 'session id' _opencode_ids\n",
        ),
    ],
)
def test_resume_equals_prefix(env: dict[str, str], expected: str) -> None:
    assert _fast(env) == (0, expected)


def test_fast_path_honours_data_dir_in_the_command_line(tmp_path: Path) -> None:
    other = tmp_path / "other"
    os.environ["OPENCODE_DATA_DIR"], saved = str(other), os.environ["OPENCODE_DATA_DIR"]
    try:
        session = make_session("Elsewhere")
    finally:
        os.environ["OPENCODE_DATA_DIR"] = saved
    assert _fast(bash(f"opencode --data-dir {other} session show ", 5)) == (0, f"{session.id}\n")
    assert _fast(bash(f"opencode --data-dir = {other} session show ", 6)) == (
        0,
        f"{session.id}\n",
    )
    assert _fast(bash("opencode session show ", 3)) == (0, "\n")  # the default folder is empty


def test_completion_path_imports_only_what_it_needs() -> None:
    """Id completion loads the standard library (sqlite3 included) and the index module,
    never Typer, Click, Rich, httpx or orjson, and never builds the app."""
    make_session("x", session_id=A)
    code = (
        "import os, sys\n"
        "before = set(sys.modules)\n"
        "os.environ.update(_OPENCODE_COMPLETE='complete_bash', "
        "COMP_WORDS='opencode session show 3', COMP_CWORD='3')\n"
        "sys.argv = ['opencode']\n"
        "from opencode.cli.entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(set(sys.modules) - before)), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.stdout == f"{A}\n"
    loaded = set(result.stderr.split())
    assert "sqlite3" in loaded
    ours = {name for name in loaded if name.split(".")[0] == "opencode"}
    assert ours <= {
        "opencode",
        "opencode.cli",
        "opencode.cli.argv",
        "opencode.cli.completion",
        "opencode.cli.entry",
        "opencode.lazy",
        "opencode.paths",
        "opencode.sessions",
        "opencode.sessions.indexfile",
    }
    assert "pathlib" not in loaded and "platformdirs" not in loaded
    others = {name for name in loaded - ours if name.split(".")[0] not in sys.stdlib_module_names}
    assert others == set()  # typer, click, rich, httpx, orjson, platformdirs...


# -- the shipped scripts ----------------------------------------------------------------------


def _generated(shell: str) -> str:
    result = subprocess.run(
        opencode_command(),
        env={**os.environ, "_OPENCODE_COMPLETE": f"source_{shell}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_shipped_scripts_are_what_the_app_generates(shell: str, cli: CliRunnerHelper) -> None:
    shipped = (REPO / "completions" / SCRIPTS[shell]).read_text()
    assert shipped == _generated(shell), (
        f"completions/{SCRIPTS[shell]} is stale; regenerate it with "
        f"opencode --show-completion {shell} > completions/{SCRIPTS[shell]}"
    )
    r = cli("--show-completion", shell)
    assert r.exit_code == 0, r.output
    assert r.stdout == shipped


def test_the_wheel_installs_the_shipped_scripts() -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    shared = config["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert shared == {
        "completions/opencode.bash": "share/bash-completion/completions/opencode",
        "completions/_opencode": "share/zsh/site-functions/_opencode",
        "completions/opencode.fish": "share/fish/vendor_completions.d/opencode.fish",
    }


def _bash_complete(*words: str) -> list[str]:
    """COMPREPLY of the shipped script for COMP_WORDS as bash splits them (at ``=`` too)."""
    quoted = " ".join(f"'{word}'" for word in words)
    script = (
        f"source {REPO / 'completions' / 'opencode.bash'}\n"
        f"COMP_WORDS=({quoted})\n"
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


@pytest.fixture
def bash_installed() -> None:
    if shutil.which("bash") is None:
        pytest.fail("bash is not installed (.ci/run expects it on the machine)")


@pytest.mark.usefixtures("three", "bash_installed")
def test_shipped_bash_script_completes_ids_commands_and_options() -> None:
    assert _bash_complete("opencode", "session", "show", "3f") == [B, A]
    assert _bash_complete("opencode", "session", "show", "") == [B, A, C]
    assert _bash_complete("opencode", "--resume", "7") == [C]
    assert _bash_complete("opencode", "sess") == ["session"]
    assert "cleanup" in _bash_complete("opencode", "session", "")
    assert "--max-age-days" in _bash_complete("opencode", "session", "cleanup", "--")
    assert _bash_complete("opencode", "session", "list", "--sort", "t") == ["title", "tokens"]


@pytest.mark.usefixtures("three", "bash_installed")
def test_shipped_bash_script_completes_after_equals() -> None:
    """``--resume=3f<TAB>``: bash hands over ``--resume``, ``=``, ``3f`` and replaces ``3f``."""
    assert _bash_complete("opencode", "--resume", "=", "3f") == [B, A]
    assert _bash_complete("opencode", "--resume", "=") == [B, A, C]
    assert _bash_complete("opencode", "-r", "=", "7") == [C]
    assert _bash_complete("opencode", "session", "list", "--sort", "=", "t") == ["title", "tokens"]
    assert _bash_complete("opencode", "--install-completion", "=", "z") == ["zsh"]


@pytest.mark.usefixtures("bash_installed")
def test_shipped_bash_script_keeps_the_order_where_bash_can() -> None:
    script = f"source {REPO / 'completions' / 'opencode.bash'}\ncomplete -p opencode\n"
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "-o nosort" in result.stdout  # bash >= 4.4
    assert "-F _opencode_completion opencode" in result.stdout


# -- installing -------------------------------------------------------------------------------


def _install(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*opencode_command(), "--install-completion", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def _home() -> Path:
    return Path(os.environ["HOME"])


def _shipped(shell: str) -> str:
    return (REPO / "completions" / SCRIPTS[shell]).read_text()


def test_install_bash_uses_bash_completions_user_folder() -> None:
    result = _install("bash")
    assert result.returncode == 0, result.stderr
    target = Path(os.environ["XDG_DATA_HOME"]) / "bash-completion" / "completions" / "opencode"
    assert target.read_text() == _shipped("bash")
    assert result.stdout == ""  # talk goes to stderr
    assert f"bash completion written: {target}" in result.stderr
    assert f"source {target}" in result.stderr  # how to load it without bash-completion
    assert not (_home() / ".bashrc").exists()  # bash-completion needs no rc line


def test_install_bash_honours_bash_completion_user_dir(tmp_path: Path) -> None:
    result = _install("bash", BASH_COMPLETION_USER_DIR=str(tmp_path / "bc"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "bc" / "completions" / "opencode").read_text() == _shipped("bash")


def test_install_fish_uses_its_completions_folder() -> None:
    result = _install("fish")
    assert result.returncode == 0, result.stderr
    target = Path(os.environ["XDG_CONFIG_HOME"]) / "fish" / "completions" / "opencode.fish"
    assert target.read_text() == _shipped("fish")
    assert str(target) in result.stderr


def test_install_zsh_adds_the_folder_to_fpath_once_without_clobbering_zshrc() -> None:
    zshrc = _home() / ".zshrc"
    zshrc.write_text("# mine\nautoload -Uz compinit && compinit\nalias x=y")  # no final newline
    result = _install("zsh")
    assert result.returncode == 0, result.stderr
    folder = Path(os.environ["XDG_DATA_HOME"]) / "zsh" / "site-functions"
    assert (folder / "_opencode").read_text() == _shipped("zsh")
    line = completion_scripts.zshrc_line(folder)
    assert zshrc.read_text() == (
        f"# mine\nautoload -Uz compinit && compinit\nalias x=y\n{completion_scripts.RC_MARK}\n"
        f"{line}\n"
    )
    assert f"added to {zshrc}" in result.stderr
    assert "compinit" not in result.stderr.split("use it.")[-1]  # no hint: compinit is there

    again = _install("zsh")
    assert again.returncode == 0, again.stderr
    assert zshrc.read_text().count(line) == 1
    assert "already up to date" in again.stderr and "already has the line" in again.stderr


def test_install_zsh_honours_zdotdir_and_says_when_compinit_is_missing(tmp_path: Path) -> None:
    zdotdir = tmp_path / "zdot"
    zdotdir.mkdir()
    result = _install("zsh", ZDOTDIR=str(zdotdir))
    assert result.returncode == 0, result.stderr
    assert completion_scripts.RC_MARK in (zdotdir / ".zshrc").read_text()
    assert not (_home() / ".zshrc").exists()
    assert "autoload -Uz compinit && compinit" in result.stderr


def test_install_without_a_name_uses_the_login_shell() -> None:
    result = _install(SHELL="/usr/bin/fish")
    assert result.returncode == 0, result.stderr
    assert (Path(os.environ["XDG_CONFIG_HOME"]) / "fish" / "completions" / "opencode.fish").exists()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("tcsh",), {}, "'tcsh' is not one of bash, zsh, fish"),
        (
            (),
            {"SHELL": "/bin/tcsh"},
            "cannot tell the shell from $SHELL; name it: bash | zsh | fish",
        ),
    ],
)
def test_install_refuses_other_shells(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = _install(*args, **env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert not (_home() / ".local").exists()


def test_install_replaces_an_older_script() -> None:
    target = Path(os.environ["XDG_CONFIG_HOME"]) / "fish" / "completions" / "opencode.fish"
    target.parent.mkdir(parents=True)
    target.write_text("# an older opencode's script\n")
    result = _install("fish")
    assert result.returncode == 0, result.stderr
    assert target.read_text() == _shipped("fish")
    assert "fish completion replaced" in result.stderr


def test_typers_own_completion_options_give_way_to_ours(cli: CliRunnerHelper) -> None:
    root = typer.main.get_command(app)
    names = [
        opt
        for param in root.get_params(typer.Context(root, info_name="opencode"))
        for opt in param.opts
    ]
    assert names.count("--install-completion") == 1
    assert names.count("--show-completion") == 1
    r = cli("--show-completion", "zsh")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("#compdef opencode\n")
