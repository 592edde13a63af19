"""``opencode session fork|archive|unarchive|pin|unpin|resolve`` through the installed command,
and what they change in listings, completion and resume picks; sessions held by another
process; folder-sync conflict copies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import ago, make_session, opencode_command, run_opencode, sessions_dir
from lifecycle_helpers import (
    TIMEOUT,
    OpenWatch,
    complete,
    conversation,
    file_hashes,
    hold_open,
    hold_short,
    release,
    trash_dir,
)

from opencode.sessions import Session, SessionMessage, SessionStorage

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and locks")


def shown(session_id: str) -> dict[str, Any]:
    r = run_opencode("session", "show", session_id, "--json")
    assert r.returncode == 0, r.stderr
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def listed(*options: str) -> list[dict[str, Any]]:
    r = run_opencode("session", "list", "--json", *options)
    assert r.returncode == 0, r.stderr
    rows: list[dict[str, Any]] = json.loads(r.stdout)
    return rows


def ids(*options: str) -> list[str]:
    r = run_opencode("session", "list", "-q", *options)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


# -- fork -------------------------------------------------------------------------------------


def test_fork_prints_the_new_id_and_copies_the_conversation_up_to_the_cut() -> None:
    parent = conversation()
    before = file_hashes(parent.id)

    r = run_opencode("session", "fork", parent.id[:8], "--at", "3")

    assert r.returncode == 0, r.stderr
    fork_id = r.stdout.strip()
    assert r.stdout == f"{fork_id}\n" and fork_id != parent.id
    assert r.stderr == ""  # piped: the id only
    fork = shown(fork_id)
    assert [m["content"] for m in fork["messages"]] == ["q1", "a1", "q2"]
    assert [m["id"] for m in fork["messages"]] == [m.id for m in parent.messages[:3]]
    assert [t["tool_name"] for t in fork["tool_history"]] == ["grep"]
    assert (fork["total_prompt_tokens"], fork["total_completion_tokens"]) == (10, 1)
    assert fork["metadata"]["forked_from"] == {
        "session_id": parent.id,
        "message_id": parent.messages[2].id,
    }
    assert fork["title"] == "Parent (fork)"
    assert file_hashes(parent.id) == before  # the original, byte for byte
    assert set(ids()) == {parent.id, fork_id}


def test_fork_of_every_message_carries_all_the_usage_and_tool_runs() -> None:
    parent = conversation()

    r = run_opencode("session", "fork", parent.id)

    assert r.returncode == 0, r.stderr
    fork = shown(r.stdout.strip())
    assert [m["content"] for m in fork["messages"]] == ["q1", "a1", "q2", "a2"]
    assert [t["tool_name"] for t in fork["tool_history"]] == ["grep", "ls"]
    # All of it, the model call no message carries included.
    assert (fork["total_prompt_tokens"], fork["total_completion_tokens"]) == (115, 26)


def test_fork_before_a_message_with_a_title() -> None:
    parent = conversation()

    r = run_opencode(
        "session", "fork", parent.id, "--before-message", parent.messages[1].id, "--title", "Retry"
    )

    assert r.returncode == 0, r.stderr
    fork = shown(r.stdout.strip())
    assert [m["content"] for m in fork["messages"]] == ["q1"]
    assert fork["title"] == "Retry"
    assert fork["tool_history"] == []
    assert (fork["total_prompt_tokens"], fork["total_completion_tokens"]) == (0, 0)
    assert fork["metadata"]["forked_from"]["message_id"] == parent.messages[0].id


def test_show_and_listings_name_the_parent_of_a_fork() -> None:
    parent = conversation()
    fork_id = run_opencode("session", "fork", parent.id, "--at", "2").stdout.strip()

    r = run_opencode("session", "show", fork_id)

    assert r.returncode == 0, r.stderr
    line = next(line for line in r.stdout.splitlines() if line.startswith("Forked from:"))
    assert parent.id in line and parent.messages[1].id in line
    assert "Forked from:" not in run_opencode("session", "show", parent.id).stdout
    rows = {row["id"]: row for row in listed()}
    assert rows[fork_id]["forked_from"] == parent.id
    assert rows[parent.id]["forked_from"] is None
    tree = run_opencode("session", "list", "--tree").stdout.splitlines()
    parent_row = next(n for n, line in enumerate(tree) if parent.id[:8] in line)
    assert fork_id[:8] in tree[parent_row + 1] and "└" in tree[parent_row + 1]


@pytest.mark.parametrize(
    ("options", "code", "message"),
    [
        (["--at", "9"], 1, "error: --at must be between 0 and 4, got 9"),
        (["--at", "-1"], 2, "--at"),
        (["--at", "two"], 2, "--at"),
        (["--before-message", "msg_nope"], 1, "has no message 'msg_nope'"),
        (["--at", "1", "--before-message", "msg_x"], 2, "not both"),
    ],
)
def test_a_cut_that_does_not_exist_is_one_error_line_and_makes_nothing(
    options: list[str], code: int, message: str
) -> None:
    parent = conversation()
    before = file_hashes(parent.id)

    r = run_opencode("session", "fork", parent.id, *options)

    assert r.returncode == code, r.stderr
    assert r.stdout == ""
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], r.stderr
    # A usage error may add Typer's "Try '... --help'" line; nothing else.
    others = [line for line in r.stderr.splitlines() if not line.startswith("error: ")]
    assert all(line.startswith("Try 'opencode session fork --help'") for line in others), others
    assert "Traceback" not in r.stderr
    assert ids() == [parent.id]
    assert file_hashes(parent.id) == before


# -- archive ----------------------------------------------------------------------------------


def test_archived_sessions_leave_listings_completion_and_resume_picks(project: Path) -> None:
    older = make_session("Older", updated=ago(days=2), working_dir=str(project))
    newer = make_session(
        "Newer", updated=ago(hours=1), working_dir=str(project), messages=[("user", "zebra words")]
    )
    make_session("Other", updated=ago(days=3), messages=[("user", "zebra too")])
    everyone = set(ids())

    r = run_opencode("session", "archive", newer.id[:8])

    assert r.returncode == 0, r.stderr
    assert f"Archived {newer.id[:8]}" in r.stderr and "Newer" in r.stderr
    assert newer.id not in ids()
    listing = run_opencode("--list-sessions")
    assert older.id[:8] in listing.stdout and newer.id[:8] not in listing.stdout
    assert ids("--archived") == [newer.id]
    assert set(ids("--all")) == everyone
    assert newer.id not in complete("session", "show", "")
    assert newer.id not in complete("--resume", "")
    assert complete("session", "unarchive", "") == [newer.id]
    assert newer.id not in complete("session", "archive", "")
    r = run_opencode("--resume", input="")
    assert r.returncode == 0, r.stderr
    assert f"Resuming session: {older.id}" in r.stderr
    r = run_opencode("--continue", input="", cwd=project)
    assert r.returncode == 0, r.stderr
    assert f"Resuming session: {older.id}" in r.stderr

    def found(*options: str) -> set[str]:
        r = run_opencode("session", "search", "zebra", "--json", *options)
        assert r.returncode == 0, r.stderr
        return {hit["id"] for hit in json.loads(r.stdout)}

    assert newer.id not in found()
    assert newer.id in found("--archived")
    archived_at = shown(newer.id)["metadata"]["archived_at"]
    assert isinstance(archived_at, str)
    assert "Archived:" in run_opencode("session", "show", newer.id).stdout
    assert listed("--archived")[0]["archived_at"] is not None

    r = run_opencode("session", "unarchive", newer.id)

    assert r.returncode == 0, r.stderr
    assert ids()[0] == newer.id
    assert complete("session", "unarchive", "") == []
    assert "archived_at" not in shown(newer.id)["metadata"]


def test_archive_takes_several_ids_and_goes_on_past_a_bad_one() -> None:
    a = make_session("A")
    b = make_session("B")
    r = run_opencode("session", "archive", a.id, "nope-not-here", b.id[:8])
    assert r.returncode == 1
    assert r.stderr.count("error: ") == 1 and "nope-not-here" in r.stderr
    assert set(ids("--archived")) == {a.id, b.id}


# -- pin --------------------------------------------------------------------------------------


def test_pinned_sessions_are_listed_first_with_a_marker() -> None:
    old = make_session("Old but important", updated=ago(days=5))
    new = make_session("New", updated=ago(hours=1))
    assert ids() == [new.id, old.id]

    r = run_opencode("session", "pin", old.id[:8])

    assert r.returncode == 0, r.stderr
    assert f"Pinned {old.id[:8]}" in r.stderr
    assert ids() == [old.id, new.id]
    rows = [line for line in run_opencode("session", "list").stdout.splitlines() if "..." in line]
    assert old.id[:8] in rows[0] and "[pinned]" in rows[0]
    assert "[pinned]" not in rows[1]
    assert "[pinned]" in run_opencode("--list-sessions").stdout
    assert [(row["id"], row["pinned"]) for row in listed()] == [(old.id, True), (new.id, False)]

    r = run_opencode("session", "unpin", old.id)

    assert r.returncode == 0, r.stderr
    assert ids() == [new.id, old.id]
    assert "[pinned]" not in run_opencode("session", "list").stdout


def test_cleanup_never_touches_pinned_sessions() -> None:
    pinned = make_session("Pinned", updated=ago(days=90))
    old = make_session("Old", updated=ago(days=80))
    assert run_opencode("session", "pin", pinned.id).returncode == 0

    dry = run_opencode("session", "cleanup", "--keep", "0", "--max-age-days", "0", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert old.id[:8] in dry.stdout and pinned.id[:8] not in dry.stdout

    r = run_opencode("session", "cleanup", "--keep", "0", "--max-age-days", "0", "--yes")

    assert r.returncode == 0, r.stderr
    assert ids() == [pinned.id]
    assert file_hashes(pinned.id)  # its files are all there
    assert (trash_dir() / f"{old.id}.json").exists()
    assert not (trash_dir() / f"{pinned.id}.json").exists()


def test_resume_and_continue_take_the_most_recent_session_not_the_pinned_one(
    project: Path,
) -> None:
    pinned = make_session("Pinned long ago", updated=ago(days=5), working_dir=str(project))
    recent = make_session("Most recent", updated=ago(hours=1), working_dir=str(project))
    assert run_opencode("session", "pin", pinned.id).returncode == 0

    for args in (["--resume"], ["--continue"]):
        r = run_opencode(*args, input="", cwd=project)
        assert r.returncode == 0, r.stderr
        assert f"Resuming session: {recent.id}" in r.stderr, (args, r.stderr)


# -- held open by another process -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["manager", "chat"])
def test_a_session_open_in_another_process_is_refused_naming_the_pid(kind: str) -> None:
    session = conversation()
    holder = hold_open(kind, session.id)
    try:
        before = file_hashes(session.id)
        for command in (
            ["delete", "--yes"],
            ["delete", "--permanent", "--yes"],
            ["archive"],
            ["pin"],
        ):
            r = run_opencode("session", *command, session.id)
            assert r.returncode == 1, (command, r.stderr)
            error = r.stderr.splitlines()[0]
            assert error == (
                f"error: session {session.id} is open in another process (pid {holder.pid})"
            ), (command, r.stderr)
            assert "Traceback" not in r.stderr
        assert file_hashes(session.id) == before
        assert not (trash_dir() / f"{session.id}.json").exists()
        assert listed()[0]["pinned"] is False and listed()[0]["archived_at"] is None
        release(holder, kind)
    finally:
        holder.kill()
    r = run_opencode("session", "pin", session.id)  # let go of: allowed now
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="watches the lock with inotify")
def test_a_short_writer_waits_for_another_short_writer() -> None:
    session = make_session("Tag me")
    first = hold_short(session.id)  # a `session tag` in the middle of its change
    try:
        watch = OpenWatch(sessions_dir() / f"{session.id}.lock")
        try:
            second = subprocess.Popen(
                [*opencode_command(), "session", "tag", session.id, "second"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            # It tried the lock, found it taken, and tried again: it waits, it did not fail.
            watch.wait_for_opens(2)
        finally:
            watch.close()
        assert second.poll() is None
        first.finish()
        _, err = second.communicate(timeout=TIMEOUT)
    finally:
        first.kill()
    assert second.returncode == 0, err
    assert SessionStorage().load(session.id).tags == ["second"]


def test_two_tag_commands_at_once_both_succeed() -> None:
    session = make_session("Tag me twice")
    commands = [
        subprocess.Popen(
            [*opencode_command(), "session", "tag", session.id, tag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("one", "two")
    ]
    for command in commands:
        _, err = command.communicate(timeout=TIMEOUT)
        assert command.returncode == 0, err
    assert sorted(SessionStorage().load(session.id).tags) == ["one", "two"]


# -- folder-sync conflict copies --------------------------------------------------------------

CONFLICT_NAMES = {
    "syncthing": "{id}.sync-conflict-20240115-103000-ABCDEFG.json",
    "dropbox": "{id} (conflicted copy 2024-01-15).json",
    "icloud": "{id} 2.json",
}


def _diverged(name: str) -> tuple[Session, Path]:
    """A session changed on two machines: ours, and the sync tool's copy of theirs."""
    session = make_session("Shared", messages=[("user", "common 1"), ("assistant", "common 2")])
    theirs = Session.from_dict(session.to_dict())
    theirs.add_message(SessionMessage(role="user", content="theirs"))
    copy = sessions_dir() / name.format(id=session.id)
    copy.write_text(theirs.to_json(), encoding="utf-8")
    session.add_message(SessionMessage(role="user", content="mine"))
    SessionStorage().save(session)
    return session, copy


