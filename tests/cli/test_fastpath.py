"""Commands the entry point serves without Typer: which ones, and that they behave exactly
as the Typer commands do (same output, same exit code, same effect)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import CliRunnerHelper, ago, make_session, modules_loaded_by, run_opencode

from opencode.cli.fastpath import FLAG, MANY, VALUE, fast_action, read_options
from opencode.sessions import SessionIndex, SessionManager, SessionStorage


@pytest.mark.parametrize(
    ("argv", "served"),
    [
        (["--list-sessions"], True),
        (["--list-sessions", "--data-dir", "/d"], True),
        (["--data-dir", "/d", "--list-sessions"], True),
        (["--data-dir=/d", "--list-sessions"], True),
        (["--data-dir", "/a", "--data-dir", "/d", "--list-sessions"], True),
        (["--list-sessions", "--list-sessions"], True),
        (["--list-sessions", "--data-dir"], False),
        (["--list-sessions", "--data-dir="], False),
        (["--list-sessions", "session", "list"], False),
        (["--list-sessions", "--model", "m"], False),
        (["--list-sessions", "--resume="], False),
        (["--list-sessions", "-h"], False),
        (["--data-dir", "--list-sessions"], False),
        (["--data-dir", " ", "session", "list"], False),  # Typer refuses a blank folder
        ([], False),
        (["session"], False),
        (["session", "list"], True),
        (["--data-dir", "/d", "session", "list", "--search", "x", "--limit", "20"], True),
        (["session", "list", "-n", "5", "--tag", "a", "--tag", "b", "--json"], True),
        (["session", "list", "--limit=0", "--offset", "3", "--all", "--wide", "--tree"], True),
        (["session", "list", "-q", "--archived", "--here"], True),
        (["session", "list", "--help"], False),
        (["session", "list", "--limit", "-1"], False),  # Typer says what is wrong
        (["session", "list", "--limit", "many"], False),
        (["session", "list", "--limit"], False),
        (["session", "list", "--json", "--quiet"], False),  # options that exclude each other
        (["session", "list", "--archived", "--all"], False),
        (["session", "list", "--sort", "title"], False),  # not served: Typer's choice check
        (["session", "list", "--dir", "/x"], False),
        (["session", "list", "extra"], False),
        (["session", "list", "--json=yes"], False),
        (["session", "list", "--", "--json"], False),
        (["session", "search", "error"], True),
        (["session", "search", "--limit", "5", "error", "--role", "user", "--json"], True),
        (["session", "search", "a b", "--since", "7d", "--tag", "t", "--here", "--archived"], True),
        (["session", "search"], False),
        (["session", "search", "a", "b"], False),
        (["session", "search", "-x"], False),
        (["session", "search", "x", "--role", "robot"], False),
        (["session", "search", "x", "--limit", "0"], False),
        (["session", "search", "x", "--limit", "1001"], False),
        (["session", "search", "x", "-n5"], False),
        (["session", "new"], True),
        (["session", "new", "-t", "A title", "--tag", "x", "-m", "gpt"], True),
        (["session", "new", "--dir", "/tmp"], False),  # Typer checks the folder
        (["session", "new", "--title"], False),
        (["session", "new", "--title", "-starts-with-a-dash"], False),
        (["session", "show", "abc"], False),
        (["--model", "m", "session", "new"], False),
        (["-c"], False),
    ],
)
def test_which_command_lines_are_served_without_typer(argv: list[str], served: bool) -> None:
    assert (fast_action(argv) is not None) is served


def test_a_blank_data_dir_variable_is_left_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCODE_DATA_DIR", "  ")
    assert fast_action(["session", "list"]) is None
    result = run_opencode("session", "list", env={"OPENCODE_DATA_DIR": "  "})
    assert result.returncode == 2
    assert "must name a folder" in result.stderr


def test_read_options_keeps_the_last_value_and_every_repeat() -> None:
    options = {"--limit": ("limit", VALUE), "-n": ("limit", VALUE), "--tag": ("tags", MANY)}
    options["--json"] = ("json", FLAG)
    read = read_options(
        ["q", "--limit", "1", "-n", "2", "--tag=a", "--tag", "b", "--json"], options, 1
    )
    assert read == ({"limit": "2", "tags": ["a", "b"], "json": True}, ["q"])
    assert read_options(["-"], options, 1) == ({}, ["-"])  # "-" is an argument
    assert read_options(["--unknown"], options, 0) is None


@pytest.fixture
def store() -> dict[str, str]:
    """A few sessions to list and search: tags, an archived one, wide and odd titles."""
    made = {
        "parser": make_session(
            "Fix the parser",
            updated=ago(hours=2),
            messages=[("user", "the zanzibar parser fails"), ("assistant", "look at line 3")],
            tags=["Bug", "core"],
        ),
        "lexer": make_session(
            "Lexer and PARSER cleanup " + "x" * 80,
            updated=ago(hours=1),
            messages=[("user", "tidy the lexer"), ("assistant", "zanzibar done")],
        ),
        "wide": make_session(
            "漢字のタイトル \x1b[31mred\x1b[0m",
            updated=ago(days=3),
            messages=[("user", "zanzibar in a wide title")],
        ),
        "old": make_session(
            "Archived notes",
            updated=ago(days=40),
            messages=[("user", "archived zanzibar notes")],
        ),
    }
    manager = SessionManager(storage=SessionStorage())
    manager.archive(made["old"].id)
    manager.close()
    return {name: session.id for name, session in made.items()}


SAME_AS_TYPER = [
    ["--list-sessions"],
    ["session", "list"],
    ["session", "list", "--search", "parser", "--limit", "1"],
    ["session", "list", "--search", "nothing like it"],
    ["session", "list", "--tag", "bug", "--json"],
    ["session", "list", "-q", "--all"],
    ["session", "list", "--archived", "--wide"],
    ["session", "list", "--tree", "--offset", "1", "-n", "2"],
    ["session", "list", "--json", "--limit", "0"],
    ["session", "search", "zanzibar"],
    ["session", "search", "zanzibar", "--json", "--limit", "2"],
    ["session", "search", "zanzibar", "--role", "assistant"],
    ["session", "search", "zanzibar", "--archived", "--tag", "BUG"],
    ["session", "search", "zanzibar", "--since", "2d", "--json"],
    ["session", "search", "nowhere"],
    ["session", "search", '"unclosed'],
    ["session", "search", "zanzibar", "--since", "not a date"],
]


@pytest.mark.parametrize("argv", SAME_AS_TYPER, ids=" ".join)
def test_a_served_command_prints_what_the_typer_command_prints(
    store: dict[str, str], cli: CliRunnerHelper, argv: list[str]
) -> None:
    assert fast_action(argv) is not None
    fast = run_opencode(*argv, env={"COLUMNS": "80"})
    typer_run = cli(*argv, COLUMNS="80")
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        typer_run.exit_code,
        typer_run.stdout,
        typer_run.stderr,
    )
    assert fast.stdout or fast.stderr  # each case says something


def test_session_new_served_fast_creates_what_typer_creates(cli: CliRunnerHelper) -> None:
    argv = ["session", "new", "-t", "Made here", "--tag", "a", "--tag", "b", "-m", "gpt-x"]
    fast = run_opencode(*argv)
    typer_run = cli(*argv)
    assert fast.returncode == typer_run.exit_code == 0
    assert fast.stderr == typer_run.stderr == ""
    shown = []
    for out in (fast.stdout, typer_run.stdout):
        (session_id,) = out.split()
        data = json.loads(run_opencode("session", "show", session_id, "--json").stdout)
        shown.append((data["title"], data["tags"], data["model"], data["working_dir"]))
    assert shown[0] == shown[1] == ("Made here", ["a", "b"], "gpt-x", str(Path.cwd()))


@pytest.mark.parametrize(
    "argv",
    [
        ["--list-sessions"],
        ["session", "list", "--search", "fast"],
        ["session", "search", "quick"],
        ["session", "new", "--title", "made fast"],
    ],
    ids=" ".join,
)
def test_a_served_command_imports_neither_typer_nor_rich(argv: list[str]) -> None:
    make_session("Fast one", messages=[("user", "a quick word")])
    assert modules_loaded_by(argv, {"typer", "click", "rich"}) == []


def test_search_hits_are_styled_on_a_terminal_and_cut_to_its_width(
    store: dict[str, str],
) -> None:
    result = run_opencode(
        "session", "search", "zanzibar", env={"FORCE_COLOR": "1", "COLUMNS": "40"}
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    lexer = next(line for line in lines if store["lexer"][:8] in line)
    assert lexer.startswith(f"\x1b[1m{store['lexer'][:8]}\x1b[0m")
    plain = lexer.replace("\x1b[1m", "").replace("\x1b[2m", "").replace("\x1b[0m", "")
    assert len(plain) == 40 and plain.endswith("…")  # cut to the width, never wrapped
    assert "\x1b[1;7mzanzibar\x1b[0m" in result.stdout  # the match in bold reverse
    assert "\x1b[31m" not in result.stdout  # a title's own escapes stay inert


@pytest.fixture
def settled_store(store: dict[str, str], settle_index: Callable[..., None]) -> dict[str, str]:
    """The store as it is a while after its last change, with the index recording that:
    a listing or a search then needs no reconciling and is answered from the index alone."""
    settle_index()
    return store


QUICK_COMMANDS = [
    ["--list-sessions"],
    ["session", "list"],
    ["session", "list", "--search", "parser", "--limit", "1"],
    ["session", "list", "-q", "--all"],
    ["session", "list", "--archived", "--wide"],
    ["session", "list", "--tree", "--offset", "1", "-n", "2"],
    ["session", "list", "--tag", "bug"],
    ["session", "search", "zanzibar"],
    ["session", "search", "zanzibar", "--role", "assistant", "--role", "user"],
    ["session", "search", "zanzibar", "--archived", "-n", "2"],
    ["session", "search", "nowhere"],
    ["session", "search", "zanz*", "--limit", "1"],
]


@pytest.mark.parametrize("argv", QUICK_COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    "env", [{}, {"FORCE_COLOR": "1", "COLUMNS": "40"}], ids=["piped", "styled"]
)
def test_a_command_on_a_settled_index_prints_what_the_typer_command_prints(
    settled_store: dict[str, str], cli: CliRunnerHelper, argv: list[str], env: dict[str, str]
) -> None:
    assert answered_from_index_alone(argv)
    fast = run_opencode(*argv, env=env)
    typer_run = cli(*argv, **env)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        typer_run.exit_code,
        typer_run.stdout,
        typer_run.stderr,
    )
    assert fast.stdout or fast.stderr == "No sessions match.\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["session", "search", "zanzibar", "--json"],
        ["session", "search", "zanzibar", "--tag", "bug"],
        ["session", "search", "zanzibar", "--since", "2d"],
        ["session", "search", "zanzibar", "--here"],
        ["session", "search", '"unclosed'],
        ["session", "list", "--json"],
        ["session", "list", "--here"],
    ],
    ids=" ".join,
)
def test_a_command_the_index_alone_cannot_answer_goes_the_long_way(
    settled_store: dict[str, str], argv: list[str]
) -> None:
    assert not answered_from_index_alone(argv)


@pytest.mark.parametrize(
    "argv", [["session", "search", "zanzibar"], ["--list-sessions"]], ids=" ".join
)
def test_a_command_after_a_change_goes_the_long_way_and_sees_it(
    settled_store: dict[str, str], argv: list[str]
) -> None:
    assert answered_from_index_alone(argv)
    added = make_session("Just made", messages=[("user", "zanzibar again")])
    assert not answered_from_index_alone(argv)
    assert added.id[:8] in run_opencode(*argv).stdout


def answered_from_index_alone(argv: list[str]) -> bool:
    """Whether ``opencode ARGV`` answered without loading the session layer (its index
    module and the session model), run through the console script's ``main`` in a fresh
    interpreter."""
    code = (
        "import sys, io\n"
        f"sys.argv = ['opencode', *{argv!r}]\n"
        "sys.stdout = io.StringIO(); sys.stderr = io.StringIO()\n"
        "from opencode.cli.entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'opencode.sessions.index', 'opencode.sessions.models'} & set(sys.modules)\n"
        "sys.__stdout__.write(str(not heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout == "True"


def _index_sql(statement: str) -> None:
    """Change the data folder's index behind opencode's back (as a hand edit would)."""
    import sqlite3

    db = sqlite3.connect(SessionIndex(SessionStorage()).path)
    with db:
        db.execute(statement)
    db.close()


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        (
            "UPDATE sessions SET active_at = 'garbage' WHERE title = 'Fix the parser'",
            "unreadable row",
        ),
        ("CREATE INDEX planted ON sessions(model)", "objects opencode did not create"),
        ("UPDATE sessions SET tags = '[1]' WHERE title = 'Fix the parser'", "unreadable row"),
        (
            "UPDATE sessions SET id = 'ab' || char(0) || 'cd', journal_stat = '1:2:3'"
            " WHERE title = 'Fix the parser'",
            None,
        ),
    ],
    ids=["unreadable row", "planted object", "tags not strings", "impossible id"],
)
@pytest.mark.parametrize(
    "argv",
    [["--list-sessions"], ["session", "list"], ["session", "search", "zanzibar"]],
    ids=" ".join,
)
def test_a_hand_edited_index_is_reported_and_healed_never_a_traceback(
    settled_store: dict[str, str], argv: list[str], change: str, warning: str | None
) -> None:
    _index_sql(change)
    result = run_opencode(*argv, env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    if warning is not None:
        assert warning in result.stderr
    assert settled_store["parser"][:8] in result.stdout  # listed and found, as on disk
