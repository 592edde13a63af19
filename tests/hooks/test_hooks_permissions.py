"""Everything the hooks package creates is private: files 0600, folders 0700, whatever the umask.

The trust store says which code may run on this machine; nobody else should read or plant it.
Each run goes through the installed command with its own umask (``subprocess.run(umask=)``),
so this process's umask is never changed.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

WriteHooks = Callable[..., Path]
RunOpencode = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def config_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config folder two levels below a folder that does not exist yet."""
    root = tmp_path / "cfg"
    monkeypatch.setenv("OPENCODE_CONFIG_DIR", str(root / "nested" / "opencode"))
    return root


@pytest.fixture
def project_hooks(project: Path, write_hooks: WriteHooks) -> Path:
    return write_hooks(project / ".opencode" / "hooks.json", [{"event": "*", "command": "x"}])


def _not_private(root: Path) -> dict[str, str]:
    wrong: dict[str, str] = {}
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        expected = 0o700 if stat.S_ISDIR(mode) else 0o600
        if stat.S_IMODE(mode) != expected:
            wrong[str(path.relative_to(root.parent))] = oct(stat.S_IMODE(mode))
    return wrong


@pytest.mark.parametrize("umask", [0o000, 0o022], ids=["umask-000", "umask-022"])
def test_trust_creates_only_private_files_and_folders(
    umask: int,
    config_root: Path,
    project: Path,
    project_hooks: Path,
    run_opencode: RunOpencode,
) -> None:
    for _ in range(2):  # the first run creates everything, the second rewrites the store
        r = run_opencode("hooks", "trust", cwd=project, umask=umask)
        assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in config_root.rglob("*") if p.is_file())
    assert files == ["trusted-projects.json", "trusted-projects.json.lock"]
    assert _not_private(config_root) == {}


@pytest.mark.parametrize("umask", [0o000, 0o022], ids=["umask-000", "umask-022"])
def test_listing_and_running_hooks_create_nothing(
    umask: int,
    config_root: Path,
    project: Path,
    project_hooks: Path,
    run_opencode: RunOpencode,
) -> None:
    r = run_opencode("hooks", "list", cwd=project, umask=umask)
    assert r.returncode == 0, r.stderr
    assert not config_root.exists()


def test_a_lock_file_left_world_readable_is_made_private(
    config_root: Path, project: Path, project_hooks: Path, run_opencode: RunOpencode
) -> None:
    folder = config_root / "nested" / "opencode"
    folder.mkdir(parents=True)
    lock = folder / "trusted-projects.json.lock"
    lock.touch()
    os.chmod(lock, 0o644)  # as versions before this fix left it
    r = run_opencode("hooks", "trust", cwd=project, umask=0o022)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "trusted-projects.json").stat().st_mode) == 0o600


def test_a_damaged_store_moved_aside_is_private_too(
    config_root: Path, project: Path, project_hooks: Path, run_opencode: RunOpencode
) -> None:
    folder = config_root / "nested" / "opencode"
    folder.mkdir(parents=True, mode=0o700)
    for path in (config_root, config_root / "nested"):
        os.chmod(path, 0o700)
    store = folder / "trusted-projects.json"
    store.write_text("{oops")
    os.chmod(store, 0o644)
    r = run_opencode("hooks", "trust", cwd=project, umask=0o000)
    assert r.returncode == 0, r.stderr
    assert len(list(folder.glob("trusted-projects.json.corrupt-*"))) == 1
    assert _not_private(config_root) == {}
