"""The process-wide list of hooks, in registration order."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

from opencode.hooks.config import load_hooks
from opencode.hooks.events import HookEvent
from opencode.hooks.hook import Hook


class HookRegistry:
    """Holds hooks and answers "which hooks run for this event?".

    ``HookRegistry()`` starts empty; ``get_instance()`` returns the shared registry, filled
    from the hooks files the first time it is asked for. Safe to use from several threads.
    """

    _instance: ClassVar[HookRegistry | None] = None
    _instance_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._hooks: list[Hook] = []
        self._lock = threading.Lock()

    @classmethod
    def get_instance(cls) -> HookRegistry:
        """The shared registry, loading global and trusted project hooks on first use."""
        instance = cls._instance
        if instance is not None:
            return instance
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls.from_config()
            return cls._instance

    @classmethod
    def reset_instance(cls) -> None:
        """Forget the shared registry, so the next ``get_instance()`` reloads the files."""
        with cls._instance_lock:
            cls._instance = None

    @classmethod
    def from_config(cls, cwd: Path | None = None) -> HookRegistry:
        """A registry holding every configured hook that will run (enabled and trusted)."""
        registry = cls()
        for configured in load_hooks(cwd):
            if configured.will_run:
                registry.register(configured.hook)
        return registry

    def register(self, hook: Hook) -> None:
        """Add ``hook`` after those already registered."""
        with self._lock:
            self._hooks.append(hook)

    def unregister(self, event_pattern: str) -> bool:
        """Remove every hook registered with exactly ``event_pattern``; True if any was."""
        with self._lock:
            kept = [hook for hook in self._hooks if hook.event_pattern != event_pattern]
            removed = len(kept) != len(self._hooks)
            self._hooks = kept
        return removed

    def get_hooks(self, event: HookEvent) -> list[Hook]:
        """The enabled hooks matching ``event``, in registration order."""
        with self._lock:
            hooks = list(self._hooks)
        return [hook for hook in hooks if hook.enabled and hook.matches(event)]

    @property
    def hooks(self) -> list[Hook]:
        """Every registered hook, enabled or not, in registration order."""
        with self._lock:
            return list(self._hooks)

    def clear(self) -> None:
        """Remove every hook."""
        with self._lock:
            self._hooks.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._hooks)