@pytest.mark.parametrize("tool", sorted(CONFLICT_NAMES))
def test_conflict_copies_are_listed_and_resolve_keeps_both(tool: str) -> None:
    session, copy = _diverged(CONFLICT_NAMES[tool])
    copy_bytes = copy.read_bytes()
    before = file_hashes(session.id)

    r = run_opencode("session", "list")
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if session.id[:8] in line)
    assert "(conflict)" in row
    assert f"opencode session resolve {session.id}" in r.stderr
    assert [row["conflicts"] for row in listed()] == [[copy.name]]
    assert ids() == [session.id]  # the copy is not a session of its own

    r = run_opencode("session", "resolve", session.id[:8])

    assert r.returncode == 0, r.stderr
    fork_id = r.stdout.strip()
    assert r.stdout == f"{fork_id}\n"
    assert "conflict" in r.stderr
    assert file_hashes(session.id) == before  # ours stays as it is
    fork = shown(fork_id)
    assert [m["content"] for m in fork["messages"]] == ["common 1", "common 2", "theirs"]
    assert fork["metadata"]["forked_from"]["session_id"] == session.id
    assert fork["metadata"]["forked_from"]["message_id"] == session.messages[1].id
    assert not copy.exists()
    assert (trash_dir() / "conflicts" / copy.name).read_bytes() == copy_bytes  # nothing deleted
    rows = {row["id"]: row for row in listed()}
    assert set(rows) == {session.id, fork_id}
    assert rows[session.id]["conflicts"] == [] and rows[fork_id]["forked_from"] == session.id
    assert "(conflict)" not in run_opencode("session", "list").stdout

    r = run_opencode("session", "resolve", session.id)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and "no conflict copies" in r.stderr


def test_conflict_copies_do_not_complete_or_resolve_as_sessions() -> None:
    session, copy = _diverged(CONFLICT_NAMES["syncthing"])
    assert complete("session", "show", "") == [session.id]
    r = run_opencode("session", "show", copy.name)
    assert r.returncode == 1
    assert os.path.exists(copy)


def test_a_conflict_copy_without_its_session_can_be_resolved_as_hinted() -> None:
    session = make_session("Deleted here, changed there", messages=[("user", "their words")])
    copy = sessions_dir() / f"{session.id} 2.json"
    (sessions_dir() / f"{session.id}.json").rename(copy)

    r = run_opencode("session", "list")
    assert f"'opencode session resolve {session.id}'" in r.stderr  # the advice given

    r = run_opencode("session", "resolve", session.id)

    assert r.returncode == 0, r.stderr
    kept = [shown(row["id"]) for row in listed()]
    assert [[m["content"] for m in s["messages"]] for s in kept] == [["their words"]]
