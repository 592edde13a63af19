"""Every Python example of the session-management spec runs as written against our package.

The spec's code blocks are kept verbatim in ``spec_examples/`` (``section<NN>_<k>.py``, plus the
two JSON documents of section 11), so this suite does not need ``../shared`` to exist; when the
spec is present, ``test_copies_equal_the_spec_blocks`` proves the copies are still verbatim.

Each section runs its blocks in order in one namespace. The only changes made to the code are
literal path substitutions (``/custom/path/sessions``, the project-local storage root and
``/tmp/sessions.log`` point into ``tmp_path``) and, for section 9, ``asyncio`` placed in the
namespace because the spec uses it without importing it. Data an example assumes to exist is
seeded through ``SessionStorage`` before the block runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import re
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions import (
    Session,
    SessionIndex,
    SessionManager,
    SessionMessage,
    SessionStorage,
)

EXAMPLES_DIR = Path(__file__).parent / "spec_examples"
SPEC_FILE = Path(__file__).parents[2].parent / "shared/spec/session-management.md"
SPEC_ID = "550e8400-e29b-41d4-a716-446655440000"

PYTHON_EXAMPLES = [
    "section01_1.py",
    "section01_2.py",
    "section01_3.py",
    "section01_4.py",
    "section02_1.py",
    "section02_2.py",
    "section03_1.py",
    "section03_2.py",
    "section04_1.py",
    "section04_2.py",
    "section05_1.py",
    "section05_2.py",
    "section06_1.py",
    "section06_2.py",
    "section06_3.py",
    "section07_1.py",
    "section08_1.py",
    "section09_1.py",
    "section12_1.py",
    "section12_2.py",
]
JSON_EXAMPLES = ["section11_session.json", "section11_index.json"]


def spec_blocks(markdown: str) -> dict[str, str]:
    """The spec's fenced blocks under the names their copies carry in ``spec_examples/``."""
    blocks: dict[str, str] = {}
    counters: dict[int, int] = {}
    json_names = iter(["session", "index"])
    section = 0
    language: str | None = None
    lines: list[str] = []
    for line in markdown.splitlines(keepends=True):
        if language is None:
            heading = re.match(r"## (\d+)\. ", line)
            if heading:
                section = int(heading.group(1))
            fence = re.match(r"```(\w*)\s*$", line)
            if fence:
                language, lines = fence.group(1), []
        elif line.startswith("```"):
            if language == "python":
                counters[section] = counters.get(section, 0) + 1
                blocks[f"section{section:02d}_{counters[section]}.py"] = "".join(lines)
            elif language == "json":
                blocks[f"section{section:02d}_{next(json_names)}.json"] = "".join(lines)
            language = None
        else:
            lines.append(line)
    return blocks


def example(name: str) -> str:
    return (EXAMPLES_DIR / name).read_text(encoding="utf-8")


def run_example(
    namespace: dict[str, Any], name: str, substitutions: dict[str, str] | None = None
) -> None:
    """Execute one copied block in ``namespace``; each substitution must actually apply."""
    code = example(name)
    for old, new in (substitutions or {}).items():
        assert old in code, f"{name} no longer contains {old!r}"
        code = code.replace(old, new)
    exec(compile(code, f"spec:{name}", "exec"), namespace)


def new_namespace(section: int) -> dict[str, Any]:
    return {"__name__": f"spec_section_{section}"}


