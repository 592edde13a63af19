"""Where hooks are configured: the user's ``<config dir>/hooks.json`` and the nearest project
``.opencode/hooks.json``.

Standard library only, so a session event can find out that no hook is configured without
loading the hooks engine (about 30 ms of a ``session new``).
"""

from __future__ import annotations

from pathlib import Path

from opencode.paths import config_dir

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final

PROJECT_HOOKS_DIR: Final = ".opencode"
HOOKS_FILE_NAME: Final = "hooks.json"


def global_hooks_file() -> Path:
    """The user's own hooks, trusted by definition."""
    return config_dir() / HOOKS_FILE_NAME


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
        if _is_file(candidate):
            return candidate
    return None


def project_hooks_file(cwd: Path | None = None) -> Path | None:
    """The project hooks file that applies in ``cwd`` (default: the current folder)."""
    try:
        start = cwd if cwd is not None else Path.cwd()
    except OSError:  # the working directory was deleted
        return None
    return find_project_hooks_file(start)


def any_hooks_file(cwd: Path | None = None) -> bool:
    """Whether a hooks file exists that would apply in ``cwd`` (trusted or not)."""
    try:
        return global_hooks_file().exists() or project_hooks_file(cwd) is not None
    except Exception:  # cannot tell (no home folder, an unreadable one): let the engine look
        return True


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, OSError):  # no HOME and no passwd entry
        return None


def _is_file(path: Path) -> bool:
    # Before 3.13 ``Path.is_file`` raises on e.g. a folder we may not search.
    try:
        return path.is_file()
    except OSError:
        return False
