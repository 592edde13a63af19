"""Two machines (two data folders) syncing through moto with the real ``opencode`` command."""

from __future__ import annotations

import os

from sync_helpers import Machine, contents, held_open, moved, tell

from opencode.sessions.locks import this_host
from opencode.sessions.trash import Trash


def test_first_push_then_pull_brings_every_session_over(machines: tuple[Machine, Machine]) -> None:
    a, b = machines
    first = a.new_session("Fix the parser", "why does it crash?", "a None check is missing")
    second = a.new_session("Write tests", "add tests", tags=("testing",))

    pushed = a.sync()
    assert moved(pushed, "push") == sorted([(first.id, "new"), (second.id, "new")])
    assert pushed["summary"]["objects_up"] == 2

    pulled = b.sync()
    assert moved(pulled, "pull") == sorted([(first.id, "new"), (second.id, "new")])
    assert b.ids() == {first.id, second.id}
    assert b.index_ids() == {first.id, second.id}  # listed, not only on disk
    for original in (first, second):
        copy = b.load(original.id)
        assert contents(copy) == contents(original)
        assert (copy.title, copy.tags, copy.created_at) == (
            original.title,
            original.tags,
            original.created_at,
        )
    assert b.sync()["moved"] == []  # nothing came back to send


def test_the_cli_prints_what_moved_and_a_summary(machines: tuple[Machine, Machine]) -> None:
    a, _ = machines
    session = a.new_session("Plain output", "hello")

    r = a.run("sync")

    assert r.returncode == 0, r.stderr
    line = r.stdout.strip()
    assert line.startswith("push  new") and session.id[:8] in line and "Plain output" in line
    assert r.stderr.splitlines()[-1].startswith("Synced with origin: 1 pushed, 0 pulled")


def test_incremental_sync_moves_only_what_changed(machines: tuple[Machine, Machine]) -> None:
    a, b = machines
    sessions = [a.new_session(f"session {n}", f"message {n}") for n in range(5)]
    a.sync()
    b.sync()

    a.add_messages(sessions[2].id, "one more")
    pushed = a.sync()
    assert moved(pushed) == [(sessions[2].id, "update")]
    assert pushed["summary"]["objects_up"] == 1

    pulled = b.sync()
    assert moved(pulled) == [(sessions[2].id, "update")]
    assert pulled["summary"]["objects_down"] == 1
    assert [m.content for m in b.load(sessions[2].id).messages][-1] == "one more"


def test_a_sync_with_nothing_changed_transfers_no_objects(
    machines: tuple[Machine, Machine],
) -> None:
    a, b = machines
    for n in range(3):
        a.new_session(f"session {n}", "hello")
    a.sync()
    b.sync()

    for machine in (a, b, a):
        report = machine.sync()
        assert report["moved"] == []
        summary = report["summary"]
        assert (summary["objects_up"], summary["objects_down"]) == (0, 0)
        assert summary["bytes_up"] == 0
        assert summary["requests"] <= 4  # the format marker, the device list, one log listing


def test_messages_added_on_both_sides_keep_both_as_a_fork(
    machines: tuple[Machine, Machine],
) -> None:
    a, b = machines
    session = a.new_session("Shared work", "start", "ok")
    a.sync()
    b.sync()
    common = session.messages[-1].id
    a.add_messages(session.id, "from A")
    b.add_messages(session.id, "from B")

    a.sync()  # A's version goes out first
    pulled = b.sync()

    # B keeps its own version; A's arrives as a fork at the common point.
    forks = [m for m in pulled["moved"] if m["action"] == "fork"]
    assert len(forks) == 1 and forks[0]["forked_from"] == session.id
    fork = b.load(forks[0]["id"])
    assert [m.content for m in b.load(session.id).messages] == ["start", "ok", "from B"]
    assert [m.content for m in fork.messages] == ["start", "ok", "from A"]
    assert fork.metadata["forked_from"] == {"session_id": session.id, "message_id": common}
    assert fork.title == f"Shared work (from {this_host()})"

    # A learns of B's version the same way; both end with the same two sessions.
    a.sync()
    b.sync()
    assert a.ids() == b.ids() == {session.id, fork.id}
    for sid in (session.id, fork.id):
        assert contents(a.load(sid)) == contents(b.load(sid))
    assert a.sync()["moved"] == [] and b.sync()["moved"] == []


def test_metadata_edits_travel_without_content(machines: tuple[Machine, Machine]) -> None:
    a, b = machines
    renamed = a.new_session("Old title", "hello")
    archived = a.new_session("To archive", "hello")
    a.sync()
    b.sync()

    b.manager().update_session(renamed.id, title="New title", add_tags=["reviewed"])
    b.manager().pin(renamed.id)
    a.manager().archive(archived.id)

    pushed = b.sync()
    assert moved(pushed) == [(renamed.id, "metadata")]
    assert pushed["summary"]["objects_up"] == 0  # no new object for a metadata edit
    report = a.sync()
    assert moved(report, "pull") == [(renamed.id, "metadata")]
    assert moved(report, "push") == [(archived.id, "metadata")]
    b.sync()

    for machine in (a, b):
        got = machine.load(renamed.id)
        assert (got.title, got.tags, got.metadata.get("pinned")) == (
            "New title",
            ["reviewed"],
            True,
        )
        assert isinstance(machine.load(archived.id).metadata.get("archived_at"), str)


