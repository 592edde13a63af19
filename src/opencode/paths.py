"""Where opencode keeps its data and configuration.

One function per folder, evaluated on each call (never at import time) so tests and users can
redirect everything with ``OPENCODE_DATA_DIR`` / ``OPENCODE_CONFIG_DIR`` or the XDG variables.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from pathlib import Path

APP_NAME = "opencode"
DATA_DIR_ENV = "OPENCODE_DATA_DIR"
CONFIG_DIR_ENV = "OPENCODE_CONFIG_DIR"


def data_dir() -> Path:
    """The per-user data root: ``$OPENCODE_DATA_DIR`` or the platform's user data folder."""
    from pathlib import Path

    return Path(data_root())


def data_root() -> str:
    """``data_dir()`` as text, without importing pathlib (TAB completion starts with it)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return os.path.expanduser(override)
    common = _common_user_dir("XDG_DATA_HOME", ".local/share")
    if common is not None:
        return common
    from platformdirs import user_data_dir

    return str(user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The per-user config root: ``$OPENCODE_CONFIG_DIR`` or the platform's config folder."""
    from pathlib import Path

    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    common = _common_user_dir("XDG_CONFIG_HOME", ".config")
    if common is not None:
        return Path(common)
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False))


def sessions_dir() -> Path:
    """The folder holding session files and the index."""
    return data_dir() / "sessions"


def project_root(folder: str | os.PathLike[str]) -> Path:
    """The project ``folder`` belongs to: the top of its git work tree, else ``folder``.

    A ``.git`` folder or file (worktrees, submodules) marks the top; nothing is run.
    """
    from pathlib import Path

    start = Path(os.path.abspath(folder))
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


def _common_user_dir(xdg_variable: str, linux_base: str) -> str | None:
    """platformdirs' answer in the common Linux and macOS cases, computed without importing
    it (about 12 ms of every command's start-up, ``tempfile`` included); None otherwise.

    Linux: ``$XDG_...`` when it is an absolute path, ``~/<linux_base>`` when it is unset.
    macOS without the XDG variable: ``~/Library/Application Support`` (data and config
    alike). Anything unusual (a relative or blank variable, no absolute ``$HOME``, another
    platform) returns None, and platformdirs itself decides. A test compares the two.
    """
    home = os.environ.get("HOME", "")
    if not os.path.isabs(home):
        return None
    xdg = os.environ.get(xdg_variable)
    if sys.platform.startswith("linux") and not hasattr(sys, "getandroidapilevel"):
        if xdg is None or xdg == "":
            return os.path.join(home, linux_base, APP_NAME)
        return os.path.join(xdg, APP_NAME) if os.path.isabs(xdg) and xdg.strip() == xdg else None
    if sys.platform == "darwin" and not xdg:
        return os.path.join(home, "Library", "Application Support", APP_NAME)
    return None
