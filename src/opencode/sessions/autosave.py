"""Background auto-save that works in plain scripts and asyncio programs alike.

A daemon thread (not an asyncio task) so it runs whether or not an event loop exists, and so
interpreter exit never waits for it; the manager saves on exit itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from opencode.logs import get_logger

logger = get_logger(__name__)


class AutoSaver:
    """Calls ``save`` every ``interval`` seconds until stopped."""

    def __init__(self, save: Callable[[], None], interval: float) -> None:
        self._save = save
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the background thread (once)."""
        if self.running or self.interval <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="opencode-autosave", daemon=True)
        self._thread.start()

    def wake(self) -> bool:
        """Ask for a save now, off the caller's thread; False when no thread is running."""
        if not self.running:
            return False
        self._wake.set()
        return True

    def stop(self, *, wait: bool = True) -> None:
        """Stop the thread; with ``wait`` also wait briefly for a save in progress.

        The manager stops it while holding its own lock, which a save in progress may be
        waiting for: it passes ``wait=False`` and the thread ends as soon as that save does.
        """
        self._stop.set()
        self._wake.set()
        thread = self._thread
        self._thread = None
        self._stopped = thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)

    def join(self, timeout: float = 60.0) -> None:
        """Wait for a stopped thread to end (call it without holding the manager's lock)."""
        thread = self._stopped
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._save()
            except Exception as exc:  # a failed auto-save must not kill the thread
                logger.warning("auto-save failed: %s", exc)
