"""Configured shell hooks run from the real ``opencode`` executable, with no glue code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

OPENCODE = Path(sys.executable).with_name("opencode")


def opencode(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(OPENCODE), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def write_hooks(path: Path, log: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    command = f'echo "$OPENCODE_EVENT $OPENCODE_SESSION_ID" >> {log}'
    path.write_text(json.dumps({"hooks": [{"event": "session:start", "command": command}]}))


def logged(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_global_session_start_hook_runs_for_session_new_and_resume(tmp_path: Path) -> None:
    log = tmp_path / "hooks.log"
    write_hooks(Path(os.environ["OPENCODE_CONFIG_DIR"]) / "hooks.json", log)

    created = opencode("session", "new", "--title", "hooked", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    session_id = created.stdout.strip()
    assert logged(log) == [f"session:start {session_id}"]

    resumed = opencode("--resume", session_id[:8], cwd=tmp_path, stdin="/quit\n")
    assert resumed.returncode == 0, resumed.stderr
    assert logged(log) == [f"session:start {session_id}"] * 2


def test_project_hooks_run_only_once_trusted_and_again_after_a_change(tmp_path: Path) -> None:
    project = Path(os.environ["HOME"]) / "project"
    hooks_file = project / ".opencode" / "hooks.json"
    log = tmp_path / "project-hooks.log"
    write_hooks(hooks_file, log)

    untrusted = opencode("session", "new", cwd=project)
    assert untrusted.returncode == 0, untrusted.stderr
    assert logged(log) == []
    notices = [line for line in untrusted.stderr.splitlines() if "not trusted" in line]
    assert len(notices) == 1 and str(hooks_file) in notices[0]

    listed = json.loads(opencode("hooks", "list", "--json", cwd=project).stdout)
    assert [(h["source"], h["will_run"]) for h in listed] == [("project", False)]

    trusted = opencode("hooks", "trust", cwd=project)
    assert trusted.returncode == 0, trusted.stderr
    session_id = opencode("session", "new", cwd=project).stdout.strip()
    assert logged(log) == [f"session:start {session_id}"]

    # A changed file is code nobody reviewed: it needs trusting again.
    write_hooks(hooks_file, tmp_path / "other.log")
    changed = opencode("session", "new", cwd=project)
    assert any("not trusted" in line for line in changed.stderr.splitlines())
    assert logged(tmp_path / "other.log") == []
