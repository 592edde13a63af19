"""Lifecycle hooks: shell commands run when sessions, messages and tools do things.

Hooks come from ``<config dir>/hooks.json`` (the user's own) and a project's
``.opencode/hooks.json`` (run only once the user trusts that project). Use ``fire_event`` /
``fire_event_sync`` to run them and wait, or ``dispatch`` to run them in the background.
"""

from __future__ import annotations

from opencode.hooks.config import ConfiguredHook, global_hooks_file, load_hooks
from opencode.hooks.dispatcher import dispatch, wait_for_hooks
from opencode.hooks.errors import (
    CorruptTrustStoreError,
    HookError,
    InvalidHookError,
    NoProjectHooksError,
    TrustStoreError,
)
from opencode.hooks.events import EventType, HookEvent
from opencode.hooks.executor import HookResult, fire_event, fire_event_sync, run_hook
from opencode.hooks.hook import Hook
from opencode.hooks.registry import HookRegistry
from opencode.hooks.trust import (
    TrustedProject,
    find_project_hooks_file,
    is_trusted,
    trust_file,
    trust_project,
)

__all__ = [
    "ConfiguredHook",
    "CorruptTrustStoreError",
    "EventType",
    "Hook",
    "HookError",
    "HookEvent",
    "HookRegistry",
    "HookResult",
    "InvalidHookError",
    "NoProjectHooksError",
    "TrustStoreError",
    "TrustedProject",
    "dispatch",
    "find_project_hooks_file",
    "fire_event",
    "fire_event_sync",
    "global_hooks_file",
    "is_trusted",
    "load_hooks",
    "run_hook",
    "trust_file",
    "trust_project",
    "wait_for_hooks",
]
