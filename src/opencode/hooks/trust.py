"""Which projects' hooks the user has agreed to run.

A project's ``.opencode/hooks.json`` is code from whoever wrote the repository, so it runs
only after the user trusts it. Trust pins the file's sha256: any edit needs trusting again.
The store lives in ``<config dir>/trusted-projects.json`` (mode 0600, written atomically).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

from opencode.hooks.errors import NoProjectHooksError, TrustStoreError
from opencode.paths import config_dir

TRUST_FILE_NAME: Final = "trusted-projects.json"
TRUST_FORMAT_VERSION: Final = 1
PROJECT_HOOKS_DIR: Final = ".opencode"
HOOKS_FILE_NAME: Final = "hooks.json"


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


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, OSError):  # no HOME and no passwd entry
        return None


def find_project_hooks_file(start: Path) -> Path | None:
    """The nearest ``.opencode/hooks.json`` at or above ``start``.

    The search stops before ``$HOME``'s parent and never looks in its ancestors (``/home``,
    ``/``), so a stray file there cannot attach hooks to every project on the machine.
    """
    try:
        current = start.expanduser().resolve()
    except OSError:
        return None
    home = _home()
    stop = home.parent if home is not None else None
    for folder in (current, *current.parents):
        if stop is not None and (folder == stop or stop.is_relative_to(folder)):
            break
        candidate = folder / PROJECT_HOOKS_DIR / HOOKS_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def _parse_store(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        store = json.loads(raw)
    except ValueError as exc:
        raise TrustStoreError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(store, dict) or not isinstance(store.get("projects", {}), dict):
        raise TrustStoreError(f"{path} is not a trusted-projects file")
    version = store.get("version")
    if not isinstance(version, int):
        raise TrustStoreError(f"{path} has no format version")
    if version > TRUST_FORMAT_VERSION:
        raise TrustStoreError(
            f"{path} was written by a newer opencode (format {version}); upgrade opencode"
        )
    return store


def _read_store() -> dict[str, Any]:
    path = trust_file()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {"version": TRUST_FORMAT_VERSION, "projects": {}}
    except OSError as exc:
        raise TrustStoreError(f"cannot read {path}: {exc}") from exc
    return _parse_store(raw, path)


def _write_atomic(path: Path, content: bytes) -> None:
    """Temp file in the same folder, fsync, ``os.replace``, fsync the folder."""
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def is_trusted_digest(project_dir: Path, digest: str) -> bool:
    """Whether ``project_dir`` is trusted with a hooks file whose sha256 is ``digest``.

    Raises ``TrustStoreError`` if the store cannot be read.
    """
    record = _read_store().get("projects", {}).get(str(project_dir.resolve()))
    return isinstance(record, dict) and record.get("sha256") == digest


def is_trusted(hooks_file: Path) -> bool:
    """Whether ``hooks_file`` (a project's ``.opencode/hooks.json``) is trusted as it is now."""
    try:
        content = hooks_file.read_bytes()
    except OSError:
        return False
    return is_trusted_digest(project_dir_of(hooks_file.resolve()), hash_bytes(content))


def trust_project(project_dir: Path) -> TrustedProject:
    """Trust the hooks file that loading would find from ``project_dir``, as it is now."""
    from filelock import FileLock

    hooks_file = find_project_hooks_file(project_dir)
    if hooks_file is None:
        raise NoProjectHooksError(
            f"no {PROJECT_HOOKS_DIR}/{HOOKS_FILE_NAME} found in {project_dir} or its parents"
        )
    try:
        content = hooks_file.read_bytes()
    except OSError as exc:
        raise NoProjectHooksError(f"cannot read {hooks_file}: {exc}") from exc
    record = TrustedProject(
        project_dir=project_dir_of(hooks_file),
        hooks_file=hooks_file,
        sha256=hash_bytes(content),
        trusted_at=datetime.now(timezone.utc),
    )
    path = trust_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        store = _read_store()
        store["version"] = TRUST_FORMAT_VERSION
        store.setdefault("projects", {})[str(record.project_dir)] = {
            "hooks_file": str(record.hooks_file),
            "sha256": record.sha256,
            "trusted_at": record.trusted_at.isoformat(),
        }
        payload = json.dumps(store, indent=2, sort_keys=True) + "\n"
        _write_atomic(path, payload.encode())
    return record