def test_the_same_field_edited_on_both_sides_keeps_the_local_value(
    machines: tuple[Machine, Machine],
) -> None:
    a, b = machines
    session = a.new_session("Original", "hello")
    a.sync()
    b.sync()
    a.manager().update_session(session.id, title="Title from A")
    b.manager().update_session(session.id, title="Title from B", add_tags=["b"])

    a.sync()
    b.sync()
    assert b.load(session.id).title == "Title from B"  # local wins on B
    assert b.load(session.id).tags == ["b"]
    a.sync()  # A had not changed it since: it takes B's
    assert a.load(session.id).title == "Title from B"
    assert contents(a.load(session.id)) == contents(b.load(session.id))


def test_a_deletion_lands_in_the_other_trash_and_can_be_restored(
    machines: tuple[Machine, Machine],
) -> None:
    a, b = machines
    doomed = a.new_session("Doomed", "hello")
    kept = a.new_session("Kept", "hello")
    a.sync()
    b.sync()

    assert a.run("session", "delete", doomed.id, "--yes").returncode == 0
    assert moved(a.sync()) == [(doomed.id, "delete")]
    report = b.sync()

    assert moved(report) == [(doomed.id, "trash")]
    assert b.ids() == {kept.id}
    assert [e.id for e in Trash(b.storage).entries()] == [doomed.id]
    restored = b.run("session", "trash", "restore", doomed.id)
    assert restored.returncode == 0, restored.stderr
    assert contents(b.load(doomed.id)) == contents(doomed)


def test_a_deletion_never_removes_a_session_changed_since(
    machines: tuple[Machine, Machine],
) -> None:
    a, b = machines
    session = a.new_session("Contested", "hello")
    a.sync()
    b.sync()
    assert a.run("session", "delete", session.id, "--yes").returncode == 0
    a.sync()
    b.add_messages(session.id, "still working on it")

    report = b.sync()

    assert b.ids() == {session.id}
    assert [s["id"] for s in report["skipped"]] == [session.id]
    assert "changed here" in report["skipped"][0]["reason"]
    assert moved(report, "push") == [(session.id, "update")]  # sent again
    back = a.sync()
    assert moved(back) == [(session.id, "restore")]
    assert [m.content for m in a.load(session.id).messages] == ["hello", "still working on it"]


def test_a_session_open_in_a_chat_loop_syncs_as_of_its_last_durable_state(
    machines: tuple[Machine, Machine],
) -> None:
    a, b = machines
    session = a.new_session("Live chat", "hello")
    with held_open(a, session.id) as chat:
        assert tell(chat, "message user is this saved?") == "ack 2"
        assert tell(chat, "message assistant yes, on disk") == "ack 3"

        assert moved(a.sync()) == [(session.id, "new")]
        b.sync()
        assert [m.content for m in b.load(session.id).messages] == [
            "hello",
            "is this saved?",
            "yes, on disk",
        ]

        # B moves on; A's pull waits, as the session is held open there.
        b.add_messages(session.id, "from B")
        b.sync()
        r = a.run("sync")
        assert r.returncode == 0, r.stderr
        assert "open in another process" in r.stderr
        assert len(a.load(session.id).messages) == 3
        assert tell(chat, "close") == "closed"

    report = a.sync()
    assert moved(report) == [(session.id, "update")]
    assert [m.content for m in a.load(session.id).messages][-1] == "from B"


def test_two_syncs_of_one_data_folder_never_run_at_once(
    machines: tuple[Machine, Machine],
) -> None:
    a, _ = machines
    a.new_session("Anything", "hello")
    from opencode import fsutil

    lock_file = a.data_dir / "sync" / "sync.lock"
    fsutil.make_private_dir(lock_file.parent)
    fd = fsutil.flock_exclusive(lock_file)  # what a running sync holds
    assert fd is not None
    try:
        r = a.run("sync")
    finally:
        os.close(fd)

    assert r.returncode == 1
    assert r.error_lines == [
        "error: another 'opencode sync' is running in this data folder; wait for it to finish"
    ]
    assert a.sync()["summary"]["pushed"] == 1  # free again


def test_push_only_and_pull_only(machines: tuple[Machine, Machine]) -> None:
    a, b = machines
    first = a.new_session("From A", "hello")
    a.sync()
    second = b.new_session("From B", "hello")

    report = b.sync("--push-only")
    assert moved(report) == [(second.id, "new")]
    assert b.ids() == {second.id}
    report = b.sync("--pull-only")
    assert moved(report) == [(first.id, "new")]


def test_a_dry_run_changes_nothing_anywhere(machines: tuple[Machine, Machine]) -> None:
    a, b = machines
    session = a.new_session("Planned", "hello")

    preview = a.sync("--dry-run")
    assert preview["dry_run"] is True
    assert moved(preview) == [(session.id, "new")]
    assert not (a.data_dir / "sync" / "device.json").exists()
    assert b.sync()["moved"] == []  # nothing reached the bucket

    a.sync()
    preview = b.sync("--dry-run")
    assert moved(preview) == [(session.id, "new")]
    assert b.ids() == set()


def test_only_the_sessions_named_are_synced(machines: tuple[Machine, Machine]) -> None:
    a, b = machines
    chosen = a.new_session("Chosen", "hello")
    other = a.new_session("Other", "hello")
    a.sync()

    report = b.sync("origin", chosen.id[:12])
    assert moved(report) == [(chosen.id, "new")]
    assert b.ids() == {chosen.id}
    assert moved(b.sync()) == [(other.id, "new")]  # the rest waited, nothing was lost
