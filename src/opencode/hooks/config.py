"""Loading hooks from the global and project ``hooks.json`` files.

Loading never raises: a file that cannot be parsed, or an entry that is not a valid hook, is
skipped with a logged warning that names the file (and the entry's index), so one typo cannot
stop opencode from starting, and a broken project file never costs the user their global
hooks. A pattern no known event can match is loaded (so it can be listed) but never runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from opencode.hooks.errors import InvalidHookError, TrustStoreError
from opencode.hooks.events import EventType
from opencode.hooks.fileio import loads_bounded, read_regular_file
from opencode.hooks.files import global_hooks_file, project_hooks_file
from opencode.hooks.hook import Hook, unknown_alternatives
from opencode.hooks.trust import hash_bytes, is_trusted_digest, project_dir_of
from opencode.logs import get_logger

logger = get_logger(__name__)

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
    def matches_known_event(self) -> bool:
        """False for a pattern no event can match (a typo such as ``session:strat``)."""
        return self.hook.matches_known_event

    @property
    def will_run(self) -> bool:
        """Enabled, able to match some event, and (for project hooks) trusted."""
        return self.trusted and self.hook.enabled and self.matches_known_event


def _parse_entries(raw: bytes, path: Path) -> list[Any] | None:
    try:
        document = loads_bounded(raw)
    except ValueError as exc:
        logger.warning("Skipping hooks file %s: not valid JSON (%s)", path, exc)
        return None
    if not isinstance(document, dict) or not isinstance(document.get("hooks"), list):
        logger.warning('Skipping hooks file %s: expected {"hooks": [...]}', path)
        return None
    entries: list[Any] = document["hooks"]
    return entries


def _warn_unknown_events(hook: Hook, index: int, path: Path) -> None:
    unknown = unknown_alternatives(hook.event_pattern)
    if not unknown:
        return
    known = ", ".join(event.value for event in EventType)
    if hook.matches_known_event:
        logger.warning(
            "Hook entry %d in %s: %s in event pattern %r matches no known event (known: %s)",
            index,
            path,
            ", ".join(repr(part) for part in unknown),
            hook.event_pattern,
            known,
        )
    else:
        logger.warning(
            "Hook entry %d in %s will never run: event pattern %r matches no known event "
            "(known: %s)",
            index,
            path,
            hook.event_pattern,
            known,
        )


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
        _warn_unknown_events(hook, index, path)
        if hook.working_dir is not None and not os.path.isabs(hook.working_dir):
            # Relative folders are relative to the project (or config folder), not to
            # wherever opencode happens to be started.
            hook.working_dir = str(base_dir / hook.working_dir)
        loaded.append(ConfiguredHook(hook, source, path, index, trusted))
    return loaded


def _read(path: Path) -> bytes | None:
    try:
        return read_regular_file(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.warning("Skipping hooks file %s: %s", path, exc.strerror or exc)
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


def _guarded(path: Path, load: Callable[[], list[ConfiguredHook]]) -> list[ConfiguredHook]:
    """Whatever goes wrong with one file costs only that file's hooks, never the other's."""
    try:
        return load()
    except Exception as exc:  # the parsers catch what they expect; this is the backstop
        logger.warning("Skipping hooks file %s: %s", path, exc)
        return []


def _load_global(path: Path) -> list[ConfiguredHook]:
    raw = _read(path)
    if raw is None:
        return []
    return _build_hooks(raw, path, GLOBAL, path.parent, trusted=True)


def _load_project(path: Path, notify_untrusted: bool) -> list[ConfiguredHook]:
    raw = _read(path)
    if raw is None:
        return []
    # Hash and parse the same bytes, so what runs is exactly what was trusted.
    trusted = _project_trusted(path, raw)
    hooks = _build_hooks(raw, path, PROJECT, project_dir_of(path), trusted=trusted)
    if hooks and not trusted and notify_untrusted:
        _notify_untrusted(path)
    return hooks


def load_hooks(cwd: Path | None = None, *, notify_untrusted: bool = True) -> list[ConfiguredHook]:
    """Every configured hook: global ones first, then the project's (found from ``cwd``).

    Untrusted project hooks are returned with ``trusted=False`` so callers can show them;
    unless ``notify_untrusted`` is false, the first load that meets them in this process
    logs a warning telling the user how to trust them.
    """
    global_file = global_hooks_file()
    loaded = _guarded(global_file, lambda: _load_global(global_file))
    project_file = project_hooks_file(cwd)
    if project_file is not None:
        loaded += _guarded(project_file, lambda: _load_project(project_file, notify_untrusted))
    return loaded
