"""Running hooks: one shell process per hook, bounded by its timeout, never raising.

A hook runs as ``$SHELL -c <command>`` in a new session, so on timeout ``os.killpg`` takes
down everything it started (a ``sleep`` grandchild included) and the caller is not held up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Final

from opencode.hooks.events import HookEvent
from opencode.hooks.hook import Hook
from opencode.hooks.registry import HookRegistry
from opencode.logs import get_logger

logger = get_logger(__name__)

FALLBACK_SHELL: Final = "/bin/sh"
# After a kill, how long to wait for the pipes to close (a process that escaped the group
# with setsid may hold them open).
_REAP_SECONDS: Final = 10.0
_STDERR_TAIL_CHARS: Final = 200


@dataclass(frozen=True)
class HookResult:
    """What happened when one hook ran."""

    hook: Hook
    exit_code: int | None
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False
    error: str | None = None

    @property
    def success(self) -> bool:
        """The command started, finished in time and exited 0."""
        return self.error is None and not self.timed_out and self.exit_code == 0


def user_shell() -> str:
    """``$SHELL`` if it names an executable, else ``/bin/sh``."""
    shell = os.environ.get("SHELL", "")
    if shell and os.path.isabs(shell) and os.access(shell, os.X_OK):
        return shell
    return FALLBACK_SHELL


def _hook_env(hook: Hook, event: HookEvent) -> dict[str, str]:
    env = dict(os.environ)
    env.update(event.to_env())
    if hook.env:
        env.update(hook.env)
    return env


def _hook_cwd(hook: Hook, event: HookEvent) -> str | None:
    if hook.working_dir:
        if os.path.isdir(hook.working_dir):
            return hook.working_dir
        logger.warning(
            "Hook %r: working_dir %s does not exist; running in the current folder",
            hook.label,
            hook.working_dir,
        )
        return None
    if event.working_dir and os.path.isdir(event.working_dir):
        return event.working_dir
    return None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # The child leads its own session, so its pid is the process group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _reap(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Collect what a killed hook wrote, without waiting on pipes held by escapees."""
    try:
        return proc.communicate(timeout=_REAP_SECONDS)
    except subprocess.TimeoutExpired:
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        proc.kill()
        proc.wait()
        return b"", b""


def _decode(data: bytes | None) -> str:
    return data.decode("utf-8", errors="replace") if data else ""


def _log_failure(result: HookResult, event: HookEvent) -> None:
    label = result.hook.label
    if result.error is not None:
        logger.warning("Hook %r for %s could not run: %s", label, event.type.value, result.error)
    elif result.timed_out:
        logger.warning(
            "Hook %r for %s timed out after %gs and was killed",
            label,
            event.type.value,
            result.hook.timeout,
        )
    else:
        tail = result.stderr.strip()[-_STDERR_TAIL_CHARS:]
        logger.warning(
            "Hook %r for %s exited with status %s%s",
            label,
            event.type.value,
            result.exit_code,
            f": {tail}" if tail else "",
        )


def _execute(hook: Hook, event: HookEvent) -> HookResult:
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            [user_shell(), "-c", hook.command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=_hook_cwd(hook, event),
            env=_hook_env(hook, event),
            start_new_session=True,
        )
    except (OSError, ValueError) as exc:
        return HookResult(hook, None, "", "", time.monotonic() - started, error=str(exc))
    timed_out = False
    try:
        stdout, stderr = proc.communicate(event.to_json().encode(), timeout=hook.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        stdout, stderr = _reap(proc)
    except BaseException:  # e.g. KeyboardInterrupt: do not leave the hook running
        _kill_group(proc)
        _reap(proc)
        raise
    return HookResult(
        hook,
        proc.returncode,
        _decode(stdout),
        _decode(stderr),
        time.monotonic() - started,
        timed_out=timed_out,
    )


def run_hook(hook: Hook, event: HookEvent) -> HookResult:
    """Run one hook for ``event``; failures are logged and returned, never raised."""
    try:
        result = _execute(hook, event)
    except Exception as exc:  # a bug here must not break the session that fired the event
        logger.exception("Hook %r for %s failed unexpectedly", hook.label, event.type.value)
        return HookResult(hook, None, "", "", 0.0, error=repr(exc))
    if not result.success:
        _log_failure(result, event)
    return result


def run_hooks(hooks: list[Hook], event: HookEvent) -> list[HookResult]:
    """Run ``hooks`` one after another; every hook runs whatever the others do."""
    return [run_hook(hook, event) for hook in hooks]


def _registry(registry: HookRegistry | None) -> HookRegistry:
    # Not ``registry or ...``: an empty registry is falsy.
    return registry if registry is not None else HookRegistry.get_instance()


def fire_event_sync(event: HookEvent, *, registry: HookRegistry | None = None) -> list[HookResult]:
    """Run every enabled hook matching ``event``, in registration order, and wait for them."""
    hooks = _registry(registry).get_hooks(event)
    return run_hooks(hooks, event)


async def fire_event(event: HookEvent, *, registry: HookRegistry | None = None) -> list[HookResult]:
    """``fire_event_sync`` without blocking the event loop (hooks run in a worker thread).

    Cancelling the awaiting task does not stop hooks already running; each is still bounded
    by its own timeout.
    """
    hooks = _registry(registry).get_hooks(event)
    if not hooks:
        return []
    import asyncio

    return await asyncio.to_thread(run_hooks, hooks, event)
