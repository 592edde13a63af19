"""Which projects' hooks the user has agreed to run.

A project's ``.opencode/hooks.json`` is code from whoever wrote the repository, so it runs
only after the user trusts it. Trust pins the file's sha256: any edit needs trusting again.
The store lives in ``<config dir>/trusted-projects.json`` (mode 0600, written atomically).
A damaged store trusts nothing; the next ``trust_project`` moves it aside (to
``trusted-projects.json.corrupt-<time>``, so nothing is lost) and starts a new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

from opencode.hooks.errors import CorruptTrustStoreError, NoProjectHooksError, TrustStoreError
from opencode.hooks.fileio import (
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    NotAFileError,
    loads_bounded,
    make_private_dir,
    private_file_lock,
    read_regular_file,
    write_atomic,
)
from opencode.hooks.files import HOOKS_FILE_NAME, PROJECT_HOOKS_DIR, find_project_hooks_file
from opencode.logs import get_logger
from opencode.paths import config_dir

logger = get_logger(__name__)

TRUST_FILE_NAME: Final = "trusted-projects.json"
TRUST_FORMAT_VERSION: Final = 1


@dataclass(frozen=True)
class TrustedProject:
    """A trust record: this project's hooks file, as it was when the user trusted it."""

    project_dir: Path
    hooks_file: Path
    sha256: str
    trusted_at: datetime


def trust_file() -> Path:
    """Where trust records are kept."""
    return config_dir() / TRUST_FILE_NAME


def hash_bytes(content: bytes) -> str:
    """The digest trust pins a hooks file to."""
    return hashlib.sha256(content).hexdigest()


def project_dir_of(hooks_file: Path) -> Path:
    """``<project>/.opencode/hooks.json`` -> ``<project>``."""
    return hooks_file.parent.parent


def _corrupt(path: Path, reason: str) -> CorruptTrustStoreError:
    return CorruptTrustStoreError(f"{path} is damaged ({reason})")


def _parse_store(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        store = loads_bounded(raw)
    except ValueError as exc:
        raise _corrupt(path, f"not valid JSON: {exc}") from None
    if not isinstance(store, dict) or not isinstance(store.get("projects", {}), dict):
        raise _corrupt(path, "not a trusted-projects file")
    version = store.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _corrupt(path, "no valid format version")
    if version > TRUST_FORMAT_VERSION:
        raise TrustStoreError(
            f"{path} was written by a newer opencode (format {version}); upgrade opencode"
        )
    return store


def _empty_store() -> dict[str, Any]:
    return {"version": TRUST_FORMAT_VERSION, "projects": {}}


def _read_store() -> dict[str, Any]:
    """The store's contents; raises ``CorruptTrustStoreError`` or ``TrustStoreError``."""
    path = trust_file()
    try:
        raw = read_regular_file(path)
    except FileNotFoundError:
        return _empty_store()
    except (NotAFileError, IsADirectoryError):
        raise _corrupt(path, "not a regular file") from None
    except OSError as exc:
        raise TrustStoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _parse_store(raw, path)


def _move_aside(path: Path) -> Path:
    """Rename a damaged store out of the way (never delete it) and return its new name."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while os.path.lexists(aside):
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    os.rename(path, aside)
    _make_private(aside)
    return aside


def _make_private(path: Path) -> None:
    """Best effort: a damaged store may still hold trust records nobody else should read."""
    with contextlib.suppress(OSError):
        if not path.is_symlink():
            os.chmod(path, PRIVATE_DIR_MODE if path.is_dir() else PRIVATE_FILE_MODE)


def _read_store_for_update() -> dict[str, Any]:
    """The store to add a record to: a damaged one is moved aside and a new one begun.

    A store from a newer opencode (or one we cannot read) still raises: it may be fine.
    Call with the store's lock held.
    """
    try:
        return _read_store()
    except CorruptTrustStoreError as exc:
        aside = _move_aside(trust_file())
        logger.warning("%s; moved it to %s and started a new one", exc, aside)
        return _empty_store()


def is_trusted_digest(project_dir: Path, digest: str) -> bool:
    """Whether ``project_dir`` is trusted with a hooks file whose sha256 is ``digest``.

    Raises ``TrustStoreError`` if the store cannot be read.
    """
    record = _read_store().get("projects", {}).get(str(project_dir.resolve()))
    return isinstance(record, dict) and record.get("sha256") == digest


def is_trusted(hooks_file: Path) -> bool:
    """Whether ``hooks_file`` (a project's ``.opencode/hooks.json``) is trusted as it is now."""
    try:
        content = read_regular_file(hooks_file)
    except OSError:
        return False
    return is_trusted_digest(project_dir_of(hooks_file.resolve()), hash_bytes(content))


def trust_project(project_dir: Path) -> TrustedProject:
    """Trust the hooks file that loading would find from ``project_dir``, as it is now.

    A damaged store is moved aside (with a logged warning) and replaced by a new one.
    """
    hooks_file = find_project_hooks_file(project_dir)
    if hooks_file is None:
        raise NoProjectHooksError(
            f"no {PROJECT_HOOKS_DIR}/{HOOKS_FILE_NAME} found in {project_dir} or its parents"
        )
    try:
        content = read_regular_file(hooks_file)
    except OSError as exc:
        raise NoProjectHooksError(f"cannot read {hooks_file}: {exc.strerror or exc}") from None
    record = TrustedProject(
        project_dir=project_dir_of(hooks_file),
        hooks_file=hooks_file,
        sha256=hash_bytes(content),
        trusted_at=datetime.now(timezone.utc),
    )
    path = trust_file()
    make_private_dir(path.parent)
    with private_file_lock(path.with_name(path.name + ".lock")):
        store = _read_store_for_update()
        store["version"] = TRUST_FORMAT_VERSION
        store.setdefault("projects", {})[str(record.project_dir)] = {
            "hooks_file": str(record.hooks_file),
            "sha256": record.sha256,
            "trusted_at": record.trusted_at.isoformat(),
        }
        payload = json.dumps(store, indent=2, sort_keys=True) + "\n"
        write_atomic(path, payload.encode())
    return record
