"""Hooks tests start in a folder under the test HOME, so project discovery never sees /work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from opencode.hooks import wait_for_hooks

WriteHooks = Callable[[Path, list[Any]], Path]  # the write_hooks fixture
RunOpencode = Callable[..., "subprocess.CompletedProcess[str]"]  # the run_opencode fixture

# The installed entry point next to this interpreter (the venv's ``opencode``).
OPENCODE: Final = str(Path(sys.executable).with_name("opencode"))


@pytest.fixture(autouse=True)
def work_dir(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder under HOME to run from; dispatched hooks are drained after each test."""
    folder = Path(os.environ["HOME"]) / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    yield folder
    assert wait_for_hooks(timeout=30)


@pytest.fixture
def config_dir() -> Path:
    return Path(os.environ["OPENCODE_CONFIG_DIR"])


@pytest.fixture
def write_hooks() -> WriteHooks:
    """Write ``{"hooks": entries}`` to ``path`` (creating folders) and return the path."""

    def write(path: Path, entries: list[Any]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"hooks": entries}))
        return path

    return write


@pytest.fixture
def project(work_dir: Path) -> Path:
    """A project folder under HOME; its hooks file is ``project / ".opencode/hooks.json"``."""
    folder = work_dir / "proj"
    folder.mkdir()
    return folder


@pytest.fixture
def run_opencode() -> RunOpencode:
    """Run the installed ``opencode`` with the test's environment; never a traceback.

    Keyword arguments go to ``subprocess.run`` (``cwd``, ``umask``, ``env``...).
    """

    def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        kwargs.setdefault("env", dict(os.environ))
        result = subprocess.run(
            [OPENCODE, *args], capture_output=True, text=True, timeout=120, check=False, **kwargs
        )
        assert "Traceback" not in result.stderr, result.stderr
        return result

    return run