def seed(
    storage: SessionStorage,
    session_id: str | None = None,
    *,
    title: str = "",
    updated_at: datetime | None = None,
    messages: int = 0,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    tags: list[str] | None = None,
    working_dir: str = "/home/user/project",
    model: str | None = "anthropic/claude-3-opus",
) -> Session:
    """Write a session file the way an earlier run of opencode would have left it."""
    when = updated_at or datetime.now(timezone.utc)
    session = Session(
        id=session_id or str(uuid.uuid4()),
        title=title,
        working_dir=working_dir,
        model=model,
        created_at=when - timedelta(minutes=5),
        updated_at=when,
        messages=[
            SessionMessage(
                role="user" if i % 2 == 0 else "assistant",
                content=f"message {i}",
                # said between creation and the last update, as a real session's messages are
                timestamp=when - timedelta(seconds=messages - i),
            )
            for i in range(messages)
        ],
        total_prompt_tokens=prompt_tokens,
        total_completion_tokens=completion_tokens,
        tags=list(tags or []),
    )
    storage.save(session)
    return session


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def work_dir(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run every example from an empty folder, so no project hooks or files are found."""
    folder = isolated_env / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


# -- the copies are the spec ------------------------------------------------------------------


def test_copies_equal_the_spec_blocks() -> None:
    copies = {
        path.name: path.read_text(encoding="utf-8")
        for path in EXAMPLES_DIR.iterdir()
        if path.suffix in {".py", ".json"}
    }
    assert sorted(copies) == sorted(PYTHON_EXAMPLES + JSON_EXAMPLES)
    assert all(text.strip() for text in copies.values())
    if SPEC_FILE.is_file():
        assert spec_blocks(SPEC_FILE.read_text(encoding="utf-8")) == copies
    else:  # running outside the workspace: the copies are all we have
        assert len(copies) == len(PYTHON_EXAMPLES) + len(JSON_EXAMPLES)


@pytest.mark.parametrize("name", PYTHON_EXAMPLES)
def test_every_python_example_compiles(name: str) -> None:
    compile(example(name), name, "exec")


@pytest.mark.parametrize("name", JSON_EXAMPLES)
def test_json_examples_are_valid_json(name: str) -> None:
    assert isinstance(json.loads(example(name)), dict)


# -- 1. Basic session usage -------------------------------------------------------------------


def test_section_1_basic_usage(capsys: pytest.CaptureFixture[str]) -> None:
    ns = new_namespace(1)
    run_example(ns, "section01_1.py")
    manager: SessionManager = ns["manager"]
    session: Session = ns["session"]
    assert capsys.readouterr().out == f"Session ID: {session.id}\n"
    assert uuid.UUID(session.id).version == 4
    assert manager is SessionManager.get_instance()
    assert manager.current_session is session
    assert session.title == "Refactoring API client"
    assert session.working_dir == "/home/user/project"
    assert session.model == "anthropic/claude-3-opus"
    assert session.tags == ["refactoring", "api"]

    run_example(ns, "section01_2.py")
    assert [(m.role, m.content) for m in session.messages] == [
        ("user", "Help me refactor the API client"),
        (
            "assistant",
            "I'll help you refactor the API client. Let me start by reading the current code.",
        ),
        ("assistant", "I'll read the file first."),
        ("tool", "class APIClient:\n    def __init__(self):\n        ..."),
    ]
    assert session.messages[2].tool_calls == [
        {
            "id": "call_abc123",
            "type": "function",
            "function": {
                "name": "read",
                "arguments": '{"file_path": "/home/user/project/api.py"}',
            },
        }
    ]
    assert session.messages[3].tool_call_id == "call_abc123"
    assert session.messages[3].name == "read"

    run_example(ns, "section01_3.py")
    bash, read = session.tool_history
    assert (bash.tool_name, bash.arguments, bash.success, bash.error) == (
        "bash",
        {"command": "git status"},
        True,
        None,
    )
    assert bash.result == {"output": "On branch main\nnothing to commit"}
    assert bash.duration == ns["duration"]
    assert (read.tool_name, read.result, read.success) == ("read", None, False)
    assert read.error == "FileNotFoundError: /nonexistent.py"

    run_example(ns, "section01_4.py")
    assert capsys.readouterr().out == "Total tokens: 2300\n"
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (1500, 800)
    # Everything above is already on disk (snapshot plus journal), without an explicit save.
    assert SessionStorage().load(session.id) == session


# -- 2. Session lifecycle ---------------------------------------------------------------------


def test_section_2_resume_then_save_and_close(capsys: pytest.CaptureFixture[str]) -> None:
    storage = SessionStorage()
    seed(storage, SPEC_ID, title="Refactoring API client", model="openai/gpt-4o", messages=3)
    newer = seed(
        storage,
        title="Elsewhere",
        working_dir="/home/user/other",
        updated_at=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    started: list[str] = []
    SessionManager.get_instance().register_hook("session:start", lambda s: started.append(s.id))

    ns = new_namespace(2)
    run_example(ns, "section02_1.py")
    manager: SessionManager = ns["manager"]
    # resume(id), then resume_latest() (the newer session), then back to the project's one.
    assert started == [SPEC_ID, newer.id, SPEC_ID]
    assert ns["session"].id == SPEC_ID
    assert manager.current_session is ns["session"]
    assert ns["session"].model == "anthropic/claude-3-opus"  # resume_or_create(model=...)
    assert ns["session"].message_count == 3

    run_example(ns, "section02_2.py")
    assert capsys.readouterr().out == ""  # closed: nothing active to report
    assert manager.has_current is False
    assert storage.load(SPEC_ID).model == "anthropic/claude-3-opus"
    assert sorted(p.name for p in storage.storage_dir.glob(f"{SPEC_ID}*")) == [
        f"{SPEC_ID}.backup",
        f"{SPEC_ID}.json",
    ]


def test_section_2_resume_or_create_creates_when_nothing_matches() -> None:
    storage = SessionStorage()
    seed(storage, SPEC_ID, title="Refactoring API client", working_dir="/home/user/other")
    ns = new_namespace(2)
    run_example(ns, "section02_1.py")
    session: Session = ns["session"]
    assert session.id != SPEC_ID  # the only stored session lives in another folder
    assert session.working_dir == "/home/user/project"
    assert session.model == "anthropic/claude-3-opus"
    assert storage.exists(session.id)


# -- 3. Listing and search --------------------------------------------------------------------


def test_section_3_list_filter_sort_paginate(capsys: pytest.CaptureFixture[str]) -> None:
    storage = SessionStorage()
    refactor = seed(
        storage,
        title="Refactoring API client",
        messages=15,
        prompt_tokens=1500,
        completion_tokens=800,
        tags=["python", "refactoring"],
        updated_at=utc("2024-01-15T11:45:00"),
    )
    auth = seed(
        storage,
        title="Implementing auth",
        messages=32,
        prompt_tokens=5000,
        tags=["python", "auth"],
        updated_at=utc("2024-01-14T16:30:00"),
    )
    parser = seed(
        storage,
        title="Bug fix in parser",
        messages=8,
        completion_tokens=100,
        tags=["rust"],
        updated_at=utc("2024-01-13T09:15:00"),
    )
    ns = new_namespace(3)
    run_example(ns, "section03_1.py")
    # The spec's sample output omits the offset; our timestamps are timezone-aware UTC.
    assert capsys.readouterr().out == (
        "Refactoring API client - 15 messages - 2024-01-15 11:45:00+00:00\n"
        "Implementing auth - 32 messages - 2024-01-14 16:30:00+00:00\n"
        "Bug fix in parser - 8 messages - 2024-01-13 09:15:00+00:00\n"
    )

    fillers = [
        seed(storage, title=f"Filler {i:02d}", updated_at=utc(f"2024-01-{12 - i:02d}T08:00:00"))
        for i in range(10)
    ]
    run_example(ns, "section03_2.py")
    assert [s.id for s in ns["python_sessions"]] == [refactor.id, auth.id]
    assert [s.id for s in ns["results"]] == [refactor.id]
    assert [s.title for s in ns["by_title"]] == [
        "Bug fix in parser",
        *[f"Filler {i:02d}" for i in range(10)],
        "Implementing auth",
        "Refactoring API client",
    ]
    assert [s.id for s in ns["by_tokens"][:3]] == [auth.id, refactor.id, parser.id]
    assert [s.id for s in ns["page_2"]] == [f.id for f in fillers[-3:]]


# -- 4. Title, tags, delete -------------------------------------------------------------------


def test_section_4_title_tags_metadata_and_delete(capsys: pytest.CaptureFixture[str]) -> None:
    storage = SessionStorage()
    seed(storage, SPEC_ID, title="Old title", tags=["draft"])
    manager = SessionManager.get_instance()
    session = manager.resume(SPEC_ID)
    manager.add_message("user", "Help me refactor the API client")
    ns = new_namespace(4) | {"manager": manager, "session": session}

    run_example(ns, "section04_1.py")
    assert ns["title"] == "Help me refactor the API client"
    assert session.title == "Help me refactor the API client"
    assert session.tags == ["python", "refactoring"]
    assert session.metadata == {"git_branch": "feature/api-v2", "priority": "high"}
    summary = manager.index.get(SPEC_ID)
    assert summary is not None
    assert (summary.title, summary.tags) == (session.title, ["python", "refactoring"])
    manager.save()
    assert storage.load(SPEC_ID).metadata == session.metadata

    run_example(ns, "section04_2.py")
    assert ns["deleted"] is True
    assert capsys.readouterr().out == "Session deleted\n"
    assert manager.has_current is False
    assert list(storage.storage_dir.glob(f"{SPEC_ID}*")) == []
    assert SPEC_ID not in [s.id for s in manager.list_sessions()]


# -- 5. The model on its own ------------------------------------------------------------------


def test_section_5_direct_model_use_and_serialisation(work_dir: Path) -> None:
    ns = new_namespace(5)
    run_example(ns, "section05_1.py")
    session: Session = ns["session"]
    assert [(m.role, m.content) for m in session.messages] == [
        ("user", "Hello, world!"),
        ("assistant", "Hello! How can I help?"),
    ]
    assert session.messages[0] is ns["message"]
    assert [t.tool_name for t in session.tool_history] == ["bash", "read"]
    assert session.tool_history[0] is ns["invocation"]
    assert session.tool_history[0].duration == 0.05
    assert session.tool_history[1].arguments == {"file_path": "file1.py"}
    assert session.tool_history[1].result == {"content": "..."}
    assert session.updated_at >= session.created_at

    run_example(ns, "section05_2.py")
    assert json.loads(ns["json_str"]) == ns["data"]
    assert ns["json_str"].startswith('{\n  "version": 1,\n  "id": ')  # indent=2
    assert ns["session"] == session
    assert ns["session"] is not session


# -- 6. Storage -------------------------------------------------------------------------------


def _storage_substitutions(tmp_path: Path) -> dict[str, str]:
    return {
        'Path("/custom/path/sessions")': f"Path({str(tmp_path / 'custom/sessions')!r})",
        'SessionStorage.get_project_dir("/home/user/project")': (
            f"SessionStorage.get_project_dir({str(tmp_path / 'project')!r})"
        ),
    }


def test_section_6_storage_basics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project_dir = tmp_path / "project/.opencode/sessions"
    seed(SessionStorage(project_dir), "kept-session", title="Kept")
    ns = new_namespace(6)
    run_example(ns, "section06_1.py", _storage_substitutions(tmp_path))
    storage: SessionStorage = ns["storage"]
    assert storage.storage_dir == project_dir
    assert capsys.readouterr().out == "Session exists\nkept-session\n"
    assert ns["session"].title == "Test"
    assert not storage.exists(ns["session"].id)
    assert sorted(p.name for p in project_dir.iterdir()) == ["kept-session.json"]
    assert not (tmp_path / "custom").exists()  # constructing a storage creates nothing


def _corrupt(storage: SessionStorage, session_id: str) -> None:
    storage.get_path(session_id).write_bytes(b'{"id": "corrupted-id", "created_at": ')


def test_section_6_error_handling_recovers_from_backup_and_cleans_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    storage = SessionStorage()
    first = Session(id="corrupted-id", title="first version")
    storage.save(first)
    first.title = "second version"
    storage.save(first)
    _corrupt(storage, "corrupted-id")

    ns = new_namespace(6)
    run_example(ns, "section06_2.py")
    assert capsys.readouterr().out == "Session not found\n"
    assert ns["session"].id == "corrupted-id"
    assert ns["session"].title == "first version"  # the backup holds the previous snapshot
    assert storage.load("corrupted-id").title == "first version"

    now = datetime.now(timezone.utc)
    recent = [seed(storage, title=f"recent {i}", updated_at=now) for i in range(2)]
    old = [
        seed(storage, title=f"old {i}", updated_at=now - timedelta(days=40 + i)) for i in range(12)
    ]
    run_example(ns, "section06_3.py")
    # 15 sessions, the newest 10 kept; of the other five all are older than 30 days.
    oldest_five = sorted(s.id for s in old[-5:])
    assert sorted(ns["deleted_ids"]) == oldest_five
    size = storage.get_storage_size()
    assert ns["size_bytes"] == size
    assert capsys.readouterr().out == (
        f"Deleted 5 old sessions\nStorage size: {size / 1024:.1f} KB\n"
    )
    kept = {"corrupted-id", *(s.id for s in recent), *(s.id for s in old[:7])}
    assert set(storage.list_session_ids()) == kept


def test_section_6_error_handling_without_backup(capsys: pytest.CaptureFixture[str]) -> None:
    storage = SessionStorage()
    storage.save(Session(id="corrupted-id", title="only version"))
    _corrupt(storage, "corrupted-id")
    run_example(new_namespace(6), "section06_2.py")
    assert capsys.readouterr().out == "Session not found\nCannot recover session\n"


def test_section_6_error_handling_reports_other_storage_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = SessionStorage()
    storage.save(Session(id="corrupted-id", title="unreadable"))
    real_read = os.read

    def failing_disk(fd: int, size: int) -> bytes:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("corrupted-id.json"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", failing_disk)  # an I/O error, not corruption
    run_example(new_namespace(6), "section06_2.py")
    monkeypatch.undo()
    out = capsys.readouterr().out
    assert out.startswith("Session not found\nStorage error: cannot read ")
    assert out.rstrip().endswith(os.strerror(errno.EIO))
    assert "corrupted-id.json" in out


# -- 7. The index -----------------------------------------------------------------------------


def test_section_7_index(capsys: pytest.CaptureFixture[str]) -> None:
    storage = SessionStorage()
    now = datetime.now(timezone.utc)
    indexed = seed(storage, "session-id", title="Indexed session", updated_at=now)
    others = [
        seed(
            storage,
            title=f"other {i}",
            updated_at=now - timedelta(hours=i + 1),
            working_dir="/home/user/project" if i < 2 else f"/elsewhere/{i}",
        )
        for i in range(6)
    ]
    ns = new_namespace(7)
    run_example(ns, "section07_1.py")
    assert capsys.readouterr().out == "Total sessions: 7\nSession: Indexed session\n"
    assert ns["summary"].id == "session-id"
    assert [s.id for s in ns["recent"]] == [indexed.id, *(s.id for s in others[:4])]
    assert [s.id for s in ns["project_sessions"]] == [indexed.id, others[0].id, others[1].id]
    assert ns["index"].save_if_dirty() is False  # every change is already written

    # The index is a SQLite file now (the spec's index.json is the listing's JSON shape):
    # rebuild() wrote every session into it, and a reader in another process sees them all.
    assert storage.index_path.read_bytes()[:16] == b"SQLite format 3\x00"
    uri = storage.index_path.absolute().as_uri() + "?mode=rw"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        rows = dict(db.execute("SELECT id, title FROM sessions").fetchall())
    assert set(rows) == {indexed.id, *(s.id for s in others)}
    assert rows["session-id"] == "Indexed session"
    spec_document = json.loads(example("section11_index.json"))
    assert spec_document["version"] == 1
    spec_entry = next(iter(spec_document["sessions"].values()))
    fresh = SessionIndex(SessionStorage()).get("session-id")
    assert fresh is not None and fresh.title == "Indexed session"
    entry = fresh.to_dict()
    assert set(spec_entry) <= set(entry)
    assert entry["id"] == "session-id"


# -- 8. In-process hooks ----------------------------------------------------------------------


def test_section_8_session_hooks(capsys: pytest.CaptureFixture[str]) -> None:
    ns = new_namespace(8)
    run_example(ns, "section08_1.py")
    sid = ns["session"].id
    assert capsys.readouterr().out == (
        f"Session started: {sid}\nMessage added: user\nSession ended: {sid}\nTotal tokens used: 0\n"
    )
    manager: SessionManager = ns["manager"]
    second = manager.create()  # the start hook was unregistered; the end hook was not
    manager.close()
    assert capsys.readouterr().out == f"Session ended: {second.id}\nTotal tokens used: 0\n"


# -- 9. Shell hooks ---------------------------------------------------------------------------


def test_section_9_shell_hook_runs_on_session_start(tmp_path: Path) -> None:
    from opencode.hooks import wait_for_hooks

    log = tmp_path / "sessions.log"
    # The spec's block calls asyncio.run without importing asyncio: supply it.
    ns = new_namespace(9) | {"asyncio": asyncio}
    run_example(ns, "section09_1.py", {"/tmp/sessions.log": str(log)})
    manager: SessionManager = ns["manager"]
    session = manager.create(title="hooked")
    assert wait_for_hooks(timeout=30)
    lines = log.read_text().splitlines()
    # The registered callback fires the hook; the manager also dispatches configured hooks
    # for its own events, so the line may appear more than once, but always for this session.
    assert lines
    assert set(lines) == {f"Session {session.id} started"}


# -- 12. REPL integration ---------------------------------------------------------------------


def test_section_12_prompt_and_session_slash_commands() -> None:
    ns = new_namespace(12)
    run_example(ns, "section12_1.py")
    run_example(ns, "section12_2.py")
    get_prompt = ns["get_prompt"]

    def command(args: str) -> str:
        return asyncio.run(ns["handle_session_command"](args))

    assert get_prompt() == "You: "
    assert command("") == "No active session"
    assert command("list") == "Recent sessions (0):"
    assert command("resume") == "No sessions to resume"

    reply = command("new")
    manager = SessionManager.get_instance()
    first = manager.current_session
    assert first is not None
    assert reply == f"New session: {first.id}"
    assert get_prompt() == "[0 msgs | 0 tokens] You: "
    manager.add_message("user", "Fix the parser")
    manager.update_usage(prompt_tokens=20, completion_tokens=10)
    assert get_prompt() == "[1 msgs | 30 tokens] You: "
    assert command("") == (
        f"\nSession: {first.id}\nTitle: Fix the parser\nMessages: 1\nTokens: 30\n"
        f"Created: {first.created_at}\nUpdated: {first.updated_at}\n"
    )
    assert command("title Parser work") == "Title set: Parser work"
    assert command("tag y") == "Tag added: y"
    assert command("tag") == "Usage: /session tag <name>"
    assert (first.title, first.tags) == ("Parser work", ["y"])

    second_reply = command("new")
    second = manager.current_session
    assert second is not None and second.id != first.id
    assert second_reply == f"New session: {second.id}"
    assert command("list") == (
        f"Recent sessions (2):\n  {second.id[:8]}...  (0 msgs)\n"
        f"  {first.id[:8]}... Parser work (1 msgs)"
    )
    assert command(f"resume {first.id[:8]}") == "Resumed: Parser work"
    assert manager.current_session is not None
    assert manager.current_session.id == first.id
    assert command("resume zzzzzzzz") == "Session not found: zzzzzzzz"
    assert command("bogus") == "Unknown subcommand: bogus"
    # "Latest" means most recently updated: resuming the first session changed nothing in it.
    assert command("resume") == "Resumed: "
    assert manager.current_session.id == second.id


def test_section_12_prompt_counts_survive_resume() -> None:
    storage = SessionStorage()
    seed(storage, SPEC_ID, title="Seeded", messages=4, prompt_tokens=7, completion_tokens=5)
    ns = new_namespace(12)
    run_example(ns, "section12_1.py")
    run_example(ns, "section12_2.py")
    assert asyncio.run(ns["handle_session_command"]("resume 550e")) == "Resumed: Seeded"
    assert ns["get_prompt"]() == "[4 msgs | 12 tokens] You: "
    assert os.path.exists(storage.get_path(SPEC_ID))
