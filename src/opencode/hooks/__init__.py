"""Lifecycle hooks: shell commands run when sessions, messages and tools do things.

Hooks come from ``<config dir>/hooks.json`` (the user's own) and a project's
``.opencode/hooks.json`` (run only once the user trusts that project). Use ``fire_event`` /
``fire_event_sync`` to run them and wait, or ``dispatch`` to run them in the background.
"""

from __future__ import annotations

from opencode.lazy import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from opencode.hooks.config import ConfiguredHook, load_hooks
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
    from opencode.hooks.files import find_project_hooks_file, global_hooks_file
    from opencode.hooks.hook import Hook
    from opencode.hooks.registry import HookRegistry
    from opencode.hooks.trust import TrustedProject, is_trusted, trust_file, trust_project

# Names load on first use: a session event with no hooks file around never loads the engine.
_WHERE = {
    "ConfiguredHook": "config",
    "CorruptTrustStoreError": "errors",
    "EventType": "events",
    "Hook": "hook",
    "HookError": "errors",
    "HookEvent": "events",
    "HookRegistry": "registry",
    "HookResult": "executor",
    "InvalidHookError": "errors",
    "NoProjectHooksError": "errors",
    "TrustStoreError": "errors",
    "TrustedProject": "trust",
    "dispatch": "dispatcher",
    "find_project_hooks_file": "files",
    "fire_event": "executor",
    "fire_event_sync": "executor",
    "global_hooks_file": "files",
    "is_trusted": "trust",
    "load_hooks": "config",
    "run_hook": "executor",
    "trust_file": "trust",
    "trust_project": "trust",
    "wait_for_hooks": "dispatcher",
}

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


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
