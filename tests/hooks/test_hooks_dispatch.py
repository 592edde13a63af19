"""dispatch(): returns at once, runs hooks in order in the background, and outlives main."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from opencode.hooks import Hook, HookEvent, HookRegistry, dispatch, wait_for_hooks


def _q(path: Path) -> str:
    return shlex.quote(str(path))


def _hook_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "opencode-hooks"]


def test_dispatch_returns_before_the_hook_finishes(tmp_path: Path) -> None:
    out = tmp_path / "done"
    HookRegistry.get_instance().register(
        Hook(event_pattern="session:message", command=f"sleep 1; echo done > {_q(out)}")
    )
    started = time.monotonic()
    dispatch(HookEvent.session_message("s", role="user"))
    assert time.monotonic() - started < 0.5
    assert not out.exists()
    assert wait_for_hooks(timeout=0.05) is False  # still running
    assert wait_for_hooks(timeout=30) is True
    assert out.read_text() == "done\n"


def test_dispatch_without_matching_hooks_starts_nothing(tmp_path: Path) -> None:
    assert wait_for_hooks(timeout=30)
    for thread in _hook_threads():
        thread.join(timeout=30)
    registry = HookRegistry()
    registry.register(Hook(event_pattern="tool:*", command=f"touch {_q(tmp_path / 'x')}"))
    registry.register(Hook(event_pattern="*", command="touch never", enabled=False))
    dispatch(HookEvent.session_message("s"), registry=registry)
    assert _hook_threads() == []
    assert wait_for_hooks(timeout=0) is True
    assert not (tmp_path / "x").exists()


def test_events_are_delivered_in_dispatch_order(tmp_path: Path) -> None:
    out = tmp_path / "log"
    registry = HookRegistry()
    # the first event's hook is the slowest: order must not depend on speed
    registry.register(
        Hook(
            event_pattern="session:message",
            command=(
                f'[ "$OPENCODE_DATA_N" = 0 ] && sleep 0.3; echo "a$OPENCODE_DATA_N" >> {_q(out)}'
            ),
        )
    )
    registry.register(
        Hook(event_pattern="session:*", command=f'echo "b$OPENCODE_DATA_N" >> {_q(out)}')
    )
    for n in range(5):
        dispatch(HookEvent.session_message("s", n=n), registry=registry)
    assert wait_for_hooks(timeout=30)
    assert out.read_text().split() == [f"{x}{n}" for n in range(5) for x in "ab"]


def test_hooks_are_chosen_at_dispatch_time(tmp_path: Path) -> None:
    out = tmp_path / "log"
    registry = HookRegistry()
    registry.register(Hook(event_pattern="*", command=f"sleep 0.2; echo one >> {_q(out)}"))
    dispatch(HookEvent.session_end("s"), registry=registry)
    registry.clear()
    dispatch(HookEvent.session_end("s"), registry=registry)
    assert wait_for_hooks(timeout=30)
    assert out.read_text() == "one\n"


def test_dispatched_failures_do_not_stop_the_worker(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "log"
    registry = HookRegistry()
    registry.register(Hook(event_pattern="*", command="exit 9", description="broken"))
    registry.register(Hook(event_pattern="*", command=f"echo ok >> {_q(out)}"))
    dispatch(HookEvent.session_end("s"), registry=registry)
    dispatch(HookEvent.session_end("s"), registry=registry)
    assert wait_for_hooks(timeout=30)
    assert out.read_text() == "ok\nok\n"
    assert sum("broken" in r.getMessage() for r in caplog.records) == 2


_SCRIPT = """
import atexit, sys
from opencode.hooks import Hook, HookEvent, HookRegistry, dispatch

registry = HookRegistry.get_instance()
registry.register(Hook(event_pattern="session:end", command={command!r}))
if {mode!r} == "atexit":
    atexit.register(lambda: dispatch(HookEvent.session_end("s1")))
else:
    dispatch(HookEvent.session_end("s1"))
if {mode!r} == "sys.exit":
    sys.exit(0)
"""


@pytest.mark.parametrize("mode", ["end of script", "sys.exit", "atexit"])
def test_a_dispatched_hook_completes_when_the_process_exits_right_away(
    tmp_path: Path, mode: str
) -> None:
    out = tmp_path / "done"
    command = f'sleep 0.5; echo "done $OPENCODE_SESSION_ID" > {_q(out)}'
    script = textwrap.dedent(_SCRIPT.format(command=command, mode=mode))
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=os.getcwd(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == "done s1\n"


# -- no hooks file, no engine ------------------------------------------------------------------

WriteHooks = Callable[..., Path]  # the write_hooks fixture

_SESSION_EVENTS_IN_A_CHILD = """
import os, sys
from opencode.sessions import SessionManager
manager = SessionManager()
manager.create(title="t", working_dir=os.getcwd())
manager.add_message("user", "hello")
manager.close()
loaded = "opencode.hooks.registry" in sys.modules
if loaded:
    from opencode.hooks import wait_for_hooks
    assert wait_for_hooks(30)
print(loaded)
"""


def _events_in_a_child(cwd: Path) -> bool:
    """Run a session's life in a fresh process in ``cwd``; whether it loaded the hook engine."""
    result = subprocess.run(
        [sys.executable, "-c", _SESSION_EVENTS_IN_A_CHILD],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {"True": True, "False": False}[result.stdout.strip()]


def test_session_events_skip_the_engine_until_a_hooks_file_exists(
    work_dir: Path, config_dir: Path, write_hooks: WriteHooks, tmp_path: Path
) -> None:
    assert _events_in_a_child(work_dir) is False

    marker = tmp_path / "started"
    write_hooks(
        config_dir / "hooks.json",
        [{"event": "session:start", "command": f"touch {marker}"}],
    )
    assert _events_in_a_child(work_dir) is True
    assert marker.exists()  # and the hook ran


def test_an_untrusted_project_hooks_file_still_loads_the_engine_to_warn(
    work_dir: Path, write_hooks: WriteHooks
) -> None:
    write_hooks(
        work_dir / ".opencode" / "hooks.json", [{"event": "session:start", "command": "true"}]
    )
    assert _events_in_a_child(work_dir) is True


def test_when_the_hooks_files_cannot_be_looked_for_the_engine_decides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opencode.hooks import files

    def no_home() -> Path:
        raise RuntimeError("could not determine home directory")

    monkeypatch.setattr(files, "global_hooks_file", no_home)
    assert files.any_hooks_file() is True
