"""Every test runs against its own HOME, data and config folders; singletons start fresh."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("default")


def _reset_singletons() -> None:
    manager_mod = sys.modules.get("opencode.sessions.manager")
    if manager_mod is not None:
        manager_mod.SessionManager.reset_instance()
    registry_mod = sys.modules.get("opencode.hooks.registry")
    if registry_mod is not None:
        registry_mod.HookRegistry.reset_instance()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point HOME, XDG and opencode folders at tmp_path so no test touches the real home."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENCODE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    for var in ("OPENCODE_MODEL", "OPENCODE_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    _reset_singletons()
    yield tmp_path
    _reset_singletons()
    _collect_if_files_pile_up()


def _collect_if_files_pile_up() -> None:
    """Free connections tests left open before ``select()``'s 1024-descriptor limit bites.

    ``sqlite3.Connection`` holds itself in a reference cycle (its statement cache), so an
    unclosed one lingers until a full collection, which a large heap (coverage) makes rare.
    The library closes what it opens; tests that build indexes by hand may not.
    """
    fd_dir = "/proc/self/fd"
    if os.path.isdir(fd_dir) and len(os.listdir(fd_dir)) > 256:
        gc.collect()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The data root the isolated environment points at."""
    return Path(os.environ["OPENCODE_DATA_DIR"])


@pytest.fixture
def settle_index() -> Callable[..., None]:
    """``settle(storage=None)``: the sessions folder (default: the data folder's) as it is a
    while after its last change, and the index recording that, as a reader does once the
    change is old enough to trust. The index then needs no reconciling, and listings and
    searches are answered from it alone."""

    def settle(storage: object = None) -> None:
        import time

        from opencode.sessions import SessionIndex, SessionStorage
        from opencode.sessions.indexfresh import RACY_SECONDS

        index = SessionIndex(storage if isinstance(storage, SessionStorage) else SessionStorage())
        index.count()  # makes the index (its folder is a change of the sessions folder)
        past = time.time() - 10 * RACY_SECONDS
        os.utime(index.storage.storage_dir, (past, past))
        index.refresh()
        index.count()
        index.close()

    return settle
