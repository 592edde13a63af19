"""The ``opencode`` console script: fast paths first, then the Typer app.

Three things happen here, before Typer is imported:

* TAB completion of a session id is answered from ``index.json``
  (``opencode.cli.completion``); other completions go to Typer.
* ``--resume`` / ``-r`` without a value is rewritten to ``--resume=`` (the "latest session"
  form the app understands), since Typer has no optional-value options.
* ``opencode --list-sessions`` (optionally with ``--data-dir``) is served without building
  the Typer app: it is the listing people run most and it must start fast.
"""

from __future__ import annotations

import os
import sys

from opencode.cli.completion import RESUME_OPTIONS, ROOT_VALUE_OPTIONS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Final

PROG_NAME: Final = "opencode"
RESUME_LATEST: Final = "--resume="
LIST_SESSIONS: Final = "--list-sessions"
DATA_DIR_OPTION: Final = "--data-dir"


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """Rewrite a bare ``--resume``/``-r`` among the root options to ``--resume=``.

    ``--resume`` is bare when it ends the command line or the next word is an option
    (session ids never start with ``-``). Only the root options are looked at: everything
    from the first subcommand (or ``--``) on is left alone.
    """
    args = list(argv)
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in RESUME_OPTIONS:
            following = args[i + 1] if i + 1 < len(args) else None
            if following is None or following.startswith("-"):
                out.append(RESUME_LATEST)
                i += 1
            else:
                out += [arg, following]
                i += 2
        elif arg in ROOT_VALUE_OPTIONS:
            out += args[i : i + 2]
            i += 2
        elif arg.startswith("-") and arg != "--":
            out.append(arg)
            i += 1
        else:
            out += args[i:]
            break
    return out


def fast_listing_data_dir(argv: Sequence[str]) -> tuple[bool, str | None]:
    """``(True, data dir or None)`` when argv is just ``--list-sessions [--data-dir D]``."""
    rest = list(argv)
    if LIST_SESSIONS not in rest:
        return False, None
    rest.remove(LIST_SESSIONS)
    data_dir = None
    if len(rest) == 2 and rest[0] == DATA_DIR_OPTION:
        data_dir = rest[1]
    elif len(rest) == 1 and rest[0].startswith(DATA_DIR_OPTION + "="):
        data_dir = rest[0].partition("=")[2]
    elif rest:
        return False, None
    if data_dir is not None and (not data_dir or data_dir.startswith("-")):
        return False, None  # let Typer report the usage error
    return True, data_dir


def _list_sessions_fast(data_dir: str | None) -> int:
    from opencode.cli.console import setup_logging
    from opencode.cli.errors import run_guarded

    setup_logging()

    def action() -> None:
        from opencode.cli.datadir import use_data_dir
        from opencode.cli.listing import print_listing

        use_data_dir(data_dir)  # the same checks as the app's --data-dir
        print_listing()

    return run_guarded(action)


def _tolerate_any_encoding() -> None:
    """Text the terminal's encoding cannot show becomes ``\\u2615``, never a traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``opencode`` command line."""
    _tolerate_any_encoding()
    args = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get("_OPENCODE_COMPLETE"):
        from opencode.cli.completion import complete_from_environment

        if complete_from_environment():
            raise SystemExit(0)
    else:
        args = normalize_argv(args)
        fast, data_dir = fast_listing_data_dir(args)
        if fast:
            raise SystemExit(_list_sessions_fast(data_dir))
    from opencode.cli.app import app

    app(args=args, prog_name=PROG_NAME)
