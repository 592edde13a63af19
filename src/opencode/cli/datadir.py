"""``--data-dir`` and ``$OPENCODE_DATA_DIR``: checked and made absolute in one place.

Both the Typer app and the entry point's ``--list-sessions`` fast path call ``use_data_dir``,
so they accept and refuse the same folders. The result goes into the environment, where
``opencode.paths`` and every hook the process starts find it.
"""

from __future__ import annotations

import os

from opencode.cli.errors import CommandError

DATA_DIR_ENV = "OPENCODE_DATA_DIR"


def use_data_dir(option: str | None) -> None:
    """Point this process (and its children) at ``option``, else at ``$OPENCODE_DATA_DIR``.

    The folder is made absolute, so a hook that changes folder still finds the sessions;
    a path naming something other than a folder is a ``CommandError``. An empty option is
    the caller's usage error to report (an empty variable means the default folder).
    """
    value = option if option is not None else os.environ.get(DATA_DIR_ENV, "")
    if not value:
        return
    path = os.path.abspath(os.path.expanduser(value))
    if os.path.exists(path) and not os.path.isdir(path):
        raise CommandError(
            f"data folder {path} is not a folder",
            hint=f"point --data-dir or {DATA_DIR_ENV} at a folder (one is created when missing)",
        )
    os.environ[DATA_DIR_ENV] = path
