"""``opencode session delete`` into the trash, ``session trash list|restore|empty`` and
``session cleanup --empty-trash-older-than``, through the installed command."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
import stub_chat_server as pty_helper  # on sys.path via tests/cli/conftest.py
from cli_helpers import ago, make_session, run_opencode, sessions_dir
from lifecycle_helpers import complete, conversation, file_hashes, hold_open, release, trash_dir

from opencode.sessions import Session, SessionStorage
from opencode.sessions.trash import Trash
from opencode.sessions.validate import format_timestamp, utc_now

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and processes")


def trashed() -> list[dict[str, Any]]:
    r = run_opencode("session", "trash", "list", "--json")
    assert r.returncode == 0, r.stderr
    entries: list[dict[str, Any]] = json.loads(r.stdout)
    return entries


def ids() -> list[str]:
    r = run_opencode("session", "list", "-q")
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def shown(session_id: str) -> dict[str, Any]:
    r = run_opencode("session", "show", session_id, "--json")
    assert r.returncode == 0, r.stderr
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def age_in_trash(session_id: str, days: float) -> None:
    """Rewrite the trash's record as if the session had been deleted ``days`` ago."""
    record_path = trash_dir() / f"{session_id}.trashed"
    record = orjson.loads(record_path.read_bytes())
    record["trashed_at"] = format_timestamp(utc_now() - timedelta(days=days))
    record_path.write_bytes(orjson.dumps(record))


def delete(*session_ids: str) -> None:
    r = run_opencode("session", "delete", *session_ids, "--yes")
    assert r.returncode == 0, r.stderr


# -- delete and list --------------------------------------------------------------------------


def test_delete_moves_sessions_to_a_private_trash() -> None:
    session = conversation("Into the trash")
    keep = make_session("Keep")
    whole = shown(session.id)

    r = run_opencode("session", "delete", session.id[:8], "--yes")

    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert f"Moved to the trash: {session.id[:8]}" in r.stderr
    assert "opencode session trash restore" in r.stderr
    assert ids() == [keep.id]
    assert not any(p.name.startswith(session.id) for p in sessions_dir().iterdir())
    assert stat.S_IMODE(trash_dir().stat().st_mode) == 0o700
    names = sorted(p.name for p in trash_dir().iterdir())
    assert names == [f"{session.id}.json", f"{session.id}.trashed"]
    for path in trash_dir().iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    trashed_copy = json.loads((trash_dir() / f"{session.id}.json").read_text(encoding="utf-8"))
    assert trashed_copy == whole  # the whole session, journal and all
    (entry,) = trashed()
    assert set(entry) == {"id", "title", "trashed_at", "message_count", "size_bytes"}
    assert (entry["id"], entry["title"], entry["message_count"]) == (
        session.id,
        "Into the trash",
        4,
    )
    assert entry["size_bytes"] == (trash_dir() / f"{session.id}.json").stat().st_size
    assert entry["trashed_at"].endswith("+00:00")

    r = run_opencode("session", "trash", "list")
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if session.id[:8] in line)
    assert "Into the trash" in row and " 4 " in row


def test_trash_list_is_most_recent_first_and_says_when_empty() -> None:
    r = run_opencode("session", "trash", "list")
    assert r.returncode == 0 and r.stdout == ""
    assert "The trash is empty." in r.stderr
    assert trashed() == []
    first, second = make_session("First"), make_session("Second")
    delete(first.id)
    delete(second.id)
    age_in_trash(first.id, 1)
    assert [e["id"] for e in trashed()] == [second.id, first.id]


def test_delete_permanent_skips_the_trash() -> None:
    session = make_session("Gone for good")
    r = run_opencode("session", "delete", session.id, "--permanent", "--yes")
    assert r.returncode == 0, r.stderr
    assert f"Deleted {session.id[:8]}" in r.stderr
    assert "trash" not in r.stderr
    assert ids() == []
    assert trashed() == []
    assert not any(p.name.startswith(session.id) for p in sessions_dir().iterdir())


# -- restore ----------------------------------------------------------------------------------


def test_restore_brings_sessions_back_under_their_ids() -> None:
    a = conversation("A")
    b = make_session("B")
    whole = shown(a.id)
    delete(a.id, b.id)

    r = run_opencode("session", "trash", "restore", a.id[:8], b.id)

    assert r.returncode == 0, r.stderr
    assert f"Restored {a.id[:8]}" in r.stderr and f"Restored {b.id[:8]}" in r.stderr
    assert set(ids()) == {a.id, b.id}
    assert shown(a.id) == whole
    assert trashed() == []
    assert sorted(p.name for p in trash_dir().iterdir()) == []


def test_restore_of_an_unknown_id_is_one_error_line() -> None:
    session = make_session("Trashed")
    delete(session.id)
    r = run_opencode("session", "trash", "restore", "nope-not-here")
    assert r.returncode == 1
    assert r.stderr == "error: session not found: nope-not-here (in the trash)\n"
    assert r.stdout == ""
    r = run_opencode("session", "trash", "restore", "nope-not-here", session.id)
    assert r.returncode == 1
    assert r.stderr.count("error: ") == 1
    assert ids() == [session.id]  # the others are restored all the same


def test_restore_over_a_taken_id_is_a_clear_error_and_keeps_both() -> None:
    session = make_session("First life")
    delete(session.id)
    again = Session(id=session.id, title="Second life", working_dir="/p")
    SessionStorage().save(again)
    now_there = file_hashes(session.id)

    r = run_opencode("session", "trash", "restore", session.id)

    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == f"error: a session with id {session.id} already exists"
    assert "Traceback" not in r.stderr
    assert file_hashes(session.id) == now_there
    assert [e["id"] for e in trashed()] == [session.id]
    assert shown(session.id)["title"] == "Second life"


@pytest.mark.parametrize("kind", ["manager", "chat"])
def test_restore_of_a_session_open_elsewhere_is_refused_naming_the_pid(kind: str) -> None:
    session = conversation("Open elsewhere")
    storage = SessionStorage()
    Trash(storage).put(storage, session.id, session.title, session.message_count)  # both places
    holder = hold_open(kind, session.id)
    try:
        r = run_opencode("session", "trash", "restore", session.id)
        assert r.returncode == 1
        assert r.stderr.splitlines()[0] == (
            f"error: session {session.id} is open in another process (pid {holder.pid})"
        )
        assert [e["id"] for e in trashed()] == [session.id]
        release(holder, kind)
    finally:
        holder.kill()


def test_completion_offers_trashed_ids_to_restore_only() -> None:
    gone = make_session("Gone")
    here = make_session("Here")
    delete(gone.id)
    assert complete("session", "trash", "restore", "") == [gone.id]
    assert complete("session", "trash", "restore", gone.id[:4]) == [gone.id]
    assert complete("session", "trash", "restore", here.id[:4]) == []
    assert complete("session", "show", "") == [here.id]
    assert complete("session", "delete", "") == [here.id]


# -- emptying ---------------------------------------------------------------------------------


def test_empty_refuses_without_yes_when_not_a_terminal() -> None:
    session = make_session("Still in the trash")
    delete(session.id)
    r = run_opencode("session", "trash", "empty")
    assert r.returncode == 1
    assert r.stderr.startswith("error: refusing to delete 1 session without confirmation")
    assert "--yes" in r.stderr
    assert [e["id"] for e in trashed()] == [session.id]


def test_empty_older_than_removes_only_what_has_been_there_long_enough() -> None:
    old, new = make_session("Old"), make_session("New")
    delete(old.id, new.id)
    age_in_trash(old.id, 40)

    r = run_opencode("session", "trash", "empty", "--older-than", "30", "--yes")

    assert r.returncode == 0, r.stderr
    assert "Deleted 1 session from the trash for good." in r.stderr
    assert [e["id"] for e in trashed()] == [new.id]
    assert not (trash_dir() / f"{old.id}.json").exists()
    r = run_opencode("session", "trash", "empty", "--older-than", "30", "--yes")
    assert r.returncode == 0 and "Nothing in the trash is older than 30 days." in r.stderr

    r = run_opencode("session", "trash", "empty", "--yes")
    assert r.returncode == 0, r.stderr
    assert trashed() == []
    assert sorted(p.name for p in trash_dir().iterdir()) == []
    r = run_opencode("session", "trash", "empty", "--yes")
    assert r.returncode == 0 and "the trash is empty" in r.stderr


@pytest.fixture
def terminals() -> Iterator[list[pty_helper.PtyProcess]]:
    started: list[pty_helper.PtyProcess] = []
    yield started
    for process in started:
        process.close()


def test_empty_asks_on_a_terminal(terminals: list[pty_helper.PtyProcess]) -> None:
    session = make_session("Ask before")
    delete(session.id)

    no = pty_helper.PtyProcess(["session", "trash", "empty"], pty_helper.chat_env(None))
    terminals.append(no)
    no.expect("Delete 1 session from the trash for good? [y/N]:")
    no.write(b"n\r")
    no.expect("Nothing deleted.")
    assert no.wait() == 1
    assert [e["id"] for e in trashed()] == [session.id]

    yes = pty_helper.PtyProcess(["session", "trash", "empty"], pty_helper.chat_env(None))
    terminals.append(yes)
    yes.expect("Delete 1 session from the trash for good? [y/N]:")
    yes.write(b"y\r")
    yes.expect("for good.")
    assert yes.wait() == 0
    assert trashed() == []


def test_cleanup_never_empties_the_trash_unless_asked() -> None:
    long_gone = make_session("Long gone")
    delete(long_gone.id)
    age_in_trash(long_gone.id, 400)
    old = make_session("Old", updated=ago(days=90))

    r = run_opencode("session", "cleanup", "--keep", "0", "--yes")

    assert r.returncode == 0, r.stderr
    assert {e["id"] for e in trashed()} == {long_gone.id, old.id}  # moved in, nothing emptied

    r = run_opencode("session", "cleanup", "--empty-trash-older-than", "30", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "1 session in the trash will be deleted for good" in r.stderr
    assert {e["id"] for e in trashed()} == {long_gone.id, old.id}

    r = run_opencode("session", "cleanup", "--empty-trash-older-than", "30")
    assert r.returncode == 1  # not a terminal, no --yes: refused
    assert "--yes" in r.stderr
    assert {e["id"] for e in trashed()} == {long_gone.id, old.id}

    r = run_opencode("session", "cleanup", "--empty-trash-older-than", "30", "--yes")
    assert r.returncode == 0, r.stderr
    assert "Deleted 1 session from the trash for good." in r.stderr
    assert [e["id"] for e in trashed()] == [old.id]


# -- bugs -------------------------------------------------------------------------------------


def test_cleanup_deletes_for_good_no_more_than_its_plan_announced() -> None:
    old = make_session("Old", updated=ago(days=90))

    dry = run_opencode(
        "session", "cleanup", "--keep", "0", "--empty-trash-older-than", "0", "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert "for good" not in dry.stderr  # nothing is in the trash yet: nothing to delete

    r = run_opencode("session", "cleanup", "--keep", "0", "--empty-trash-older-than", "0", "--yes")

    assert r.returncode == 0, r.stderr
    assert "restore with 'opencode session trash restore ID'" in r.stderr
    assert [e["id"] for e in trashed()] == [old.id], r.stderr  # restorable, as it said


@pytest.mark.parametrize("days", ["nan", "inf", "1e10"])
@pytest.mark.parametrize(
    "command",
    [
        ["session", "trash", "empty", "--yes", "--older-than"],
        ["session", "cleanup", "--yes", "--empty-trash-older-than"],
    ],
)
def test_a_day_count_that_is_not_a_number_is_one_error_line(command: list[str], days: str) -> None:
    session = make_session("In the trash")
    delete(session.id)
    r = run_opencode(*command, days)
    assert "Traceback" not in r.stderr
    assert r.returncode in (1, 2)
    assert r.stderr.startswith("error: ") and len(r.stderr.splitlines()) <= 2, r.stderr
    assert [e["id"] for e in trashed()] == [session.id]


def test_a_damaged_session_can_be_deleted_as_its_hint_says() -> None:
    session = make_session("Will break")
    path = sessions_dir() / f"{session.id}.json"
    path.write_text('{"truncated": ', encoding="utf-8")
    r = run_opencode("session", "show", session.id)
    assert r.returncode == 1
    assert f"'opencode session delete {session.id}'" in r.stderr  # the way out it offers

    r = run_opencode("session", "delete", session.id, "--yes")

    assert r.returncode == 0, r.stderr
    assert not path.exists()
    assert ids() == []


def test_deleting_leftover_files_does_not_claim_they_can_be_restored() -> None:
    session = make_session("Crashed before its first save")
    journal = sessions_dir() / f"{session.id}.jsonl"
    journal.write_text("{}\n", encoding="utf-8")  # what a crash left: a journal only
    (sessions_dir() / f"{session.id}.json").unlink()

    r = run_opencode("session", "delete", session.id, "--yes")

    assert r.returncode == 0, r.stderr
    assert not journal.exists()
    assert trashed() == []  # removed outright, as the library documents ...
    assert "Moved to the trash" not in r.stderr, r.stderr  # ... so it must not say otherwise
    assert "trash restore" not in r.stderr, r.stderr


def test_a_damaged_session_can_be_deleted_for_good() -> None:
    session = make_session("Will break")
    path = sessions_dir() / f"{session.id}.json"
    path.write_text('{"truncated": ', encoding="utf-8")
    r = run_opencode("session", "delete", session.id, "--permanent", "--yes")
    assert r.returncode == 0, r.stderr
    assert not path.exists()
    assert ids() == []
