"""Background auto-save: the timer thread alone, and wired into the manager.

No test here depends on how much happens in a given time: each waits for an event (a call,
a thread ending) under a generous deadline, so a busy machine makes it slower, never red.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from opencode.sessions import SessionManager, SessionStorage
from opencode.sessions.autosave import AutoSaver

TIMEOUT = 60.0  # an upper bound for anything awaited; never a speed assertion


class Calls:
    """A save callable that records each call's thread and lets the test wait for calls."""

    def __init__(self, *, failures: int = 0) -> None:
        self.threads: list[threading.Thread] = []  # one entry per call, in order
        self.failures = failures  # the first calls that raise
        self._changed = threading.Condition()

    @property
    def count(self) -> int:
        return len(self.threads)

    def __call__(self) -> None:
        with self._changed:
            self.threads.append(threading.current_thread())
            self._changed.notify_all()
            failing = self.count <= self.failures
        if failing:
            raise OSError("disk hiccup")

    def wait(self, done: Callable[[], bool]) -> bool:
        with self._changed:
            return self._changed.wait_for(done, TIMEOUT)

    def wait_for_count(self, count: int) -> bool:
        return self.wait(lambda: self.count >= count)


def new_autosave_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Auto-save threads started since ``before`` (earlier tests' may still be ending)."""
    return [t for t in threading.enumerate() if t.name == "opencode-autosave" and t not in before]


def test_autosaver_calls_save_until_stopped() -> None:
    calls = Calls()
    saver = AutoSaver(calls, interval=0.02)
    assert saver.running is False
    saver.start()
    assert saver.running is True
    assert calls.wait_for_count(3)
    saver.stop()
    assert saver.running is False
    at_stop = calls.count
    (thread,) = set(calls.threads)
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    # stop() waits only briefly, so the save under way when it was called may end after it;
    # no other save comes
    assert calls.count <= at_stop + 1


def test_autosaver_starts_one_thread_only() -> None:
    saver = AutoSaver(lambda: None, interval=10)
    before = set(threading.enumerate())
    saver.start()
    saver.start()
    try:
        assert len(new_autosave_threads(before)) == 1
    finally:
        saver.stop()


def test_autosaver_thread_is_a_daemon() -> None:
    saver = AutoSaver(lambda: None, interval=10)
    before = set(threading.enumerate())
    saver.start()
    try:
        (thread,) = new_autosave_threads(before)
        assert thread.daemon is True
    finally:
        saver.stop()


@pytest.mark.parametrize("interval", [0, -1])
def test_autosaver_with_no_interval_never_runs(interval: float) -> None:
    calls = Calls()
    saver = AutoSaver(calls, interval=interval)
    saver.start()
    assert saver.running is False  # start() starts no thread, so nothing can call save
    saver.stop()
    assert calls.count == 0


def test_a_failing_save_is_logged_and_the_thread_keeps_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = Calls(failures=1)
    saver = AutoSaver(calls, interval=0.02)
    with caplog.at_level(logging.WARNING, logger="opencode.sessions.autosave"):
        saver.start()
        assert calls.wait_for_count(3)
        saver.stop()
    assert "auto-save failed: disk hiccup" in caplog.text


def test_autosaver_can_restart_after_stop() -> None:
    calls = Calls()
    saver = AutoSaver(calls, interval=0.02)
    before = set(threading.enumerate())
    saver.start()
    (first,) = new_autosave_threads(before)
    saver.stop()
    saver.start()
    try:
        (second,) = new_autosave_threads(before | {first})
        assert calls.wait(lambda: second in calls.threads)
    finally:
        saver.stop()


def test_manager_autosaves_unsaved_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = Calls()  # every auto-save tick of the manager, whether it wrote anything or not

    class CountingAutoSaver(AutoSaver):
        def __init__(self, save: Callable[[], None], interval: float) -> None:
            def tick() -> None:
                save()
                ticks()

            super().__init__(tick, interval)

    monkeypatch.setattr("opencode.sessions.manager.AutoSaver", CountingAutoSaver)
    storage = SessionStorage(tmp_path / "store")
    manager = SessionManager(storage, auto_save_interval=0.05, fire_shell_hooks=False)
    try:
        session = manager.create()
        session.metadata["branch"] = "main"  # a direct edit: only auto-save records it
        # The tick under way may have missed the edit; the one after it cannot.
        assert ticks.wait_for_count(ticks.count + 2)
        assert storage.load(session.id).metadata == {"branch": "main"}
        files = [storage.get_path(session.id), storage.get_journal_path(session.id)]
        written = [path.read_bytes() for path in files]
        assert ticks.wait_for_count(ticks.count + 2)
        assert [path.read_bytes() for path in files] == written  # nothing changed: no writes
    finally:
        manager.close()
    # close() stops the thread without waiting for it (see AutoSaver.stop); it ends soon after
    (thread,) = set(ticks.threads)
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_manager_without_autosave_starts_no_thread(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    manager = SessionManager(SessionStorage(tmp_path / "s"), auto_save_interval=0)
    try:
        manager.create()
        assert new_autosave_threads(before) == []
    finally:
        manager.close()


def test_wake_asks_for_a_save_now() -> None:
    calls = Calls()
    saver = AutoSaver(calls, interval=3600)  # only a wake can save within the test
    assert saver.wake() is False  # not running: the caller must save itself
    saver.start()
    try:
        assert saver.wake() is True
        assert calls.wait_for_count(1)
        assert saver.wake() is True
        assert calls.wait_for_count(2)
    finally:
        saver.stop()
    assert saver.wake() is False


def test_stop_does_not_wait_for_the_interval() -> None:
    saver = AutoSaver(lambda: None, interval=3600)
    before = set(threading.enumerate())
    saver.start()
    (thread,) = new_autosave_threads(before)
    saver.stop()
    assert saver.running is False
    # the thread ends within the deadline, not after the hour: stop() woke it
    thread.join(TIMEOUT)
    assert not thread.is_alive()
