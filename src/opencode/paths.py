"""Where opencode keeps its data and configuration.

One function per folder, evaluated on each call (never at import time) so tests and users can
redirect everything with ``OPENCODE_DATA_DIR`` / ``OPENCODE_CONFIG_DIR`` or the XDG variables.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "opencode"
DATA_DIR_ENV = "OPENCODE_DATA_DIR"
CONFIG_DIR_ENV = "OPENCODE_CONFIG_DIR"


def data_dir() -> Path:
    """The per-user data root: ``$OPENCODE_DATA_DIR`` or the platform's user data folder."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The per-user config root: ``$OPENCODE_CONFIG_DIR`` or the platform's config folder."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False))


def sessions_dir() -> Path:
    """The folder holding session files and the index."""
    return data_dir() / "sessions"


def project_root(folder: str | os.PathLike[str]) -> Path:
    """The project ``folder`` belongs to: the top of its git work tree, else ``folder``.

    A ``.git`` folder or file (worktrees, submodules) marks the top; nothing is run.
    """
    start = Path(os.path.abspath(folder))
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start
