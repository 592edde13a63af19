"""Background auto-save: the timer thread alone, and wired into the manager."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from opencode.sessions import SessionManager, SessionStorage
from opencode.sessions.autosave import AutoSaver


def wait_until(condition: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_autosaver_calls_save_until_stopped() -> None:
    calls: list[float] = []
    saver = AutoSaver(lambda: calls.append(time.monotonic()), interval=0.02)
    assert saver.running is False
    saver.start()
    assert saver.running is True
    assert wait_until(lambda: len(calls) >= 3)
    saver.stop()
    assert saver.running is False
    stopped_at = len(calls)
    time.sleep(0.1)
    assert len(calls) == stopped_at


def test_autosaver_starts_one_thread_only() -> None:
    saver = AutoSaver(lambda: None, interval=10)
    before = threading.active_count()
    saver.start()
    saver.start()
    try:
        assert threading.active_count() == before + 1
        names = [t.name for t in threading.enumerate()]
        assert names.count("opencode-autosave") >= 1
    finally:
        saver.stop()


def test_autosaver_thread_is_a_daemon() -> None:
    saver = AutoSaver(lambda: None, interval=10)
    saver.start()
    try:
        thread = next(t for t in threading.enumerate() if t.name == "opencode-autosave")
        assert thread.daemon is True
    finally:
        saver.stop()


@pytest.mark.parametrize("interval", [0, -1])
def test_autosaver_with_no_interval_never_runs(interval: float) -> None:
    calls: list[int] = []
    saver = AutoSaver(lambda: calls.append(1), interval=interval)
    saver.start()
    assert saver.running is False
    saver.stop()
    assert calls == []


def test_a_failing_save_is_logged_and_the_thread_keeps_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk hiccup")

    saver = AutoSaver(flaky, interval=0.02)
    with caplog.at_level(logging.WARNING, logger="opencode.sessions.autosave"):
        saver.start()
        assert wait_until(lambda: len(calls) >= 3)
        saver.stop()
    assert "auto-save failed: disk hiccup" in caplog.text


def test_autosaver_can_restart_after_stop() -> None:
    calls: list[int] = []
    saver = AutoSaver(lambda: calls.append(1), interval=0.02)
    saver.start()
    saver.stop()
    calls.clear()
    saver.start()
    try:
        assert wait_until(lambda: len(calls) >= 1)
    finally:
        saver.stop()


def test_manager_autosaves_unsaved_changes(tmp_path: Path) -> None:
    storage = SessionStorage(tmp_path / "store")
    manager = SessionManager(storage, auto_save_interval=0.05, fire_shell_hooks=False)
    saves: list[str] = []
    manager.register_hook("session:save", lambda s: saves.append(s.id))
    try:
        session = manager.create()
        session.metadata["branch"] = "main"  # only a snapshot records metadata
        manager.add_message("assistant", "x")
        assert wait_until(lambda: bool(saves))  # announced after the snapshot is written
        assert manager.is_dirty is False
        assert storage.load(session.id).metadata == {"branch": "main"}
        assert storage.get_journal_path(session.id).stat().st_size == 0
        assert set(saves) == {session.id}
        count = len(saves)
        time.sleep(0.2)
        assert len(saves) == count  # nothing changed: no more saves
    finally:
        manager.close()
    assert not any(t.name == "opencode-autosave" for t in threading.enumerate())


def test_manager_without_autosave_starts_no_thread(tmp_path: Path) -> None:
    manager = SessionManager(SessionStorage(tmp_path / "s"), auto_save_interval=0)
    try:
        manager.create()
        assert not any(t.name == "opencode-autosave" for t in threading.enumerate())
    finally:
        manager.close()


def test_wake_asks_for_a_save_now() -> None:
    calls: list[int] = []
    saver = AutoSaver(lambda: calls.append(1), interval=60)
    assert saver.wake() is False  # not running: the caller must save itself
    saver.start()
    try:
        assert saver.wake() is True
        assert wait_until(lambda: len(calls) == 1)
        assert saver.wake() is True
        assert wait_until(lambda: len(calls) == 2)
    finally:
        saver.stop()
    assert saver.wake() is False


def test_stop_does_not_wait_for_the_interval() -> None:
    saver = AutoSaver(lambda: None, interval=60)
    saver.start()
    started = time.monotonic()
    saver.stop()
    assert time.monotonic() - started < 2
    assert saver.running is False
