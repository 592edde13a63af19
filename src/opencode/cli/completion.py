"""TAB completion of session ids, answered from the index database alone.

The shell scripts in ``completions/`` are the ones Typer generates; at TAB time they run
``opencode`` with ``_OPENCODE_COMPLETE=complete_<shell>``. When the word being completed is a
session id, ``complete_from_environment`` answers straight from the index database (no
Typer, no Rich, no session files) in the exact format Typer's scripts parse; anything
else falls through to Typer's own completion. ``session_id_completions`` is the same answer
for Typer's ``autocompletion=`` hook, used when Typer does the completing.

Keep this module's imports to the standard library: it is the whole TAB path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final

COMPLETE_VAR: Final = "_OPENCODE_COMPLETE"
APP_NAME: Final = "opencode"
DATA_DIR_ENV: Final = "OPENCODE_DATA_DIR"
DATA_DIR_OPTION: Final = "--data-dir"
RESUME_OPTIONS: Final = frozenset({"--resume", "-r"})
# Root options that take a value (the value is never a subcommand name).
ROOT_VALUE_OPTIONS: Final = frozenset({"--data-dir", "--model", "--base-url", "--history-tokens"})
# ``opencode session <command> ID ...``: the options of each command that take a value
# (a test compares them with the Typer app).
ID_COMMANDS: Final[dict[str, frozenset[str]]] = {
    "show": frozenset(),
    "resume": frozenset(),
    "title": frozenset(),
    "tag": frozenset(),
    "delete": frozenset(),
    "export": frozenset({"--format", "-f", "--output", "-o"}),
    "recover": frozenset(),
}
# Commands whose every positional argument is an id (the others take one id, then text).
MULTI_ID_COMMANDS: Final = frozenset({"delete"})
UNTITLED: Final = "(untitled)"
# A shell shows this many candidates at most; more is noise (and time).
MAX_COMPLETIONS: Final = 200


# -- where the index is -----------------------------------------------------------------------


def default_data_dir() -> str:
    """The data root ``opencode.paths.data_dir()`` gives, without importing platformdirs.

    Only the common Linux and macOS cases are computed here; anything unusual asks
    platformdirs itself so the answer never differs.
    """
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return os.path.expanduser(override)
    home = os.environ.get("HOME", "")
    xdg = os.environ.get("XDG_DATA_HOME", "")
    plain_linux = sys.platform.startswith("linux") and not hasattr(sys, "getandroidapilevel")
    if os.path.isabs(home) and (plain_linux or (sys.platform == "darwin" and not xdg)):
        if plain_linux and os.path.isabs(xdg):
            return os.path.join(xdg, APP_NAME)
        if not xdg:
            base = ".local/share" if plain_linux else "Library/Application Support"
            return os.path.join(home, base, APP_NAME)
    from opencode.paths import data_dir

    return str(data_dir())


def index_path(data_dir: str | None = None) -> str:
    """Where the session index of ``data_dir`` (default: the data root) is."""
    from opencode.sessions.indexdb import index_path as path_in

    root = os.path.expanduser(data_dir) if data_dir else default_data_dir()
    return str(path_in(Path(root, "sessions")))


def _one_line(text: str) -> str:
    """Titles as completion descriptions: one line, no control characters."""
    return "".join(" " if ch.isspace() or not ch.isprintable() else ch for ch in text).strip()


def session_id_completions(incomplete: str, data_dir: str | None = None) -> list[tuple[str, str]]:
    """``(id, title)`` for every indexed id starting with ``incomplete``, most recent first.

    Asks the index database alone; a missing or unreadable index completes nothing.
    """
    from opencode.sessions.indexdb import completion_rows

    path = index_path(data_dir)
    if not os.path.isfile(path):
        return []
    try:
        rows = completion_rows(path, incomplete, MAX_COMPLETIONS)
    except Exception:  # sqlite3.Error, a locked or foreign file: complete nothing, quietly
        return []
    return [(session_id, _one_line(title) or UNTITLED) for session_id, title in rows]


# -- where the cursor is ----------------------------------------------------------------------


_SHLEX_BLANKS: Final = str.maketrans("\t\r\n", "   ")


def split_arg_string(text: str) -> list[str]:
    """Split a command line like the shell would, keeping an unfinished last word."""
    if not any(ch in text for ch in "\"'\\"):
        # Nothing to unquote: split on shlex's whitespace, without importing it on every TAB.
        return [word for word in text.translate(_SHLEX_BLANKS).split(" ") if word]
    import shlex

    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words: list[str] = []
    try:
        words.extend(lexer)
    except ValueError:  # an unclosed quote: keep the partial word, as Click does
        words.append(lexer.token)
    return words


def completion_args(shell: str) -> tuple[list[str], str] | None:
    """``(words before the cursor, word being completed)`` from the shell's environment."""
    if shell == "bash":
        try:
            words = split_arg_string(os.environ["COMP_WORDS"])
            cword = int(os.environ["COMP_CWORD"])
        except (KeyError, ValueError):
            return None
        incomplete = words[cword] if 0 <= cword < len(words) else ""
        return words[1:cword], incomplete
    if shell in ("zsh", "fish"):
        line = os.environ.get("_TYPER_COMPLETE_ARGS", "")
        args = split_arg_string(line)[1:]
        if args and not line.endswith(" "):
            return args[:-1], args[-1]
        return args, ""
    return None


