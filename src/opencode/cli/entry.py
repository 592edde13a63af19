"""The ``opencode`` console script: fast paths first, then the Typer app.

Three things happen here, before Typer is imported:

* TAB completion of a session id is answered from the index database, and the completion
  scripts are printed (``opencode.cli.completion``); other completions go to Typer.
* A root option whose value is optional (``--resume``/``-r``) given without one is rewritten
  to ``--resume=`` (the "latest session" form the app understands), since Typer has no
  optional-value options.
* ``opencode --list-sessions``, ``session list``, ``session search`` and ``session new``
  with ordinary options are served without building the Typer app (``opencode.cli.fastpath``):
  they are what people and scripts run most, and they must start fast.

Which options exist and which take values is read from ``opencode.cli.argv``.
"""

from __future__ import annotations

import os
import sys

from opencode.cli.argv import OPTIONAL, read_root

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Final

PROG_NAME: Final = "opencode"
COMPLETE_VAR: Final = "_OPENCODE_COMPLETE"


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """Rewrite a bare optional-value root option (``--resume``, ``-r``) to ``--resume=``.

    It is bare when it ends the command line or the next word is an option (its values
    never start with ``-``). Only the root options are looked at: everything from the first
    subcommand (or ``--``) on is left alone.
    """
    args = list(argv)
    root = read_root(args)
    out: list[str] = []
    for given in root.given:
        option = given.option
        if option is not None and option.takes == OPTIONAL and given.value is None:
            out.append(f"{option.name}=")
        else:
            out += given.words
    return out + args[root.end :]


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
    if os.environ.get(COMPLETE_VAR):
        from opencode.cli.completion import complete_from_environment

        if complete_from_environment():
            raise SystemExit(0)
    else:
        args = normalize_argv(args)
        from opencode.cli import fastpath

        action = fastpath.fast_action(args)
        if action is not None:
            raise SystemExit(fastpath.run(action))
    from opencode.cli.app import app

    app(args=args, prog_name=PROG_NAME)
