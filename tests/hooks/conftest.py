"""Hooks tests start in a folder under the test HOME, so project discovery never sees /work."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from opencode.hooks import wait_for_hooks

WriteHooks = Callable[[Path, list[Any]], Path]  # the write_hooks fixture


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
