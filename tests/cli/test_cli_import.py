"""``opencode session import``: through the installed command, with real files in tmp_path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import CliRunnerHelper, make_session, opencode_command, run_opencode, sessions_dir

FIXTURES = Path(__file__).resolve().parents[1] / "sessions" / "import_fixtures"
CLAUDE_ID = "5f0c2a9e-3b1d-4c7a-9e2f-8d6b1a4c7e30"
CLAUDE = FIXTURES / "claude" / "-home-dev-webapp" / f"{CLAUDE_ID}.jsonl"
CODEX_ID = "0199ed37-63a5-7d41-9c35-0f7e4ae1c2a8"
CODEX = FIXTURES / "codex" / "2025" / "10" / "16" / f"rollout-2025-10-16T10-21-34-{CODEX_ID}.jsonl"
SST = FIXTURES / "sst-export.json"


def session_files() -> list[str]:
    folder = sessions_dir()
    if not folder.exists():
        return []
    return sorted(n for n in os.listdir(folder) if n.endswith(".json"))


def test_import_prints_the_new_id_and_says_what_it_read() -> None:
    r = run_opencode("session", "import", str(CLAUDE))

    assert r.returncode == 0, r.stderr
    new_id = r.stdout.strip()
    assert session_files() == [f"{new_id}.json"]
    assert f"Imported Claude Code session as {new_id[:8]}" in r.stderr
    assert "Config loader for the web app (6 messages)" in r.stderr
    assert "warning: skipped 1 record of unknown type: future-record-type (1)" in r.stderr

    shown = json.loads(run_opencode("session", "show", new_id, "--json").stdout)
    assert shown["metadata"]["imported_from"]["tool"] == "claude"
    listed = run_opencode("session", "list", "-q")
    assert listed.stdout.split() == [new_id]  # indexed: listed at once


def test_importing_again_says_already_imported_and_writes_nothing() -> None:
    first = run_opencode("session", "import", str(CODEX)).stdout.strip()

    r = run_opencode("session", "import", str(CODEX))

    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == first
    assert f"Already imported as {first}" in r.stderr
    assert session_files() == [f"{first}.json"]


def test_import_json_output() -> None:
    r = run_opencode("session", "import", "--json", str(SST))

    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data == {
        "status": "imported",
        "id": data["id"],
        "title": "Fix the navbar overflow on mobile",
        "message_count": 9,
        "source": {
            "tool": "sst",
            "id": "ses_6a3b9f0c1ffe8XbT2kLq0wPzR1",
            "path": str(SST.resolve()),
        },
        "unknown_records": {"assistant part hologram": 1},
        "notes": [],
    }
    again = json.loads(run_opencode("session", "import", "--json", str(SST)).stdout)
    assert (again["status"], again["id"]) == ("already_imported", data["id"])


def test_import_from_stdin_with_a_named_format() -> None:
    r = run_opencode("session", "import", "--from", "codex", "-", input=CODEX.read_text())

    assert r.returncode == 0, r.stderr
    shown = json.loads(run_opencode("session", "show", r.stdout.strip(), "--json").stdout)
    assert shown["metadata"]["imported_from"] == {"tool": "codex", "id": CODEX_ID, "path": None}
    assert shown["model"] == "gpt-5-codex"


def test_an_opencode_export_round_trips(tmp_path: Path) -> None:
    original = make_session("Exported", messages=[("user", "hi"), ("assistant", "hello")])
    exported = tmp_path / "out.json"
    r = run_opencode("session", "export", original.id, "--format", "json", "-o", str(exported))
    assert r.returncode == 0, r.stderr

    r = run_opencode("session", "import", "--keep-id", str(exported))
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"error: a session with id {original.id} already exists"]

    r = run_opencode("session", "import", str(exported))

    assert r.returncode == 0, r.stderr
    new_id = r.stdout.strip()
    assert new_id != original.id
    shown = json.loads(run_opencode("session", "show", new_id, "--json").stdout)
    assert [m["content"] for m in shown["messages"]] == ["hi", "hello"]


def test_keep_id_keeps_a_free_source_id() -> None:
    r = run_opencode("session", "import", "--keep-id", str(CLAUDE))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == CLAUDE_ID


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("malformed", "line 3 is not valid JSON"),
        ("unknown format", "not in a format opencode can import"),
        ("empty file", "the file is empty"),
        ("folder", "a folder, not a regular file"),
        ("missing", "no such file"),
        ("wrong --from", "not a Codex rollout"),
    ],
)
def test_bad_input_is_one_error_line_and_nothing_is_written(
    tmp_path: Path, setup: str, expected: str
) -> None:
    target = tmp_path / "input.jsonl"
    extra: list[str] = []
    if setup == "malformed":
        lines = CLAUDE.read_text().splitlines()
        target.write_text("\n".join([*lines[:2], '{"type": "user", "sessionId":', *lines[3:]]))
    elif setup == "unknown format":
        target.write_text("name,value\na,1\n")
    elif setup == "empty file":
        target.write_text("")
    elif setup == "folder":
        target.mkdir()
    elif setup == "wrong --from":
        shutil.copy(SST, target)
        extra = ["--from", "codex"]
    args = [*extra, str(target)]

    r = run_opencode("session", "import", *args)

    assert r.returncode == 1, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert expected in lines[0]
    assert r.stdout == ""
    assert session_files() == []


def test_empty_stdin_is_an_error() -> None:
    r = run_opencode("session", "import", "-", input="")
    assert r.returncode == 1
    assert r.stderr.splitlines() == ["error: <stdin>: nothing on stdin"]
    assert session_files() == []


def test_stdin_that_is_a_terminal_is_refused_without_waiting(
    cli: CliRunnerHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("opencode.cli.console.stdin_is_tty", lambda: True)
    r = cli("session", "import", "-")
    assert r.exit_code == 1
    assert "stdin is a terminal" in r.stderr
    assert session_files() == []


def test_a_fifo_is_refused_and_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)  # nobody ever writes to it

    r = subprocess.run(
        [*opencode_command(), "session", "import", str(fifo)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f"error: {fifo}: a FIFO, not a regular file; opencode never reads through it"
    ]


def test_import_all_scans_the_tools_folder_under_home(tmp_path: Path) -> None:
    home = Path(os.environ["HOME"])
    shutil.copytree(FIXTURES / "claude", home / ".claude" / "projects")
    broken = home / ".claude" / "projects" / "-home-dev-webapp" / "9d9d9d9d.jsonl"
    broken.write_text("{broken\n")

    r = run_opencode("session", "import", "--all", "--from", "claude")

    assert r.returncode == 1
    new_ids = r.stdout.split()
    assert len(new_ids) == 1
    assert f"warning: {broken}: not a Claude Code transcript" in r.stderr
    assert "Imported 1 of 2 Claude Code sessions, 1 failed" in r.stderr
    assert r.stderr.splitlines()[-1] == "error: 1 of 2 files could not be imported"

    broken.unlink()
    r = run_opencode("session", "import", "--all", "--from", "claude", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["imported"] == [] and data["failed"] == [] and data["found"] == 1
    assert [o["id"] for o in data["already_imported"]] == new_ids
    assert data["folder"] == str(home / ".claude" / "projects")


def test_import_all_with_codex_and_nothing_there() -> None:
    r = run_opencode("session", "import", "--all", "--from", "codex")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert "No Codex CLI sessions found in" in r.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a FILE to import"),
        (["--all"], "--all needs --from claude or --from codex"),
        (["--all", "--from", "sst"], "--all needs --from claude or --from codex"),
        (["--all", "--from", "claude", "x.jsonl"], "give a FILE or --all, not both"),
        (["--from", "word", "x.json"], "'word' is not one of"),
    ],
)
def test_usage_mistakes_exit_2(args: list[str], message: str) -> None:
    r = run_opencode("session", "import", *args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr
