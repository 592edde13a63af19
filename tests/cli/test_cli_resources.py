"""Commands run in-process release the index's files when they end, not when collected.

``sqlite3.Connection`` holds itself in a reference cycle, so a connection nobody closes stays
open until a full garbage collection: a program (or test run) calling many commands would run
out of descriptors. With collection turned off, any file still open after a command is a leak.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import make_session, sessions_dir

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")


def open_index_files() -> list[str]:
    """This test's index files this process holds open."""
    ours = str(sessions_dir() / ".index")
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(ours):
            found.append(target)
    return found


@pytest.fixture
def no_collection() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.parametrize(
    "argv",
    [
        ("--list-sessions",),
        ("session", "list"),
        ("session", "show", "first"),
        ("session", "title", "first", "renamed"),
        ("session", "search", "hello"),
        ("session", "stats"),
        ("session", "delete", "first", "--yes"),
        ("session", "cleanup", "--yes"),
    ],
)
def test_a_command_leaves_no_index_file_open(
    cli, no_collection: None, argv: tuple[str, ...]
) -> None:
    make_session("first", messages=[("user", "hello there")])
    assert (sessions_dir() / ".index").is_dir()
    assert open_index_files() == []
    result = cli(*argv)
    assert result.exit_code == 0, result.output
    assert open_index_files() == []


def test_the_library_cleanup_call_leaves_no_index_file_open(no_collection: None) -> None:
    from opencode.sessions import SessionStorage

    make_session("old")
    SessionStorage().cleanup_old_sessions(max_age_days=0, keep_minimum=0)
    assert open_index_files() == []


def test_closing_a_manager_releases_the_index_and_it_reopens_on_use(
    no_collection: None, data_dir: Path
) -> None:
    from opencode.sessions import SessionManager, SessionStorage

    make_session("kept")
    manager = SessionManager(storage=SessionStorage())
    assert [s.title for s in manager.list_sessions()] == ["kept"]
    assert open_index_files() != []
    manager.close()
    assert open_index_files() == []
    assert [s.title for s in manager.list_sessions()] == ["kept"]
    manager.close()
