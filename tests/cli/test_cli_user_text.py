"""Titles, tags and messages are printed literally: no markup, no escape sequences."""

from __future__ import annotations

import json

import pytest
from cli_helpers import CliRunnerHelper, make_session

from opencode.cli.console import printable

EVIL_TITLE = "[red]x[/red] \x1b]0;pwned\x07 \x1b[2J\u202edesrever \x9b31m"
EVIL_TEXT = "line one\n\x1b[31mred\x1b[0m [bold]not bold[/bold]\r\noverwrite\rme\ttab"


def test_printable_escapes_controls_and_keeps_text() -> None:
    assert printable("plain [red]x[/red] ünïcödé") == "plain [red]x[/red] ünïcödé"
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("bell\x07 del\x7f c1\x9b") == "bell\\x07 del\\x7f c1\\x9b"
    assert printable("\u202eabc") == "\\u202eabc"
    assert printable("two\nlines") == "two\\x0alines"
    assert printable("two\nlines\tand\r\nmore\rx", multiline=True) == (
        "two\nlines\tand\nmore\\x0dx"
    )


@pytest.fixture
def evil() -> str:
    session = make_session(EVIL_TITLE, messages=[("user", EVIL_TEXT)], tags=["[blink]t"])
    return session.id


def _assert_inert(text: str) -> None:
    assert "\x1b" not in text
    assert "\x9b" not in text
    assert "\x07" not in text
    assert "\u202e" not in text
    assert "\r" not in text


def test_tables_show_markup_literally_and_escape_controls(cli: CliRunnerHelper, evil: str) -> None:
    for args in (["--list-sessions"], ["session", "list"]):
        r = cli(*args, COLUMNS="200")
        assert r.exit_code == 0, r.output
        _assert_inert(r.output)
        assert "[red]x[/red] \\x1b]0;pwned\\x07" in r.stdout


def test_show_and_export_are_inert(cli: CliRunnerHelper, evil: str) -> None:
    r = cli("session", "show", evil)
    assert r.exit_code == 0, r.output
    _assert_inert(r.output)
    assert "[red]x[/red]" in r.stdout and "\\u202edesrever \\x9b31m" in r.stdout
    assert "\\x1b[31mred\\x1b[0m [bold]not bold[/bold]" in r.stdout
    assert "[blink]t" in r.stdout

    r = cli("session", "export", evil)
    _assert_inert(r.stdout)
    assert "[bold]not bold[/bold]" in r.stdout


def test_json_output_keeps_the_exact_text_but_no_raw_escapes(
    cli: CliRunnerHelper, evil: str
) -> None:
    for args in (["session", "list", "--json"], ["session", "show", evil, "--json"]):
        r = cli(*args)
        assert r.exit_code == 0, r.output
        _assert_inert(r.stdout)
        data = json.loads(r.stdout)
        first = data[0] if isinstance(data, list) else data
        assert first["title"] == EVIL_TITLE


def test_error_lines_are_inert(cli: CliRunnerHelper, evil: str) -> None:
    make_session(EVIL_TITLE, session_id=evil[:4] + "0000-ffff")
    r = cli("session", "show", evil[:4])
    assert r.exit_code == 1
    _assert_inert(r.stderr)
    assert "[red]x[/red]" in r.stderr
    r = cli("session", "show", "\x1b[2J")
    assert r.exit_code == 1
    _assert_inert(r.stderr)
