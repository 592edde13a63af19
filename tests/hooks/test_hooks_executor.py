"""Running hooks for real: environment, stdin, folders, failures and timeouts."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from opencode.hooks import (
    Hook,
    HookEvent,
    HookRegistry,
    fire_event,
    fire_event_sync,
    run_hook,
)


def _q(path: Path) -> str:
    return shlex.quote(str(path))


def _registry(*hooks: Hook) -> HookRegistry:
    registry = HookRegistry()
    for hook in hooks:
        registry.register(hook)
    return registry


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_spec_section_9_example(tmp_path: Path) -> None:
    log = tmp_path / "sessions.log"
    registry = HookRegistry.get_instance()
    registry.register(
        Hook(
            event_pattern="session:start",
            command=f'echo "Session $OPENCODE_SESSION_ID started" >> {_q(log)}',
        )
    )

    async def on_session_start(session: SimpleNamespace) -> None:
        event = HookEvent.session_start(session.id)
        await fire_event(event)

    def hook(s: SimpleNamespace) -> None:
        asyncio.run(on_session_start(s))

    hook(SimpleNamespace(id="550e8400-e29b-41d4-a716-446655440000"))
    hook(SimpleNamespace(id="second"))
    assert log.read_text() == (
        "Session 550e8400-e29b-41d4-a716-446655440000 started\nSession second started\n"
    )


def test_fire_event_returns_results_in_registration_order(tmp_path: Path) -> None:
    out = tmp_path / "order"
    registry = _registry(
        Hook(event_pattern="session:*", command=f"echo one >> {_q(out)}; echo first"),
        Hook(event_pattern="tool:*", command=f"echo never >> {_q(out)}"),
        Hook(event_pattern="*", command=f"echo two >> {_q(out)}; echo second >&2"),
    )
    results = asyncio.run(fire_event(HookEvent.session_end("s"), registry=registry))
    assert out.read_text() == "one\ntwo\n"
    assert [(r.exit_code, r.stdout, r.stderr, r.success) for r in results] == [
        (0, "first\n", "", True),
        (0, "", "second\n", True),
    ]
    assert all(r.duration >= 0 and not r.timed_out and r.error is None for r in results)


def test_no_matching_hooks() -> None:
    registry = _registry(Hook(event_pattern="tool:*", command="true"))
    assert asyncio.run(fire_event(HookEvent.session_start("s"), registry=registry)) == []
    assert fire_event_sync(HookEvent.session_start("s"), registry=registry) == []


def test_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INHERITED_VAR", "from-parent")
    out = tmp_path / "env.json"
    hook = Hook(
        event_pattern="tool:pre_execute:bash",
        command=f"env > {_q(out)}",
        env={"HOOK_OWN": "mine", "OPENCODE_DATA_ROLE": "overridden"},
    )
    event = HookEvent.tool_pre_execute("sid-7", "bash", working_dir=str(tmp_path), role="tool")
    (result,) = fire_event_sync(event, registry=_registry(hook))
    assert result.success
    env = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    assert env["OPENCODE_EVENT"] == "tool:pre_execute"
    assert env["OPENCODE_SESSION_ID"] == "sid-7"
    assert env["OPENCODE_WORKING_DIR"] == str(tmp_path)
    assert env["OPENCODE_TOOL_NAME"] == "bash"
    assert env["INHERITED_VAR"] == "from-parent"
    assert env["HOOK_OWN"] == "mine"
    assert env["OPENCODE_DATA_ROLE"] == "overridden"  # the hook's env wins


def test_event_json_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "stdin.json"
    event = HookEvent.session_message("s1", working_dir=str(tmp_path), role="user", n=3)
    (result,) = fire_event_sync(
        event, registry=_registry(Hook(event_pattern="*", command=f"cat > {_q(out)}"))
    )
    assert result.success
    assert json.loads(out.read_text()) == event.to_dict()


def test_hook_that_ignores_a_large_stdin_is_fine(tmp_path: Path) -> None:
    event = HookEvent.session_message("s1", content="x" * 1_000_000)
    (result,) = fire_event_sync(
        event, registry=_registry(Hook(event_pattern="*", command="echo ok"))
    )
    assert result.success and result.stdout == "ok\n"


def test_working_directory(tmp_path: Path, work_dir: Path) -> None:
    event_dir = tmp_path / "event-dir"
    hook_dir = tmp_path / "hook-dir"
    event_dir.mkdir()
    hook_dir.mkdir()
    pwd = Hook(event_pattern="*", command="pwd")
    pinned = Hook(event_pattern="*", command="pwd", working_dir=str(hook_dir))
    event = HookEvent.session_save("s", working_dir=str(event_dir))
    assert run_hook(pwd, event).stdout.strip() == str(event_dir)
    assert run_hook(pinned, event).stdout.strip() == str(hook_dir)
    gone = HookEvent.session_save("s", working_dir=str(tmp_path / "missing"))
    assert run_hook(pwd, gone).stdout.strip() == str(work_dir)


def test_missing_hook_working_dir_is_logged_and_the_hook_still_runs(
    tmp_path: Path, work_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hook = Hook(event_pattern="*", command="pwd", working_dir=str(tmp_path / "nope"))
    result = run_hook(hook, HookEvent.session_save("s", working_dir=str(tmp_path)))
    assert result.success and result.stdout.strip() == str(work_dir)
    assert any(str(tmp_path / "nope") in w for w in _warnings(caplog))


def test_failures_are_logged_not_raised_and_the_other_hooks_still_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "after"
    registry = _registry(
        Hook(event_pattern="*", command="echo bad >&2; exit 3", description="strict linter"),
        Hook(event_pattern="*", command="definitely-not-a-command-xyz --flag"),
        Hook(event_pattern="*", command="true " + "x" * 200_000, description="too long"),
        Hook(event_pattern="*", command=f"echo ran > {_q(out)}"),
    )
    failing, missing, unstartable, ok = fire_event_sync(
        HookEvent.session_end("s"), registry=registry
    )
    assert out.read_text() == "ran\n"
    assert (failing.exit_code, failing.success, failing.stderr) == (3, False, "bad\n")
    assert missing.exit_code == 127 and not missing.success
    assert unstartable.exit_code is None and unstartable.error and not unstartable.success
    assert ok.success
    warnings = _warnings(caplog)
    assert len(warnings) == 3
    assert "strict linter" in warnings[0] and "status 3" in warnings[0] and "bad" in warnings[0]
    assert "definitely-not-a-command-xyz" in warnings[1] and "127" in warnings[1]
    assert "too long" in warnings[2] and "could not run" in warnings[2]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_timeout_kills_the_whole_process_group_promptly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    after = tmp_path / "after"
    # The kill must come after the shell has printed and started its grandchild. A loaded
    # machine may start the shell late, so when it had not got that far (no pid yet), try
    # again with a longer timeout instead of failing.
    for timeout in (0.5, 1, 2, 4, 8, 16):
        pid_file.unlink(missing_ok=True)
        caplog.clear()
        registry = _registry(
            Hook(
                event_pattern="*",
                command=f"echo started; sleep 120 & echo $! > {_q(pid_file)}; sleep 120",
                timeout=timeout,
                description="slow hook",
            ),
            Hook(event_pattern="*", command=f"echo ran > {_q(after)}"),
        )
        slow, ok = fire_event_sync(HookEvent.session_end("s"), registry=registry)
        if pid_file.exists() and pid_file.read_text().strip():
            break
    else:
        pytest.fail("the hook never got as far as starting its grandchild")
    assert slow.duration < 60  # not 120: nothing waited for the sleeps
    assert slow.timed_out and not slow.success
    assert slow.stdout == "started\n"  # output written before the kill is kept
    assert ok.success and after.read_text() == "ran\n"
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 60
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling a condition under a deadline
    assert not _alive(grandchild)
    (warning,) = _warnings(caplog)
    assert "slow hook" in warning and "timed out" in warning


def test_user_shell_is_used_with_sh_as_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_shell = tmp_path / "fakesh"
    fake_shell.write_text('#!/bin/sh\necho "via fakesh: $*"\nexec /bin/sh "$@"\n')
    fake_shell.chmod(0o755)
    hook = Hook(event_pattern="*", command="echo hi")
    event = HookEvent.session_start("s")
    monkeypatch.setenv("SHELL", str(fake_shell))
    assert run_hook(hook, event).stdout == "via fakesh: -c echo hi\nhi\n"
    monkeypatch.setenv("SHELL", str(tmp_path / "no-such-shell"))
    assert run_hook(hook, event).stdout == "hi\n"
    monkeypatch.delenv("SHELL")
    assert run_hook(hook, event).stdout == "hi\n"


def test_disabled_hooks_do_not_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    registry = _registry(Hook(event_pattern="*", command=f"touch {_q(out)}", enabled=False))
    assert fire_event_sync(HookEvent.session_start("s"), registry=registry) == []
    assert not out.exists()


def test_os_environ_is_not_modified(tmp_path: Path) -> None:
    before = dict(os.environ)
    run_hook(Hook(event_pattern="*", command="true", env={"X": "1"}), HookEvent.session_end("s"))
    assert dict(os.environ) == before
