"""A damaged trust store means "nothing trusted" plus one warning; trusting starts a new one.

The damaged store is moved aside (``trusted-projects.json.corrupt-<time>``), never deleted, so
nothing the user had is lost; a store from a newer opencode is still left alone.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pytest

from opencode.hooks import (
    HookEvent,
    TrustStoreError,
    fire_event_sync,
    is_trusted,
    load_hooks,
    trust_file,
)

WriteHooks = Callable[..., Path]
RunOpencode = Callable[..., subprocess.CompletedProcess[str]]

DEEP = b"[" * 100_000 + b"]" * 100_000

FOLDER: Final = "folder where the file should be"
FIFO: Final = "FIFO where the file should be"

CORRUPT: dict[str, bytes | str] = {
    "empty": b"",
    "invalid-json": b"{oops",
    "binary": bytes(range(256)) * 8,
    "not-an-object": b"[]",
    "projects-not-an-object": b'{"version": 1, "projects": []}',
    "version-a-string": b'{"version": "1", "projects": {}}',
    "version-a-bool": b'{"version": true, "projects": {}}',
    "version-missing": b'{"projects": {}}',
    "deeply-nested": DEEP,
    "deep-inside": b'{"version": 1, "projects": {"x": ' + DEEP + b"}}",
    "a-folder": FOLDER,
    "a-fifo": FIFO,
}


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "ran.txt"


@pytest.fixture
def hooks_file(config_dir: Path, project: Path, write_hooks: WriteHooks, marker: Path) -> Path:
    write_hooks(
        config_dir / "hooks.json",
        [{"event": "session:start", "command": f"echo global >> '{marker}'"}],
    )
    path = write_hooks(
        project / ".opencode" / "hooks.json",
        [{"event": "session:start", "command": f"echo project >> '{marker}'"}],
    )
    return path.resolve()


@pytest.fixture(params=sorted(CORRUPT))
def corrupt_store(request: pytest.FixtureRequest, hooks_file: Path) -> Path:
    path = trust_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    content = CORRUPT[request.param]
    if content == FOLDER:
        path.mkdir()
        (path / "inside.txt").write_text("kept")
    elif content == FIFO:
        os.mkfifo(path)  # reading must not wait for a writer
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    return path


def _moved_aside(store: Path) -> list[Path]:
    return sorted(store.parent.glob(f"{store.name}.corrupt-*"))


def _lines_naming(path: Path, stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if str(path) in line]


def test_is_trusted_raises_one_line_trust_store_error(
    corrupt_store: Path, hooks_file: Path
) -> None:
    with pytest.raises(TrustStoreError) as info:
        is_trusted(hooks_file)
    assert str(corrupt_store) in str(info.value)
    assert "\n" not in str(info.value)
    assert len(str(info.value)) < 300


def test_loading_treats_the_project_as_untrusted(
    corrupt_store: Path,
    project: Path,
    marker: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(project)
    caplog.set_level(logging.WARNING)
    assert [(c.source, c.will_run) for c in load_hooks()] == [
        ("global", True),
        ("project", False),
    ]
    assert len([r for r in caplog.records if str(corrupt_store) in r.getMessage()]) == 1
    (result,) = fire_event_sync(HookEvent.session_start("s"))
    assert result.success
    assert marker.read_text() == "global\n"


def test_hooks_list_warns_once_and_trusts_nothing(
    corrupt_store: Path, project: Path, run_opencode: RunOpencode
) -> None:
    r = run_opencode("hooks", "list", "--json", cwd=project)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(row["source"], row["will_run"]) for row in rows] == [
        ("global", True),
        ("project", False),
    ]
    (warning,) = _lines_naming(corrupt_store, r.stderr)
    assert warning.startswith("warning: ")


def test_hooks_trust_moves_the_damaged_store_aside_and_writes_a_new_one(
    corrupt_store: Path, hooks_file: Path, project: Path, run_opencode: RunOpencode
) -> None:
    before = corrupt_store.read_bytes() if corrupt_store.is_file() else None
    was_folder = corrupt_store.is_dir()
    r = run_opencode("hooks", "trust", cwd=project)
    assert r.returncode == 0, r.stderr
    assert str(hooks_file) in r.stdout
    (aside,) = _moved_aside(corrupt_store)
    (warning,) = r.stderr.splitlines()
    assert warning.startswith("warning: ")
    assert str(corrupt_store) in warning
    assert str(aside) in warning
    if was_folder:
        assert (aside / "inside.txt").read_text() == "kept"
    elif before is not None:
        assert aside.read_bytes() == before
    store = json.loads(corrupt_store.read_text())
    assert store["version"] == 1
    assert list(store["projects"]) == [str(project.resolve())]
    assert is_trusted(hooks_file)

    again = run_opencode("hooks", "list", "--json", cwd=project)
    assert again.returncode == 0, again.stderr
    assert [row["will_run"] for row in json.loads(again.stdout)] == [True, True]
    assert again.stderr == ""


def test_hooks_trust_leaves_a_newer_store_alone(
    hooks_file: Path, project: Path, run_opencode: RunOpencode
) -> None:
    path = trust_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    newer = json.dumps({"version": 2, "projects": {}})
    path.write_text(newer)
    r = run_opencode("hooks", "trust", cwd=project)
    assert r.returncode == 1
    (line,) = r.stderr.splitlines()
    assert line.startswith("error: ")
    assert "newer" in line
    assert path.read_text() == newer
    assert _moved_aside(path) == []
