"""Fire-and-forget delivery: ``dispatch`` queues an event and returns at once.

One worker thread runs queued events in dispatch order, each event's hooks in registration
order. The worker is not a daemon, so Python waits for it before the process exits: every
dispatched hook finishes (or hits its timeout). It starts when work arrives and ends when the
queue is empty, so an idle process has no extra thread and exit is never held up for nothing.
"""

from __future__ import annotations

import os
import threading
from collections import deque

from opencode.hooks.events import HookEvent
from opencode.hooks.executor import run_hooks
from opencode.hooks.hook import Hook
from opencode.hooks.registry import HookRegistry
from opencode.logs import get_logger

logger = get_logger(__name__)


class HookDispatcher:
    """A FIFO of (event, hooks) drained by an on-demand, non-daemon worker thread."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # Also runs in a forked child: the parent's worker thread does not exist there.
        self._cond = threading.Condition()
        self._pending: deque[tuple[HookEvent, list[Hook]]] = deque()
        self._unfinished = 0
        self._worker: threading.Thread | None = None

    def submit(self, event: HookEvent, hooks: list[Hook]) -> None:
        """Queue ``hooks`` to run for ``event`` after everything queued before."""
        with self._cond:
            self._pending.append((event, hooks))
            self._unfinished += 1
            if self._worker is not None:
                return
            worker = threading.Thread(target=self._drain, name="opencode-hooks", daemon=False)
            try:
                # During interpreter shutdown (an atexit handler) the main thread is no
                # longer alive: Python 3.12 refuses new threads then, and 3.13 starts them but
                # never joins them. Either way, run the queue here so the hooks still run.
                if not threading.main_thread().is_alive():
                    raise RuntimeError("interpreter is shutting down")
                worker.start()
            except RuntimeError:
                self._worker = threading.current_thread()
                inline = True
            else:
                self._worker = worker
                inline = False
        if inline:
            self._drain()

    def _drain(self) -> None:
        while True:
            with self._cond:
                if not self._pending:
                    self._worker = None
                    self._cond.notify_all()
                    return
                event, hooks = self._pending.popleft()
            try:
                run_hooks(hooks, event)
            except Exception:  # run_hooks never raises; belt and braces for the worker
                logger.exception("Hooks for %s failed unexpectedly", event.type.value)
            finally:
                with self._cond:
                    self._unfinished -= 1
                    self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every queued hook has finished; False if ``timeout`` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._unfinished == 0, timeout)


_dispatcher: HookDispatcher | None = None
_dispatcher_lock = threading.Lock()


def _get_dispatcher() -> HookDispatcher:
    global _dispatcher
    with _dispatcher_lock:
        if _dispatcher is None:
            _dispatcher = HookDispatcher()
        return _dispatcher


def dispatch(event: HookEvent, *, registry: HookRegistry | None = None) -> None:
    """Run the hooks matching ``event`` in the background and return immediately.

    With no matching hook this only walks the registry's patterns: cheap enough to call for
    every chat message. Hooks are chosen now, so later registry changes do not affect them.
    """
    source = registry if registry is not None else HookRegistry.get_instance()
    hooks = source.get_hooks(event)
    if hooks:
        _get_dispatcher().submit(event, hooks)


def wait_for_hooks(timeout: float | None = None) -> bool:
    """Wait until every dispatched hook has finished; False if ``timeout`` expired first."""
    dispatcher = _dispatcher
    return True if dispatcher is None else dispatcher.wait(timeout)
