"""The command line's shape in one place: the root options and the session commands that take ids.

Three readers share these tables: the Typer app (``app.py`` declares each root option from its
row), the console script's fast paths (``entry.py``: a bare ``--resume`` and the plain
``--list-sessions``) and TAB completion (``completion.py``: which word is a session id).
Adding a root option or an id-taking ``session`` command is one row here plus its code; tests
fail when the rows and the Typer app disagree.

Standard library only, and nothing beyond the builtins: this module is on the TAB path.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Final

# What a root option takes.
FLAG: Final = "flag"  # --continue
VALUE: Final = "value"  # --model NAME
# --resume [ID]: a bare option means "no value given" and is passed to Typer as --resume=
# (Typer has no optional-value options). Values of such options never start with "-".
OPTIONAL: Final = "optional"

# What TAB completes for a value; anything else is left to Typer.
SESSION_ID: Final = "session-id"


class RootOption:
    """One root option: its names, whether it takes a value, and its help."""

    __slots__ = ("completes", "help", "metavar", "name", "short", "takes")

    def __init__(
        self,
        name: str,
        short: str | None,
        takes: str,
        metavar: str | None,
        help: str,
        *,
        completes: str | None = None,
    ) -> None:
        self.name = name
        self.short = short
        self.takes = takes
        self.metavar = metavar
        self.help = help
        self.completes = completes

    @property
    def names(self) -> tuple[str, ...]:
        """The spellings Typer declares: ``("--resume", "-r")``."""
        return (self.name,) if self.short is None else (self.name, self.short)

    def __repr__(self) -> str:
        return f"RootOption({self.name!r}, {self.short!r}, {self.takes!r})"


# name, short alias, takes, metavar, help (the --help text; the README shows the same options)
ROOT_OPTIONS: Final = (
    RootOption(
        "--resume",
        "-r",
        OPTIONAL,
        "[ID]",
        "Resume a session (id, id prefix or title; the latest without ID) and chat.",
        completes=SESSION_ID,
    ),
    RootOption("--continue", "-c", FLAG, None, "Resume the latest session of this project."),
    RootOption(
        "--print",
        "-p",
        OPTIONAL,
        "[PROMPT]",
        "Send PROMPT (or all of stdin: '-' or no PROMPT), print only the answer, and exit.",
    ),
    RootOption("--json", None, FLAG, None, "With --print: print session_id, answer and usage."),
    RootOption("--list-sessions", None, FLAG, None, "List the most recent sessions."),
    RootOption(
        "--data-dir", None, VALUE, "PATH", "Data folder (sessions live in its 'sessions' folder)."
    ),
    RootOption("--model", None, VALUE, "NAME", "Model to chat with (recorded in new sessions)."),
    RootOption("--base-url", None, VALUE, "URL", "OpenAI-compatible API base URL."),
    RootOption(
        "--history-tokens",
        None,
        VALUE,
        "N",
        "Token budget for the history sent to the model (default: 8000).",
    ),
    RootOption(
        "--install-completion",
        None,
        OPTIONAL,
        "[SHELL]",
        "Install TAB completion for bash, zsh or fish (default: the shell in $SHELL).",
    ),
    RootOption(
        "--show-completion",
        None,
        OPTIONAL,
        "[SHELL]",
        "Print the TAB completion script for bash, zsh or fish (default: $SHELL's).",
    ),
    RootOption("--version", None, FLAG, None, "Print the version."),
)
ROOT_BY_NAME: Final = {spelling: option for option in ROOT_OPTIONS for spelling in option.names}
RESUME: Final = ROOT_BY_NAME["--resume"]
LIST_SESSIONS: Final = ROOT_BY_NAME["--list-sessions"]
DATA_DIR: Final = ROOT_BY_NAME["--data-dir"]


class IdCommand:
    """A ``session`` command whose first argument is a session id.

    ``many``: every argument is an id (``delete ID...``); otherwise the words after the id
    are text (``title ID TITLE...``). ``value_options``: the command's options that take a
    value, so that value is never offered ids. ``offers``: which ids fit (``SESSIONS``, the
    default; ``ARCHIVED`` for ``unarchive``; ``TRASHED`` for ``trash restore``).
    """

    __slots__ = ("many", "name", "offers", "value_options")

    def __init__(
        self, name: str, *value_options: str, many: bool = False, offers: str = "sessions"
    ) -> None:
        self.name = name
        self.value_options = frozenset(value_options)
        self.many = many
        self.offers = offers

    def __repr__(self) -> str:
        return f"IdCommand({self.name!r}, many={self.many})"


SESSIONS: Final = "sessions"
ARCHIVED: Final = "archived"
TRASHED: Final = "trashed"
SESSION_GROUP: Final = "session"
# ``opencode session <name> ID``: name, then the command's options that take a value.
ID_COMMANDS: Final = {
    command.name: command
    for command in (
        IdCommand("show"),
        IdCommand("resume"),
        IdCommand("title"),
        IdCommand("tag"),
        IdCommand("delete", many=True),
        IdCommand("export", "--format", "-f", "--output", "-o"),
        IdCommand("recover"),
        IdCommand("fork", "--at", "--before-message", "--title", "-t"),
        IdCommand("archive", many=True),
        IdCommand("unarchive", many=True, offers=ARCHIVED),
        IdCommand("pin", many=True),
        IdCommand("unpin", many=True),
        IdCommand("resolve"),
        IdCommand("share", "--remote", "--expires"),
    )
}
# ``opencode session <group> <name> ID``: commands of the groups under ``session``.
NESTED_ID_COMMANDS: Final = {
    ("trash", "restore"): IdCommand("restore", many=True, offers=TRASHED),
}


# -- reading root options off a command line --------------------------------------------------


class GivenOption:
    """One root option as given: its row (None when unknown), its words, and its value."""

    __slots__ = ("option", "value", "words")

    def __init__(self, option: RootOption | None, words: Sequence[str], value: str | None) -> None:
        self.option = option
        self.words = tuple(words)
        self.value = value  # None: a flag, or an optional value left out


class RootWords:
    """The root options at the start of a command line, read as the Typer app reads them.

    ``end`` is the index of the first word that is not a root option (a command, ``--``, or
    the end). ``awaiting`` is the option whose value is missing at the end of the words:
    for completion, the word under the cursor is that value.
    """

    __slots__ = ("awaiting", "end", "given")

    def __init__(self, given: list[GivenOption], end: int, awaiting: RootOption | None) -> None:
        self.given = given
        self.end = end
        self.awaiting = awaiting

    def value_of(self, option: RootOption) -> str | None:
        """The last value given to ``option`` (as Click keeps the last), if any."""
        values = [g.value for g in self.given if g.option is option and g.value is not None]
        return values[-1] if values else None

    def names(self) -> set[str]:
        """The canonical names given (unknown options by their own spelling)."""
        return {g.option.name if g.option else g.words[0] for g in self.given}


def _inline_value(word: str) -> tuple[RootOption | None, str | None]:
    """``--name=value`` or ``-rVALUE``: the option and the value written into the word."""
    if word.startswith("--"):
        name, equals, value = word.partition("=")
        return ROOT_BY_NAME.get(name), value if equals else None
    option = ROOT_BY_NAME.get(word[:2])
    if option is not None and option.takes != FLAG and len(word) > 2:
        return option, word[2:]
    return ROOT_BY_NAME.get(word), None


def read_root(args: Sequence[str]) -> RootWords:
    """Read the root options off ``args`` (the words after ``opencode``)."""
    given: list[GivenOption] = []
    count = len(args)
    i = 0
    while i < count and args[i].startswith("-") and args[i] != "--":
        word = args[i]
        option, inline = _inline_value(word)
        if option is None or option.takes == FLAG or inline is not None:
            given.append(GivenOption(option, [word], inline))
            i += 1
            continue
        if i + 1 == count:
            given.append(GivenOption(option, [word], None))
            return RootWords(given, count, option)
        following = args[i + 1]
        # An optional value never starts with "-", except "-" itself (stdin, as for -p -).
        if option.takes == OPTIONAL and following.startswith("-") and following != "-":
            given.append(GivenOption(option, [word], None))
            i += 1
        else:
            given.append(GivenOption(option, [word, following], following))
            i += 2
    return RootWords(given, i, None)
