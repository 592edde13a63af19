"""A broken project hooks file is one warning naming it; the user's global hooks still run.

The project file is written by whoever wrote the repository: whatever it holds (JSON nested
far past Python's recursion limit included) it must not cost the user their own hooks.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from opencode.hooks import HookEvent, HookRegistry, dispatch, load_hooks, wait_for_hooks

WriteHooks = Callable[..., Path]
RunOpencode = Callable[..., subprocess.CompletedProcess[str]]


def _deep_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _deep_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


BROKEN: dict[str, bytes] = {
    "arrays-1k": _deep_arrays(1_000),
    "arrays-100k": _deep_arrays(100_000),
    "objects-1k": _deep_objects(1_000),
    "objects-100k": _deep_objects(100_000),
    "deep-inside-an-entry": (
        b'{"hooks": [{"event": "session:start", "command": "echo project", "extra": '
        + _deep_arrays(50_000)
        + b"}]}"
    ),
    "deep-hooks-list": b'{"hooks": ' + _deep_arrays(5_000) + b"}",
    "not-json": b"{oops",
    "binary": bytes(range(256)) * 8,
    "wrong-shape": b'{"hooks": 5}',
}


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "ran.txt"


@pytest.fixture
def global_hooks(config_dir: Path, write_hooks: WriteHooks, marker: Path) -> Path:
    return write_hooks(
        config_dir / "hooks.json",
        [{"event": "session:start", "command": f"echo global >> '{marker}'"}],
    )


@pytest.fixture(params=sorted(BROKEN))
def broken_project_file(request: pytest.FixtureRequest, project: Path) -> Path:
    path = project / ".opencode" / "hooks.json"
    path.parent.mkdir()
    path.write_bytes(BROKEN[request.param])
    return path.resolve()


def _lines_naming(path: Path, stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if str(path) in line]


def test_hooks_list_shows_global_hooks_and_one_warning(
    global_hooks: Path, broken_project_file: Path, project: Path, run_opencode: RunOpencode
) -> None:
    r = run_opencode("hooks", "list", cwd=project)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    assert lines[1].split()[:3] == ["global", "yes", "session:start"]
    (warning,) = _lines_naming(broken_project_file, r.stderr)
    assert warning.startswith("warning: ")
    assert len(r.stderr.splitlines()) == 1


def test_hooks_list_json_shows_global_hooks(
    global_hooks: Path, broken_project_file: Path, project: Path, run_opencode: RunOpencode
) -> None:
    r = run_opencode("hooks", "list", "--json", cwd=project)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(row["source"], row["will_run"]) for row in rows] == [("global", True)]
    assert len(_lines_naming(broken_project_file, r.stderr)) == 1


def test_global_hooks_run_for_a_real_session(
    global_hooks: Path,
    broken_project_file: Path,
    project: Path,
    marker: Path,
    run_opencode: RunOpencode,
) -> None:
    r = run_opencode("session", "new", cwd=project)
    assert r.returncode == 0, r.stderr
    assert marker.read_text() == "global\n"
    (warning,) = _lines_naming(broken_project_file, r.stderr)
    assert warning.startswith("warning: ")


def test_global_hooks_are_dispatched_in_process(
    global_hooks: Path,
    broken_project_file: Path,
    project: Path,
    marker: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(project)
    caplog.set_level(logging.WARNING)
    assert [c.source for c in load_hooks()] == ["global"]
    dispatch(HookEvent.session_start("s"))
    assert wait_for_hooks(timeout=30)
    assert marker.read_text() == "global\n"
    assert len(HookRegistry.get_instance()) == 1
    assert any(str(broken_project_file) in r.getMessage() for r in caplog.records)


def test_just_deep_enough_is_still_loaded(config_dir: Path) -> None:
    # Real files are a few levels deep; unknown extra fields may nest a little more.
    entry = {"event": "session:start", "command": "x", "extra": [[[[[[[[[[{"a": [1]}]]]]]]]]]]}
    config_dir.mkdir()
    (config_dir / "hooks.json").write_text(json.dumps({"hooks": [entry]}))
    assert [c.hook.command for c in load_hooks()] == ["x"]
