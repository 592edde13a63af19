"""The library's loggers, which import ``logging`` only when something is logged.

``logging`` and what it pulls in (traceback, threading, string, weakref) cost every command
about 10 ms of start-up, and most commands log nothing. ``get_logger(__name__)`` stands in
for ``logging.getLogger(__name__)``; ``when_logging_starts`` lets the CLI attach its handler
just before the first record is made.
"""

from __future__ import annotations

import _thread

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from typing import Any

_pending: list[Callable[[], None]] = []
_started = False
_lock = _thread.RLock()  # (``threading`` itself costs start-up); a setup may log


class LazyLogger:
    """A ``logging.Logger`` made on first use: ``warning``, ``info`` and ``exception``."""

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: logging.Logger | None = None

    @property
    def real(self) -> logging.Logger:
        """The ``logging.Logger`` itself (``logging`` is imported now if it was not)."""
        logger = self._logger
        if logger is None:
            import logging

            _start()
            logger = self._logger = logging.getLogger(self.name)
        return logger

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 2)
        self.real.info(msg, *args, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 2)
        self.real.warning(msg, *args, **kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 2)
        self.real.exception(msg, *args, **kwargs)


def get_logger(name: str) -> LazyLogger:
    """The logger for module ``name``, made when it first logs."""
    return LazyLogger(name)


def when_logging_starts(setup: Callable[[], None]) -> None:
    """Run ``setup`` before the first of our loggers is made (now, if one has been)."""
    with _lock:
        if _started:
            setup()
        else:
            _pending.append(setup)


def _start() -> None:
    """Run the pending setups; any other thread's first log call waits until they are done."""
    global _started
    with _lock:
        while _pending:
            _pending.pop(0)()
        _started = True
