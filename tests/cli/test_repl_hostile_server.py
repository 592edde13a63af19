"""The interactive loop against a model server that reports impossible token usage.

Usage counts are refused where they enter (the chat package parses them): a negative count, a
float, a boolean or a number that does not fit in 63 bits is reported on one ``error:`` line,
and the answer is still recorded, without usage. Nothing out of range reaches the session
files or the index.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stub_chat_server as helper  # on sys.path via tests/cli/conftest.py

BEYOND_63_BITS = [2**63, 2**64, 10**30]
VALID = {"prompt_tokens": 10, "completion_tokens": 2}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def run(stdin: str, stub: helper.StubChatServer, cwd: Path) -> tuple[str, str]:
    result = helper.run_opencode([], stdin, helper.chat_env(stub), cwd)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


def reply_in_one_piece(stub: helper.StubChatServer, text: str, usage: Any) -> None:
    """A server that ignores ``"stream": true`` and sends a whole ``chat.completion``."""
    body = json.dumps(
        {
            "object": "chat.completion",
            "model": helper.MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }
    ).encode()
    stub.queue(lambda handler, _stub: handler.send_body(200, body, "application/json"))


def send(stub: helper.StubChatServer, how: str, text: str, usage: Any) -> None:
    if how == "streamed":
        stub.reply(text, usage=usage)
    else:
        reply_in_one_piece(stub, text, usage)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_refused(stderr: str, field: str) -> None:
    (line,) = error_lines(stderr)
    assert line.startswith("error: "), line
    assert "invalid token usage" in line and field in line, line
    assert line.endswith("; the answer is kept without usage"), line


def integers(value: Any) -> Iterator[int]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from integers(item)
    elif isinstance(value, list):
        for item in value:
            yield from integers(item)


def stored_integers(data_dir: Path) -> list[int]:
    """Every integer in the sessions folder: JSON documents, JSON lines and SQLite tables."""
    found: list[int] = []
    for path in (data_dir / "sessions").iterdir():
        if not path.is_file():
            continue
        data = path.read_bytes()
        if data.startswith(b"SQLite format 3\0"):
            found.extend(_sqlite_integers(path))
        elif path.suffix in (".json", ".jsonl", ".backup"):
            for document in (
                data.decode("utf-8").splitlines() if path.suffix == ".jsonl" else [data]
            ):
                if document.strip():
                    found.extend(integers(json.loads(document)))
    return found


def _sqlite_integers(path: Path) -> Iterator[int]:
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                yield from integers(list(row))


@pytest.mark.parametrize("how", ["streamed", "in one piece"])
@pytest.mark.parametrize(
    ("usage", "field"),
    [
        ({"prompt_tokens": -5, "completion_tokens": 3}, "prompt_tokens"),
        ({"prompt_tokens": 5, "completion_tokens": -1}, "completion_tokens"),
        ({"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": -8}, "total_tokens"),
    ],
)
def test_negative_usage_is_one_error_line_and_the_answer_is_kept(stub, project, how, usage, field):
    send(stub, how, "counted oddly", usage)
    stub.reply("next", usage=VALID)

    out, err = run("first\nsecond\n", stub, project)

    assert out == "counted oddly\nnext\n"
    assert_refused(err, field)
    session = helper.load_session(helper.session_id_from(err))
    assert helper.contents(session) == [
        ("user", "first"),
        ("assistant", "counted oddly"),
        ("user", "second"),
        ("assistant", "next"),
    ]
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (10, 2)


@pytest.mark.parametrize("how", ["streamed", "in one piece"])
@pytest.mark.parametrize("count", BEYOND_63_BITS)
def test_a_count_beyond_63_bits_is_refused_where_it_enters(stub, project, data_dir, how, count):
    send(stub, how, "a big number", {"prompt_tokens": 1, "completion_tokens": count})

    out, err = run("how many?\n/quit\n", stub, project)

    assert out == "a big number\n"
    assert_refused(err, "completion_tokens")
    assert err.splitlines()[-1] == "Session saved. Goodbye!"
    session_id = helper.session_id_from(err)
    session = helper.load_session(session_id)
    assert helper.contents(session)[-1] == ("assistant", "a big number")
    assert session.total_tokens == 0
    listed = helper.run_opencode(["session", "list", "--json"], "", helper.chat_env(None))
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    assert entry["id"] == session_id and entry["total_tokens"] == 0
    assert all(0 <= number < 2**63 for number in stored_integers(data_dir))


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": 5.0, "completion_tokens": 3},
        {"prompt_tokens": True, "completion_tokens": 3},
        {"prompt_tokens": "5", "completion_tokens": 3},
        {"prompt_tokens": 1e400, "completion_tokens": 3},
        [5, 3],
    ],
)
def test_counts_that_are_not_integers_are_refused(stub, project, usage):
    stub.reply("shaky", usage=usage)

    out, err = run("count\n", stub, project)

    assert out == "shaky\n"
    assert_refused(err, "prompt_tokens" if isinstance(usage, dict) else "usage")
    session = helper.load_session(helper.session_id_from(err))
    assert helper.contents(session)[-1] == ("assistant", "shaky")
    assert session.total_tokens == 0


def test_a_large_honest_count_is_recorded_exactly(stub, project):
    stub.reply("long chat", usage={"prompt_tokens": 2**40, "completion_tokens": 7})

    out, err = run("a long one\n", stub, project)

    assert out == "long chat\n"
    assert error_lines(err) == []
    session = helper.load_session(helper.session_id_from(err))
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (2**40, 7)


def test_the_largest_count_the_parser_accepts_never_breaks_the_loop(stub, project, data_dir):
    """2**63-1 passes the chat package; the session then records it or says it cannot."""
    stub.reply("just fits", usage={"prompt_tokens": 2**63 - 1, "completion_tokens": 0})
    stub.reply("still here", usage=VALID)

    out, err = run("edge\nand then\n", stub, project)

    assert out == "just fits\nstill here\n"
    assert "invalid token usage" not in err
    session = helper.load_session(helper.session_id_from(err))
    assert [content for role, content in helper.contents(session) if role == "assistant"] == [
        "just fits",
        "still here",
    ]
    for line in error_lines(err):  # the session library may hold less than 63 bits
        assert line.startswith("error: the session cannot record this token usage ("), err
    assert all(0 <= number < 2**63 for number in stored_integers(data_dir))


def test_a_refused_update_from_the_library_is_reported_not_raised(stub, monkeypatch):
    """Defence in depth: were ``update_usage`` to refuse a count, the loop goes on."""
    from opencode.chat import ChatConfig
    from opencode.cli.repl import ReplOptions
    from opencode.cli.repl.loop import Repl as _Repl
    from opencode.sessions import InvalidSessionValueError, SessionManager, SessionStorage

    def refuse(self: SessionManager, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        raise InvalidSessionValueError("token totals would exceed 2**63-1")

    monkeypatch.setattr(SessionManager, "update_usage", refuse)
    for name, value in helper.chat_env(stub).items():
        monkeypatch.setenv(name, value)
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    stub.reply("kept", usage=VALID)
    manager = SessionManager(storage=SessionStorage())
    session = manager.create(working_dir=str(Path.cwd()))
    stdout, stderr = io.StringIO(), io.StringIO()
    config = ChatConfig(model=helper.MODEL, base_url=stub.base_url)
    repl = _Repl(
        manager, ReplOptions(), config, stdin=io.StringIO("hi\n"), stdout=stdout, stderr=stderr
    )

    assert repl.run(session, resumed=False) == 0

    assert stdout.getvalue() == "kept\n"
    assert error_lines(stderr.getvalue()) == [
        "error: the session cannot record this token usage (token totals would exceed "
        "2**63-1); the answer is kept without usage"
    ]
    assert helper.contents(helper.load_session(session.id)) == [
        ("user", "hi"),
        ("assistant", "kept"),
    ]