def _data_dir_from(args: list[str]) -> str | None:
    """The ``--data-dir`` given on the command line being completed, if any."""
    found = None
    for i, arg in enumerate(args):
        if arg == DATA_DIR_OPTION and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith(DATA_DIR_OPTION + "="):
            found = arg.partition("=")[2]
    return found


def completes_session_id(args: list[str], incomplete: str) -> bool:
    """True when ``incomplete`` is the value of ``--resume`` or an ID argument of a command."""
    if incomplete.startswith("-") or "--" in args:
        return False
    count = len(args)
    i = 0
    while i < count:
        arg = args[i]
        if arg in RESUME_OPTIONS:
            if i + 1 == count:
                return True
            i += 1 if args[i + 1].startswith("-") else 2
        elif arg in ROOT_VALUE_OPTIONS:
            if i + 1 == count:
                return False
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            break
    if i + 1 >= count or args[i] != "session" or args[i + 1] not in ID_COMMANDS:
        return False
    command = args[i + 1]
    value_options = ID_COMMANDS[command]
    positionals = 0
    j = i + 2
    while j < count:
        arg = args[j]
        if arg in value_options:
            if j + 1 == count:
                return False
            j += 2
            continue
        if not arg.startswith("-"):
            positionals += 1
        j += 1
    return positionals == 0 or command in MULTI_ID_COMMANDS


# -- what the shell scripts parse (mirrors typer's _completion_classes) -----------------------


def _zsh_escape(text: str) -> str:
    return (
        text.replace('"', '""')
        .replace("'", "''")
        .replace("$", "\\$")
        .replace("`", "\\`")
        .replace(":", r"\\:")
    )


def format_completions(shell: str, items: list[tuple[str, str]]) -> str:
    """The text Typer's ``complete_<shell>`` would print for these items."""
    if shell == "bash":
        return "\n".join(value for value, _ in items)
    if shell == "zsh":
        if not items:
            return "_files"
        lines = "\n".join(f'"{_zsh_escape(v)}":"{_zsh_escape(h)}"' for v, h in items)
        return f"_arguments '*: :(({lines}))'"
    return "\n".join(f"{value}\t{help_text}" for value, help_text in items)


def complete_from_environment() -> bool:
    """Answer a TAB press for a session id, printing what the shell expects; False to defer.

    Returns False (and prints nothing) when the word is not a session id, so Typer can
    complete commands, options and everything else.
    """
    instruction = os.environ.get(COMPLETE_VAR, "")
    action, _, shell = instruction.partition("_")
    if action != "complete" or shell not in ("bash", "zsh", "fish"):
        return False
    where = completion_args(shell)
    if where is None:
        return False
    args, incomplete = where
    if incomplete.startswith("-") and "=" in incomplete:
        name, _, incomplete = incomplete.partition("=")  # Click completes --opt=value this way
        args = [*args, name]
    if not completes_session_id(args, incomplete):
        return False
    items = session_id_completions(incomplete, _data_dir_from(args))
    if shell == "fish" and os.environ.get("_TYPER_COMPLETE_FISH_ACTION") == "is-args":
        raise SystemExit(0 if items else 1)
    sys.stdout.write(format_completions(shell, items) + "\n")
    sys.stdout.flush()
    return True
