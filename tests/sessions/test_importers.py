"""Importing sessions from opencode JSON, Claude Code, Codex CLI and sst/opencode: the field
mappings, detection, validation before any write, and nothing imported twice.

The fixtures under ``import_fixtures/`` are shaped like the real files: Claude Code's
``~/.claude/projects/<escaped path>/<session id>.jsonl``, Codex's
``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`` (current and first format) and the JSON
``opencode export`` prints.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from opencode.sessions import (
    InvalidSessionIdError,
    Session,
    SessionExistsError,
    SessionManager,
    SessionMessage,
    SessionStorage,
)
from opencode.sessions.importers import (
    ImportFormatError,
    ImportSourceError,
    NothingToImportError,
    import_all,
    import_source,
)
from opencode.sessions.importers.registry import detect
from opencode.sessions.importers.sources import ImportInput, read_source

FIXTURES = Path(__file__).parent / "import_fixtures"
CLAUDE_ID = "5f0c2a9e-3b1d-4c7a-9e2f-8d6b1a4c7e30"
CLAUDE = FIXTURES / "claude" / "-home-dev-webapp" / f"{CLAUDE_ID}.jsonl"
CODEX_ID = "0199ed37-63a5-7d41-9c35-0f7e4ae1c2a8"
CODEX = FIXTURES / "codex" / "2025" / "10" / "16" / f"rollout-2025-10-16T10-21-34-{CODEX_ID}.jsonl"
CODEX_LEGACY = next((FIXTURES / "codex" / "2025" / "08" / "02").glob("rollout-*.jsonl"))
SST = FIXTURES / "sst-export.json"
UTC = timezone.utc


@pytest.fixture
def manager(data_dir: Path) -> SessionManager:
    return SessionManager(
        SessionStorage(data_dir / "sessions"), auto_save_interval=0, fire_shell_hooks=False
    )


def stored_files(manager: SessionManager) -> list[str]:
    folder = manager.storage.storage_dir
    if not folder.exists():
        return []
    return sorted(n for n in os.listdir(folder) if not n.startswith("index-"))


def roles(session: Session) -> list[str]:
    return [m.role for m in session.messages]


def calls(message: SessionMessage) -> list[tuple[str, str, dict[str, object]]]:
    return [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in message.tool_calls or []
    ]


# -- Claude Code ------------------------------------------------------------------------------


def test_claude_code_transcript_maps_messages_tools_usage_and_context(
    manager: SessionManager,
) -> None:
    outcome = import_source(manager, str(CLAUDE))

    session = manager.storage.load(outcome.session_id)
    assert outcome.status == "imported" and outcome.session_id != CLAUDE_ID
    assert session.title == "Config loader for the web app"  # the summary record
    assert session.working_dir == "/home/dev/webapp"
    assert session.model == "claude-sonnet-4-5-20250929"
    assert session.created_at == datetime(2025, 10, 12, 9, 15, 2, 114000, tzinfo=UTC)
    assert session.updated_at == datetime(2025, 10, 12, 9, 15, 14, 777000, tzinfo=UTC)
    # The sidechain (subagent) answer and the isMeta caveat are left out.
    assert roles(session) == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    user, first, read, second, write, last = session.messages
    assert user.content == "Please add a config loader that reads settings.toml"
    assert second.content == "Now I'll write the loader."
    assert [c[1] for c in calls(second)] == ["Write"]
    # Three records of one API message (thinking, text, tool_use) make one message.
    assert first.content == "I'll check how settings are read today."
    assert first.metadata is not None
    assert first.metadata["reasoning"] == "I should look at the project layout first."
    assert calls(first) == [
        (
            "toolu_01Vb8Rk2mWq4Zt6Xc9Ns3Ly1",
            "Read",
            {"file_path": "/home/dev/webapp/app/settings.py"},
        )
    ]
    assert read.tool_call_id == "toolu_01Vb8Rk2mWq4Zt6Xc9Ns3Ly1" and read.name == "Read"
    assert read.content.startswith("     1\u2192import os")
    assert write.metadata == {"is_error": True}
    assert last.content.startswith("The loader is in app/config.py")
    # Usage counts once per API message: prompt = input + cache creation + cache reads.
    assert first.metadata["usage"] == {"prompt_tokens": 13524, "completion_tokens": 95}
    assert session.total_prompt_tokens == 13524 + 13836 + 13953
    assert session.total_completion_tokens == 95 + 240 + 61
    assert [(t.tool_name, t.success) for t in session.tool_history] == [
        ("Read", True),
        ("Write", False),
    ]
    assert session.metadata["imported_from"] == {
        "tool": "claude",
        "id": CLAUDE_ID,
        "path": str(CLAUDE.resolve()),
    }
    assert outcome.unknown_records == {"future-record-type": 1}


def test_a_claude_line_still_being_written_is_skipped_with_a_note(
    manager: SessionManager, tmp_path: Path
) -> None:
    cut = tmp_path / f"{CLAUDE_ID}.jsonl"
    cut.write_bytes(CLAUDE.read_bytes() + b'{"type":"assistant","message":{"content":[{"ty')

    outcome = import_source(manager, str(cut))

    assert outcome.status == "imported"
    assert outcome.notes and "cut off" in outcome.notes[0]


# -- Codex CLI --------------------------------------------------------------------------------


def test_codex_rollout_maps_items_context_model_and_token_totals(manager: SessionManager) -> None:
    outcome = import_source(manager, str(CODEX))

    session = manager.storage.load(outcome.session_id)
    assert session.title == "Why does the health check fail?"
    assert session.working_dir == "/home/dev/api"
    assert session.model == "gpt-5-codex"  # from turn_context
    assert session.created_at == datetime(2025, 10, 16, 10, 21, 34, 725000, tzinfo=UTC)
    # The instructions and environment Codex writes as user messages are system messages.
    assert roles(session) == [
        "system",
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    shell_call, shell_out, patch_call, patch_out, answer = session.messages[3:]
    assert session.messages[1].content.startswith("<environment_context>")
    assert shell_call.metadata is not None
    assert shell_call.metadata["reasoning"] == "**Inspecting health endpoint**"
    assert calls(shell_call) == [
        (
            "call_Qw3rTy6Ui9Op2As5Df8Gh1Jk",
            "shell",
            {"command": ["bash", "-lc", "rg -n health src"], "workdir": "/home/dev/api"},
        )
    ]
    # The {"output", "metadata"} wrapper of shell results is unwrapped.
    assert shell_out.content == "src/health.py:3:def health():\n"
    assert patch_call.tool_calls is not None
    assert patch_call.tool_calls[0]["function"]["name"] == "apply_patch"
    assert patch_call.tool_calls[0]["function"]["arguments"].startswith("*** Begin Patch")
    assert patch_out.content.startswith("Success. Updated the following files")
    assert answer.content.startswith("The health check timed out")
    # Totals are the last token_count's cumulative usage; the event_msg copies add nothing.
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (11008, 402)
    assert answer.metadata == {"usage": {"prompt_tokens": 5888, "completion_tokens": 192}}
    assert outcome.source.id == CODEX_ID
    assert outcome.unknown_records == {"world_state": 1}


def test_codex_rollouts_of_the_first_format_are_read_too(manager: SessionManager) -> None:
    outcome = import_source(manager, str(CODEX_LEGACY))

    session = manager.storage.load(outcome.session_id)
    assert outcome.source.id == "c3c4b301-27c8-4c70-b6e4-46b99fdf0236"
    assert session.working_dir == "/home/dev/legacy"  # from <environment_context>
    assert roles(session) == ["system", "user", "assistant", "tool", "assistant"]
    assert session.messages[3].content == "README.md\nsrc\n"
    assert outcome.unknown_records == {}


# -- sst/opencode -----------------------------------------------------------------------------


def test_sst_export_maps_parts_steps_tools_and_usage(manager: SessionManager) -> None:
    outcome = import_source(manager, str(SST))

    session = manager.storage.load(outcome.session_id)
    assert session.title == "Fix the navbar overflow on mobile"
    assert session.working_dir == "/home/dev/site"
    assert session.model == "claude-sonnet-4-5"
    assert session.created_at == datetime.fromtimestamp(1760600000, UTC)
    assert session.updated_at == datetime.fromtimestamp(1760600300, UTC)
    assert roles(session) == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    user, look, read, edits, failed, edited, fixed, _, cut = session.messages
    # The user's words and the attached file; opencode's synthetic text is left out.
    assert (
        user.content
        == "The navbar overflows on mobile; fix it. See @navbar.css\n\n[file: navbar.css]"
    )
    assert look.metadata == {"reasoning": "The nav needs to wrap."}
    assert [c[1] for c in calls(look)] == ["read"]
    assert read.content.startswith("<file>")
    # One model step, two tool calls: one assistant message, then both results.
    assert [c[0] for c in calls(edits)] == ["toolu_02NavEdit", "toolu_03NavEdit"]
    assert failed.content == "oldString not found in content"
    assert failed.metadata == {"is_error": True}
    assert edited.tool_call_id == "toolu_03NavEdit"
    assert fixed.content == "Fixed: the nav now wraps (flex-wrap: wrap)."
    # Usage: input + cache reads + cache writes; output + reasoning.
    assert fixed.metadata == {"usage": {"prompt_tokens": 12300, "completion_tokens": 360}}
    assert cut.metadata == {
        "usage": {"prompt_tokens": 12290, "completion_tokens": 15},
        "incomplete": "interrupted",
    }
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (24590, 375)
    assert [t.success for t in session.tool_history] == [True, False, True]
    assert outcome.source.id == "ses_6a3b9f0c1ffe8XbT2kLq0wPzR1"
    assert outcome.unknown_records == {"assistant part hologram": 1}


# -- our own JSON -----------------------------------------------------------------------------


def test_an_opencode_export_comes_back_whole_under_a_new_id(
    manager: SessionManager, tmp_path: Path
) -> None:
    original = Session(title="Ours", working_dir="/w", model="m1", tags=["keep"])
    original.messages.append(SessionMessage(role="user", content="hello"))
    original.total_prompt_tokens, original.total_completion_tokens = 10, 5
    original.metadata = {"pinned": True, "note": "kept", "forked_from": {"session_id": "x"}}
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(original.to_dict()))

    outcome = import_source(manager, str(exported))

    session = manager.storage.load(outcome.session_id)
    assert outcome.session_id != original.id
    assert (session.title, session.model, session.tags) == ("Ours", "m1", ["keep"])
    assert [m.content for m in session.messages] == ["hello"]
    assert session.messages[0].id == original.messages[0].id
    assert (session.total_prompt_tokens, session.total_completion_tokens) == (10, 5)
    # What belonged to the other store (pin, fork parent) stays there.
    assert session.metadata == {
        "note": "kept",
        "imported_from": {"tool": "opencode", "id": original.id, "path": str(exported)},
    }


# -- detection --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [(CLAUDE, "claude"), (CODEX, "codex"), (CODEX_LEGACY, "codex"), (SST, "sst")],
)
def test_the_format_is_detected_from_the_content(path: Path, expected: str) -> None:
    assert detect(ImportInput(path.read_bytes(), path.name)) == expected


def test_a_file_in_no_known_format_is_one_clear_error(
    manager: SessionManager, tmp_path: Path
) -> None:
    for name, content in (
        ("notes.txt", "just some notes\n"),
        ("list.json", "[1, 2, 3]\n"),
        ("other.jsonl", '{"event": "x"}\n{"event": "y"}\n'),
    ):
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(ImportFormatError, match="not in a format opencode can import"):
            import_source(manager, str(path))
    assert stored_files(manager) == []


def test_naming_the_wrong_format_says_so(manager: SessionManager) -> None:
    with pytest.raises(ImportFormatError, match="not a Codex rollout"):
        import_source(manager, str(SST), fmt="codex")
    with pytest.raises(ImportFormatError, match="not a Claude Code transcript"):
        import_source(manager, str(CODEX), fmt="claude")
    with pytest.raises(ImportFormatError, match="not an sst/opencode export"):
        import_source(manager, str(CLAUDE), fmt="sst")
    assert stored_files(manager) == []


# -- nothing written unless everything checks out ---------------------------------------------


def test_a_malformed_line_fails_the_whole_file_and_writes_nothing(
    manager: SessionManager, tmp_path: Path
) -> None:
    lines = CLAUDE.read_text().splitlines()
    lines[5] = "{not json"
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines) + "\n")

    with pytest.raises(ImportFormatError, match="line 6 is not valid JSON"):
        import_source(manager, str(broken))
    assert stored_files(manager) == []


def test_a_field_of_the_wrong_type_names_its_line(manager: SessionManager, tmp_path: Path) -> None:
    lines = CODEX.read_text().splitlines()
    record = json.loads(lines[4])
    record["payload"]["content"] = "not a list"
    lines[4] = json.dumps(record)
    broken = tmp_path / "rollout-broken.jsonl"
    broken.write_text("\n".join(lines) + "\n")

    with pytest.raises(ImportFormatError, match="line 5: field 'content' should be a list"):
        import_source(manager, str(broken))
    assert stored_files(manager) == []


def nested(levels: int) -> object:
    value: object = "bottom"
    for _ in range(levels):
        value = {"d": value}
    return value


def test_a_value_the_store_cannot_hold_is_refused_before_writing(
    manager: SessionManager, tmp_path: Path
) -> None:
    session = Session(title="deep")
    session.messages.append(SessionMessage(role="user", content="hi"))
    document = session.to_dict()
    document["metadata"] = {"deep": nested(80)}
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(document))

    with pytest.raises(ImportFormatError, match="nested more than 64 levels"):
        import_source(manager, str(path))
    assert stored_files(manager) == []


def test_a_tool_input_too_deep_for_an_object_is_kept_as_text(
    manager: SessionManager, tmp_path: Path
) -> None:
    call = {"type": "tool_use", "id": "t1", "name": "Deep", "input": nested(80)}
    result = {"type": "tool_result", "tool_use_id": "t1", "content": "ok"}
    path = tmp_path / f"{CLAUDE_ID}.jsonl"
    path.write_text(
        "".join(
            json.dumps({"type": kind, "sessionId": CLAUDE_ID, "message": message}) + "\n"
            for kind, message in (
                ("user", {"role": "user", "content": "go deep"}),
                ("assistant", {"id": "msg_1", "role": "assistant", "content": [call]}),
                ("user", {"role": "user", "content": [result]}),
            )
        )
    )

    session = manager.storage.load(import_source(manager, str(path)).session_id)

    arguments = session.tool_history[0].arguments
    assert list(arguments) == ["input"] and json.loads(arguments["input"]) == nested(80)


def test_a_transcript_without_messages_is_nothing_to_import(
    manager: SessionManager, tmp_path: Path
) -> None:
    path = tmp_path / "summary-only.jsonl"
    path.write_text('{"type":"summary","summary":"Old","leafUuid":"abc"}\n')
    with pytest.raises(NothingToImportError, match="holds no messages"):
        import_source(manager, str(path))
    assert stored_files(manager) == []


@pytest.mark.parametrize("kind", ["empty file", "folder", "fifo", "missing"])
def test_inputs_that_are_not_readable_files_are_refused(
    manager: SessionManager, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "input"
    if kind == "empty file":
        path.write_text("  \n")
    elif kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # no writer: a blocking open would hang here
    with pytest.raises(ImportSourceError):
        import_source(manager, str(path))
    assert stored_files(manager) == []


def test_stdin_is_read_and_an_empty_one_refused(manager: SessionManager) -> None:
    outcome = import_source(manager, "-", stdin=io.BytesIO(SST.read_bytes()))
    assert outcome.status == "imported" and outcome.source.path is None
    with pytest.raises(ImportSourceError, match="nothing on stdin"):
        import_source(manager, "-", stdin=io.BytesIO(b""))


def test_a_url_is_a_seam_not_yet_a_download() -> None:
    with pytest.raises(ImportSourceError, match="URL is not supported yet") as caught:
        read_source("https://bucket.example/export.json?X-Amz-Signature=secret")
    assert "secret" not in str(caught.value)


# -- never twice ------------------------------------------------------------------------------


def test_importing_the_same_source_again_names_the_first_import(
    manager: SessionManager, tmp_path: Path
) -> None:
    first = import_source(manager, str(CLAUDE))
    before = stored_files(manager)
    copy = tmp_path / CLAUDE.name  # the same session, found elsewhere
    shutil.copy(CLAUDE, copy)

    again = import_source(manager, str(copy))

    assert again.status == "already_imported"
    assert again.session_id == first.session_id
    assert again.title == "Config loader for the web app"
    assert stored_files(manager) == before
    assert manager.index.imports_from("claude") == {CLAUDE_ID: first.session_id}


def test_keep_id_uses_the_source_id_when_it_is_free(
    manager: SessionManager, tmp_path: Path
) -> None:
    outcome = import_source(manager, str(CODEX), keep_id=True)
    assert outcome.session_id == CODEX_ID
    assert manager.storage.exists(CODEX_ID)

    taken = Session(title="already here")
    taken.id = CLAUDE_ID
    manager.storage.save(taken)
    with pytest.raises(SessionExistsError):
        import_source(manager, str(CLAUDE), keep_id=True)
    assert manager.storage.load(CLAUDE_ID).title == "already here"


def test_keep_id_refuses_a_source_id_that_cannot_be_an_id(
    manager: SessionManager, tmp_path: Path
) -> None:
    document = json.loads(SST.read_text())
    document["info"]["id"] = "../escape"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidSessionIdError, match="--keep-id"):
        import_source(manager, str(path), keep_id=True)
    assert stored_files(manager) == []


# -- a tool's whole folder --------------------------------------------------------------------


def test_import_all_reads_the_tools_folder_under_home_once(manager: SessionManager) -> None:
    home = Path(os.environ["HOME"])
    projects = home / ".claude" / "projects"
    shutil.copytree(FIXTURES / "claude", projects)
    project = projects / "-home-dev-webapp"
    (project / "agent-1a2b3c4d.jsonl").write_text(CLAUDE.read_text())  # a subagent's
    (project / "0e0e0e0e-0000-4000-8000-000000000000.jsonl").write_text(
        '{"type":"summary","summary":"Nothing said","leafUuid":"x"}\n'
    )
    (project / "1f1f1f1f-0000-4000-8000-000000000000.jsonl").write_text("{oops\n")

    summary = import_all(manager, "claude")

    assert summary.folder == str(projects)
    assert [o.source.id for o in summary.imported] == [CLAUDE_ID]
    assert [Path(p).name for p in summary.empty] == ["0e0e0e0e-0000-4000-8000-000000000000.jsonl"]
    assert [Path(f.path).name for f in summary.failed] == [
        "1f1f1f1f-0000-4000-8000-000000000000.jsonl"
    ]
    assert "line 1 is not valid JSON" in summary.failed[0].error

    again = import_all(manager, "claude")
    assert again.imported == []
    assert [o.session_id for o in again.already_imported] == [summary.imported[0].session_id]


def test_import_all_finds_codex_rollouts_in_dated_folders(manager: SessionManager) -> None:
    shutil.copytree(FIXTURES / "codex", Path(os.environ["HOME"]) / ".codex" / "sessions")
    summary = import_all(manager, "codex")
    assert sorted(o.source.id or "" for o in summary.imported) == sorted(
        [CODEX_ID, "c3c4b301-27c8-4c70-b6e4-46b99fdf0236"]
    )
    assert summary.failed == [] and summary.empty == []


def test_import_all_of_a_missing_folder_finds_nothing(manager: SessionManager) -> None:
    summary = import_all(manager, "codex")
    assert summary.found == 0
    assert summary.folder.endswith(os.path.join(".codex", "sessions"))
