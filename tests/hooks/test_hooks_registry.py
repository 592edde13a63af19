"""The registry: order, enabled filtering, removal, and the config-loading singleton."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from opencode.hooks import EventType, Hook, HookEvent, HookRegistry

WriteHooks = Callable[..., Path]


def _hook(pattern: str, command: str = "true", **kwargs: object) -> Hook:
    return Hook(event_pattern=pattern, command=command, **kwargs)  # type: ignore[arg-type]


def test_get_hooks_returns_matching_enabled_hooks_in_registration_order() -> None:
    registry = HookRegistry()
    first = _hook("session:*", "first")
    skipped = _hook("tool:*")
    disabled = _hook("session:start", "disabled", enabled=False)
    last = _hook("*", "last")
    for hook in (first, skipped, disabled, last):
        registry.register(hook)
    assert registry.get_hooks(HookEvent.session_start("s")) == [first, last]
    assert registry.get_hooks(HookEvent.tool_error("s", "bash")) == [skipped, last]
    assert registry.hooks == [first, skipped, disabled, last]
    assert len(registry) == 4


def test_unregister_removes_every_hook_with_that_pattern() -> None:
    registry = HookRegistry()
    registry.register(_hook("session:start", "a"))
    registry.register(_hook("session:end", "b"))
    registry.register(_hook("session:start", "c"))
    assert registry.unregister("session:start") is True
    assert [h.command for h in registry.hooks] == ["b"]
    assert registry.unregister("session:start") is False
    assert registry.unregister("session:*") is False  # exact pattern, not matching
    assert [h.command for h in registry.hooks] == ["b"]


def test_clear() -> None:
    registry = HookRegistry()
    registry.register(_hook("*"))
    registry.clear()
    assert registry.hooks == []
    assert registry.get_hooks(HookEvent(type=EventType.SESSION_END)) == []


def test_get_instance_is_a_singleton_until_reset() -> None:
    first = HookRegistry.get_instance()
    assert HookRegistry.get_instance() is first
    HookRegistry.reset_instance()
    assert HookRegistry.get_instance() is not first


def test_get_instance_loads_global_hooks_but_a_new_registry_starts_empty(
    config_dir: Path, write_hooks: WriteHooks
) -> None:
    write_hooks(
        config_dir / "hooks.json",
        [
            {"event": "session:start", "command": "one"},
            {"event": "session:start", "command": "off", "enabled": False},
            {"event": "session:*", "command": "two", "timeout": 3},
        ],
    )
    registry = HookRegistry.get_instance()
    assert [h.command for h in registry.hooks] == ["one", "two"]
    assert registry.hooks[1].timeout == 3.0
    assert HookRegistry().hooks == []
    # files are read once: later edits need reset_instance()
    (config_dir / "hooks.json").write_text('{"hooks": []}')
    assert len(HookRegistry.get_instance()) == 2
    HookRegistry.reset_instance()
    assert len(HookRegistry.get_instance()) == 0
