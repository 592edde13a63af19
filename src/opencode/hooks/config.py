"""Loading hooks from the global and project ``hooks.json`` files.

Loading never raises: a file that cannot be parsed, or an entry that is not a valid hook, is
skipped with a logged warning that names the file (and the entry's index), so one typo cannot
stop opencode from starting.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from opencode.hooks.errors import InvalidHookError, TrustStoreError
from opencode.hooks.hook import Hook
from opencode.hooks.trust import (
    HOOKS_FILE_NAME,
    find_project_hooks_file,
    hash_bytes,
    is_trusted_digest,
    project_dir_of,
)
from opencode.paths import config_dir

logger = logging.getLogger(__name__)

HookSource = Literal["global", "project"]
GLOBAL: Final = "global"
PROJECT: Final = "project"

# Project hook files we have already warned about; the notice is once per process.
_notified_untrusted: set[Path] = set()
_notified_lock = threading.Lock()


@dataclass(frozen=True)
class ConfiguredHook:
    """A hook together with where it came from and whether opencode will run it."""

    hook: Hook
    source: HookSource
    file: Path
    index: int
    trusted: bool

    @property
    def will_run(self) -> bool:
        """Global hooks run when enabled; project hooks also need the project trusted."""
        return self.trusted and self.hook.enabled


def global_hooks_file() -> Path:
    """The user's own hooks, trusted by definition."""
    return config_dir() / HOOKS_FILE_NAME


def _parse_entries(raw: bytes, path: Path) -> list[Any] | None:
    try:
        document = json.loads(raw)
    except ValueError as exc:
        logger.warning("Skipping hooks file %s: not valid JSON (%s)", path, exc)
        return None
    if not isinstance(document, dict) or not isinstance(document.get("hooks"), list):
        logger.warning('Skipping hooks file %s: expected {"hooks": [...]}', path)
        return None
    entries: list[Any] = document["hooks"]
    return entries


def _build_hooks(
    raw: bytes, path: Path, source: HookSource, base_dir: Path, trusted: bool
) -> list[ConfiguredHook]:
    entries = _parse_entries(raw, path)
    if entries is None:
        return []
    loaded: list[ConfiguredHook] = []
    for index, entry in enumerate(entries):
        try:
            hook = Hook.from_dict(entry)
        except InvalidHookError as exc:
            logger.warning("Skipping hook entry %d in %s: %s", index, path, exc)
            continue
        if hook.working_dir is not None and not os.path.isabs(hook.working_dir):
            # Relative folders are relative to the project (or config folder), not to
            # wherever opencode happens to be started.
            hook.working_dir = str(base_dir / hook.working_dir)
        loaded.append(ConfiguredHook(hook, source, path, index, trusted))
    return loaded


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.warning("Skipping hooks file %s: %s", path, exc)
        return None


def _notify_untrusted(path: Path) -> None:
    with _notified_lock:
        if path in _notified_untrusted:
            return
        _notified_untrusted.add(path)
    logger.warning(
        "Project hooks found at %s were not run because this project is not trusted. "
        "Review the file, then run `opencode hooks trust` to allow them.",
        path,
    )


def _project_trusted(path: Path, raw: bytes) -> bool:
    try:
        return is_trusted_digest(project_dir_of(path), hash_bytes(raw))
    except TrustStoreError as exc:
        logger.warning("Treating project hooks at %s as untrusted: %s", path, exc)
        return False


def load_hooks(cwd: Path | None = None, *, notify_untrusted: bool = True) -> list[ConfiguredHook]:
    """Every configured hook: global ones first, then the project's (found from ``cwd``).

    Untrusted project hooks are returned with ``trusted=False`` so callers can show them;
    unless ``notify_untrusted`` is false, the first load that meets them in this process
    logs a warning telling the user how to trust them.
    """
    loaded: list[ConfiguredHook] = []
    global_file = global_hooks_file()
    raw = _read(global_file)
    if raw is not None:
        loaded += _build_hooks(raw, global_file, GLOBAL, global_file.parent, trusted=True)

    try:
        start = cwd if cwd is not None else Path.cwd()
    except OSError:  # the working directory was deleted
        return loaded
    project_file = find_project_hooks_file(start)
    if project_file is None:
        return loaded
    raw = _read(project_file)
    if raw is None:
        return loaded
    # Hash and parse the same bytes, so what runs is exactly what was trusted.
    trusted = _project_trusted(project_file, raw)
    project_hooks = _build_hooks(
        raw, project_file, PROJECT, project_dir_of(project_file), trusted=trusted
    )
    if project_hooks and not trusted and notify_untrusted:
        _notify_untrusted(project_file)
    return loaded + project_hooks
