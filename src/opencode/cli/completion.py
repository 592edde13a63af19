"""TAB completion of session ids, answered from the index database alone.

The shell scripts in ``completions/`` (``completion_scripts.py`` writes them) run
``opencode`` at TAB time with ``_OPENCODE_COMPLETE=complete_<shell>``. When the word being
completed is a session id, ``complete_from_environment`` answers straight from the index
database (no Typer, no Rich, no session files); anything else falls through to Typer's own
completion, whose output formats the scripts also read. ``session_id_completions`` is the
same answer for Typer's ``autocompletion=`` hook, used when Typer does the completing.

Which words are session ids comes from the tables in ``opencode.cli.argv``.
Keep this module's imports to the standard library: it is the whole TAB path.
"""

from __future__ import annotations

import os
import sys

from opencode.cli.argv import (
    ARCHIVED,
    DATA_DIR,
    ID_COMMANDS,
    NESTED_ID_COMMANDS,
    SESSION_GROUP,
    SESSION_ID,
    SESSIONS,
    TRASHED,
    read_root,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Final

COMPLETE_VAR: Final = "_OPENCODE_COMPLETE"
APP_NAME: Final = "opencode"
DATA_DIR_ENV: Final = "OPENCODE_DATA_DIR"
SHELLS: Final = ("bash", "zsh", "fish")
UNTITLED: Final = "(untitled)"
# A shell shows this many candidates at most; more is noise (and time).
MAX_COMPLETIONS: Final = 200


# -- where the index is -----------------------------------------------------------------------


def default_data_dir() -> str:
    """The data root (as ``opencode.paths.data_dir()``, without importing pathlib)."""
    from opencode.paths import data_root

    return data_root()


def index_path(data_dir: str | None = None) -> str:
    """Where the session index of ``data_dir`` (default: the data root) is."""
    from opencode.sessions.indexfile import index_file

    root = os.path.expanduser(data_dir) if data_dir else default_data_dir()
    return index_file(os.path.join(root, "sessions"))


def _one_line(text: str) -> str:
    """Titles as completion descriptions: one line, no control characters."""
    return "".join(" " if ch.isspace() or not ch.isprintable() else ch for ch in text).strip()


def session_id_completions(
    incomplete: str, data_dir: str | None = None, offers: str = SESSIONS
) -> list[tuple[str, str]]:
    """``(id, title)`` for every id starting with ``incomplete``, most recent first: of the
    sessions in listings, of the archived ones (``ARCHIVED``) or of the trash (``TRASHED``).

    Asks the index database (or the trash folder) alone; anything missing or unreadable
    completes nothing.
    """
    if offers == TRASHED:
        return _trashed_completions(incomplete, data_dir)
    from opencode.sessions.indexfile import completion_rows

    path = index_path(data_dir)
    if not os.path.isfile(path):
        return []
    try:
        rows = completion_rows(path, incomplete, MAX_COMPLETIONS, archived=offers == ARCHIVED)
    except Exception:  # sqlite3.Error, a locked or foreign file: complete nothing, quietly
        return []
    return [(session_id, _one_line(title) or UNTITLED) for session_id, title in rows]


def _trashed_completions(incomplete: str, data_dir: str | None) -> list[tuple[str, str]]:
    """Ids of the sessions in the trash, with the titles their records keep."""
    import json

    root = os.path.expanduser(data_dir) if data_dir else default_data_dir()
    folder = os.path.join(root, "trash")
    found = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in sorted(names):
        if not name.endswith(".json") or not name.startswith(incomplete):
            continue
        session_id, title = name[: -len(".json")], ""
        try:
            with open(os.path.join(folder, session_id + ".trashed"), "rb") as handle:
                record = json.loads(handle.read(65536))
            title = record.get("title", "") if isinstance(record, dict) else ""
        except (OSError, ValueError):
            pass
        found.append((session_id, _one_line(str(title)) or UNTITLED))
    return found[:MAX_COMPLETIONS]


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


def glue_equals(words: list[str]) -> list[str]:
    """Undo bash's split at ``=`` (it is in COMP_WORDBREAKS): ``--opt``, ``=``, ``v`` is
    ``--opt=v``, and ``--opt``, ``=`` is ``--opt=``."""
    glued: list[str] = []
    after_equals = False
    for word in words:
        if after_equals:
            glued[-1] += word
            after_equals = False
        elif word == "=" and glued and glued[-1].startswith("-") and "=" not in glued[-1]:
            glued[-1] += word
            after_equals = True
        else:
            glued.append(word)
    return glued


class Cursor:
    """Where TAB was pressed: the words before it (program name left out) and the word being
    completed, with bash's splits at ``=`` undone. ``split_at_equals``: bash split the word
    being completed (then it replaces only the text after the ``=``, so answers leave out
    the ``--opt=`` part); ``glued``: some word was put back together."""

    __slots__ = ("args", "glued", "incomplete", "split_at_equals")

    def __init__(
        self,
        args: list[str],
        incomplete: str,
        *,
        split_at_equals: bool = False,
        glued: bool = False,
    ) -> None:
        self.args = args
        self.incomplete = incomplete
        self.split_at_equals = split_at_equals
        self.glued = glued


def _bash_cursor() -> Cursor | None:
    try:
        words = split_arg_string(os.environ["COMP_WORDS"])
        cword = int(os.environ["COMP_CWORD"])
    except (KeyError, ValueError):
        return None
    if cword < 1:
        return None  # the command name itself
    typed = [*words[1:cword], words[cword] if cword < len(words) else ""]
    glued = glue_equals(typed)
    split = glued[-1] != typed[-1]
    return Cursor(glued[:-1], glued[-1], split_at_equals=split, glued=glued != typed)


def shell_cursor(shell: str) -> Cursor | None:
    """The cursor, from the environment the completion scripts set."""
    if shell == "bash":
        return _bash_cursor()
    line = os.environ.get("_TYPER_COMPLETE_ARGS", "")
    args = split_arg_string(line)[1:]
    if args and not line.endswith(" "):
        return Cursor(args[:-1], args[-1])
    return Cursor(args, "")


def _hand_glued_words_to_typer(cursor: Cursor) -> None:
    """Let Typer's bash completion see ``--opt=value`` as one word too (``--sort=t``)."""
    import shlex

    words = [APP_NAME, *cursor.args, cursor.incomplete]
    os.environ["COMP_WORDS"] = " ".join(shlex.quote(word) for word in words)
    os.environ["COMP_CWORD"] = str(len(words) - 1)


def completes_session_id(args: list[str], incomplete: str) -> bool:
    """True when ``incomplete`` is the value of ``--resume`` or an ID argument of a command."""
    return ids_offered(args, incomplete) is not None


def ids_offered(args: list[str], incomplete: str) -> str | None:
    """Which ids fit where the cursor is (``argv.SESSIONS``, ``ARCHIVED``, ``TRASHED``), or
    None when it is not at a session id."""
    if incomplete.startswith("-") or "--" in args:
        return None
    root = read_root(args)
    if root.awaiting is not None:
        return SESSIONS if root.awaiting.completes == SESSION_ID else None
    return _command_takes_id(args[root.end :])


def _command_takes_id(words: list[str]) -> str | None:
    """``session <command> ...``: which ids the next positional word takes, if any."""
    if len(words) < 2 or words[0] != SESSION_GROUP:
        return None
    nested = NESTED_ID_COMMANDS.get((words[1], words[2])) if len(words) > 2 else None
    if nested is not None:
        command, j = nested, 3
    elif words[1] in ID_COMMANDS:
        command, j = ID_COMMANDS[words[1]], 2
    else:
        return None
    positionals = 0
    while j < len(words):
        if words[j] in command.value_options:
            if j + 1 == len(words):
                return None  # the cursor is at that option's value
            j += 2
            continue
        positionals += not words[j].startswith("-")
        j += 1
    return command.offers if positionals == 0 or command.many else None


# -- what the shell scripts read --------------------------------------------------------------


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _zsh_answer(items: list[tuple[str, str]], after_equals: bool) -> str:
    """Code the zsh script evaluates: the ids in recency order (``-V``: unsorted), titles
    as descriptions. One line, so older scripts' unquoted ``eval $(...)`` reads it too."""
    if not items:
        return "_files"
    pairs = " ".join(_zsh_quote(value.replace(":", "\\:") + ":" + title) for value, title in items)
    skip = "compset -P '*='; " if after_equals else ""
    return (
        f"local -a _opencode_ids; _opencode_ids=({pairs}); "
        f"{skip}_describe -V -t session-ids 'session id' _opencode_ids"
    )


def format_completions(shell: str, items: list[tuple[str, str]], prefix: str = "") -> str:
    """What the ``shell`` script reads: bash a value per line, fish ``value<TAB>title``
    lines, zsh code to evaluate. ``prefix`` (``--resume=``) is the part of the word before
    the value: bash and fish answers carry it (the shell replaces the whole word); zsh skips
    it itself."""
    if shell == "bash":
        return "\n".join(prefix + value for value, _ in items)
    if shell == "zsh":
        return _zsh_answer(items, bool(prefix))
    return "\n".join(f"{prefix}{value}\t{title}" for value, title in items)


def complete_from_environment() -> bool:
    """Answer a TAB press for a session id, or print a completion script; False to defer.

    Returns False (and prints nothing) when the word is not a session id, so Typer can
    complete commands, options and everything else.
    """
    action, _, shell = os.environ.get(COMPLETE_VAR, "").partition("_")
    if shell not in SHELLS:
        return False
    if action == "source":
        from opencode.cli.completion_scripts import completion_script

        sys.stdout.write(completion_script(shell))
        return True
    cursor = shell_cursor(shell) if action == "complete" else None
    if cursor is None:
        return False
    args, incomplete, prefix = cursor.args, cursor.incomplete, ""
    if incomplete.startswith("-") and "=" in incomplete:
        name, _, incomplete = incomplete.partition("=")  # Click completes --opt=value this way
        args, prefix = [*args, name], f"{name}="
    offers = ids_offered(args, incomplete)
    if offers is None:
        if cursor.glued:
            _hand_glued_words_to_typer(cursor)
        return False
    items = session_id_completions(incomplete, read_root(args).value_of(DATA_DIR), offers)
    if shell == "fish" and os.environ.get("_TYPER_COMPLETE_FISH_ACTION") == "is-args":
        raise SystemExit(0 if items else 1)  # scripts Typer wrote ask twice; ours ask once
    if cursor.split_at_equals:
        prefix = ""  # bash replaces only what follows the "="
    sys.stdout.write(format_completions(shell, items, prefix) + "\n")
    sys.stdout.flush()
    return True
