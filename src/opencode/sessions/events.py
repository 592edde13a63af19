"""Session events: in-process callbacks, and the bridge to the user's shell hooks.

``SessionManager`` announces ``session:start``, ``session:message``, ``session:save`` and
``session:end`` here. Callbacks run in order and a failing one is logged; configured shell
hooks (``opencode.hooks``) get the same events. Neither can break the session flow.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from opencode.logs import get_logger

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, Final

    from opencode.sessions.models import Session, SessionMessage

logger = get_logger(__name__)

SESSION_EVENTS: Final = ("session:start", "session:end", "session:message", "session:save")

# What it returns is ignored (``object``: no ``typing`` at start-up for ``Any``).
SessionCallback = Callable[..., object]


class SessionEvents:
    """Who hears about a manager's sessions: registered callbacks and, optionally, hooks."""

    def __init__(self, *, fire_shell_hooks: bool = True) -> None:
        self.fire_shell_hooks = fire_shell_hooks
        self._callbacks: dict[str, list[SessionCallback]] = {event: [] for event in SESSION_EVENTS}

    def register(self, event: str, callback: SessionCallback) -> None:
        """Call ``callback`` on ``event``."""
        self._callbacks[check_event(event)].append(callback)

    def unregister(self, event: str, callback: SessionCallback) -> bool:
        """Stop calling ``callback`` on ``event``; False when it was not registered."""
        callbacks = self._callbacks[check_event(event)]
        if callback in callbacks:
            callbacks.remove(callback)
            return True
        return False

    def emit(self, event: str, session: Session, message: SessionMessage | None = None) -> None:
        """Tell callbacks (with the session, and the message for ``session:message``) and
        the configured shell hooks."""
        args: tuple[Any, ...] = (session,) if message is None else (session, message)
        for callback in list(self._callbacks[event]):
            try:
                callback(*args)
            except Exception as exc:
                logger.warning("%s callback %s failed: %s", event, _callable_name(callback), exc)
        if self.fire_shell_hooks:
            dispatch_shell_hooks(event, session, message)


def dispatch_shell_hooks(event: str, session: Session, message: SessionMessage | None) -> None:
    """Hand the event to ``opencode.hooks`` (which runs hooks in the background).

    Until something in this process has loaded the hook registry, hooks can only come from
    files; with none around, the engine is not loaded at all.
    """
    try:
        if "opencode.hooks.registry" not in sys.modules:
            from opencode.hooks.files import any_hooks_file

            if not any_hooks_file():
                return
        from opencode.hooks import HookEvent, dispatch
    except ImportError:  # pragma: no cover - the hooks package ships with opencode
        return
    data: dict[str, Any] = {}
    if message is not None:
        data = {"role": message.role, "message_id": message.id}
    elif event == "session:end":
        data = {"message_count": session.message_count, "total_tokens": session.total_tokens}
    factory = getattr(HookEvent, event.replace(":", "_"))
    try:
        dispatch(factory(session.id, working_dir=session.working_dir, **data))
    except Exception as exc:  # hooks must never break the session
        logger.warning("could not run hooks for %s: %s", event, exc)


def check_event(event: str) -> str:
    """``event`` if it is a session event, else ``ValueError`` listing the known ones."""
    if event not in SESSION_EVENTS:
        raise ValueError(
            f"unknown session event {event!r}; expected one of {', '.join(SESSION_EVENTS)}"
        )
    return event


def _callable_name(callback: SessionCallback) -> str:
    return getattr(callback, "__qualname__", None) or repr(callback)
