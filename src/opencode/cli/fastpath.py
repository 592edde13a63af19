"""Commands served without building the Typer app: the ones people and scripts run most.

Importing Typer and building the app takes about 100 ms, more than the work of a listing,
a search or a new session. For these command lines the entry point reads the options here
and calls the very functions the Typer commands call:

* ``opencode [--data-dir D] --list-sessions``
* ``opencode [--data-dir D] session list [--limit N] [--offset N] [--tag T]... [--search S]
  [--here] [--archived | --all] [--tree] [--wide] [--json | --quiet]``
* ``opencode [--data-dir D] session search QUERY [--role R]... [--tag T]... [--here]
  [--since DATE] [--limit N] [--archived] [--json]``; with only ``--role``, ``--limit`` and
  ``--archived`` it is answered from the index database alone when that needs no
  reconciling (``opencode.sessions.quicksearch``)
* ``opencode [--data-dir D] session new [--title T] [--tag T]... [--model M]``

Anything else goes to Typer: help, an option not listed, a value that is not plainly valid
(a limit out of range, an unknown role), options that exclude each other. So usage errors
and help come from one place, and the fast path never has to agree with Typer on a mistake.

Standard library only at import time.
"""

from __future__ import annotations

import os

from opencode.cli.argv import DATA_DIR, LIST_SESSIONS, read_root
from opencode.paths import DATA_DIR_ENV

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    Action = Callable[[], None]
    Options = dict[str, tuple[str, str]]
    Given = dict[str, "str | bool | list[str]"]

FLAG = "flag"  # --json
VALUE = "value"  # --limit N (the last one given counts, as in Click)
MANY = "many"  # --tag T, repeatable
ROLES = ("user", "assistant", "tool")


def fast_action(args: Sequence[str]) -> Action | None:
    """What to run for ``args`` (the words after ``opencode``) without Typer, or None."""
    root = read_root(args)
    names = root.names()
    if root.awaiting is not None or not names <= {LIST_SESSIONS.name, DATA_DIR.name}:
        return None
    data_dir = root.value_of(DATA_DIR)
    if data_dir is not None and (not data_dir.strip() or data_dir.startswith("-")):
        return None  # let Typer report the usage error
    if data_dir is None and _blank(os.environ.get(DATA_DIR_ENV, "")):
        return None  # Typer refuses a variable of spaces as it refuses the option
    rest = list(args[root.end :])
    if LIST_SESSIONS.name in names:
        action = _list_sessions if not rest else None
    elif len(rest) >= 2 and rest[0] == "session" and rest[1] in _COMMANDS:
        action = _COMMANDS[rest[1]](rest[2:])
    else:
        action = None
    return None if action is None else _in_data_dir(data_dir, action)


def _blank(value: str) -> bool:
    """Set, but to nothing but spaces."""
    return bool(value) and not value.strip()


def run(action: Action) -> int:
    """Run a fast action with the app's error rules; its exit code."""
    from opencode.cli.console import setup_logging
    from opencode.cli.errors import run_guarded

    setup_logging()
    return run_guarded(action)


def read_options(
    words: Sequence[str], options: Options, positionals: int
) -> tuple[Given, list[str]] | None:
    """The options and arguments in ``words``, or None for anything not plainly one of
    ``options`` (spelling -> key and kind) followed by exactly ``positionals`` arguments."""
    given: Given = {}
    arguments: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            return None
        if not word.startswith("-") or word == "-":
            arguments.append(word)
            continue
        name, equals, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        spec = options.get(name)
        if spec is None:
            return None
        key, kind = spec
        if kind == FLAG:
            if equals:
                return None
            given[key] = True
            continue
        if equals:
            value = inline
        elif i < len(words) and not words[i].startswith("-"):
            value = words[i]
            i += 1
        else:
            return None
        if kind == MANY:
            many = given.setdefault(key, [])
            assert isinstance(many, list)
            many.append(value)
        else:
            given[key] = value
    return (given, arguments) if len(arguments) == positionals else None


def _count(value: object, low: int, high: int | None = None) -> int | None:
    """``value`` as a whole number in ``low..high``, or None (Typer will say what is wrong)."""
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    if number < low or (high is not None and number > high):
        return None
    return number


def _texts(given: Given, key: str) -> list[str]:
    value = given.get(key, [])
    return value if isinstance(value, list) else []


def _text(given: Given, key: str) -> str | None:
    value = given.get(key)
    return value if isinstance(value, str) else None


# -- the commands ------------------------------------------------------------------------------


def _list_sessions() -> None:
    from opencode.cli.listing import print_listing

    print_listing()


_LIST_OPTIONS: Options = {
    "--limit": ("limit", VALUE),
    "-n": ("limit", VALUE),
    "--offset": ("offset", VALUE),
    "--tag": ("tags", MANY),
    "--search": ("search", VALUE),
    "--here": ("here", FLAG),
    "--archived": ("archived", FLAG),
    "--all": ("all", FLAG),
    "--tree": ("tree", FLAG),
    "--wide": ("wide", FLAG),
    "--json": ("json", FLAG),
    "--quiet": ("quiet", FLAG),
    "-q": ("quiet", FLAG),
}


def _session_list(words: Sequence[str]) -> Action | None:
    read = read_options(words, _LIST_OPTIONS, 0)
    if read is None:
        return None
    given, _ = read
    limit = _count(given["limit"], 0) if "limit" in given else None
    offset = _count(given.get("offset", "0"), 0)
    if ("limit" in given and limit is None) or offset is None:
        return None
    flags = {key: given.get(key) is True for key in ("here", "archived", "all", "json", "quiet")}
    from opencode.cli.listing import list_command, listing_conflict

    conflict = listing_conflict(
        here=flags["here"],
        directory=False,
        json_output=flags["json"],
        quiet=flags["quiet"],
        archived=flags["archived"],
        everything=flags["all"],
    )
    if conflict:
        return None
    output = "json" if flags["json"] else "ids" if flags["quiet"] else "table"

    def action() -> None:
        list_command(
            limit=limit,
            offset=offset,
            tags=_texts(given, "tags"),
            search=_text(given, "search"),
            here=flags["here"],
            archived=flags["archived"],
            everything=flags["all"],
            tree=given.get("tree") is True,
            details=given.get("wide") is True,
            output=output,
        )

    return action


_SEARCH_OPTIONS: Options = {
    "--role": ("roles", MANY),
    "--tag": ("tags", MANY),
    "--here": ("here", FLAG),
    "--since": ("since", VALUE),
    "--limit": ("limit", VALUE),
    "-n": ("limit", VALUE),
    "--archived": ("archived", FLAG),
    "--json": ("json", FLAG),
}


def _session_search(words: Sequence[str]) -> Action | None:
    read = read_options(words, _SEARCH_OPTIONS, 1)
    if read is None:
        return None
    given, (query,) = read
    limit = _count(given.get("limit", "20"), 1, 1000)
    roles = _texts(given, "roles")
    if limit is None or any(role not in ROLES for role in roles):
        return None

    archived = given.get("archived") is True
    plain = given.keys() <= {"roles", "limit", "archived"}  # nothing needs the session layer

    def action() -> None:
        from opencode.cli import search_results

        if plain and search_results.run_quick_search(
            query, roles=roles, limit=limit, archived=archived
        ):
            return
        search_results.run_search(
            query,
            roles=roles,
            tags=_texts(given, "tags"),
            here=given.get("here") is True,
            since=_text(given, "since"),
            limit=limit,
            archived=archived,
            json_output=given.get("json") is True,
        )

    return action


_NEW_OPTIONS: Options = {
    "--title": ("title", VALUE),
    "-t": ("title", VALUE),
    "--tag": ("tags", MANY),
    "--model": ("model", VALUE),
    "-m": ("model", VALUE),
}


def _session_new(words: Sequence[str]) -> Action | None:
    read = read_options(words, _NEW_OPTIONS, 0)
    if read is None:
        return None
    given, _ = read

    def action() -> None:
        from opencode.cli.actions import create_session

        create_session(
            title=_text(given, "title") or "",
            tags=_texts(given, "tags"),
            model=_text(given, "model"),
        )

    return action


_COMMANDS: dict[str, Callable[[Sequence[str]], Action | None]] = {
    "list": _session_list,
    "search": _session_search,
    "new": _session_new,
}


def _in_data_dir(data_dir: str | None, action: Action) -> Action:
    """``action`` run after ``--data-dir`` (or ``$OPENCODE_DATA_DIR``) is checked and set."""

    def run_there() -> None:
        from opencode.cli.datadir import use_data_dir

        use_data_dir(data_dir)  # the same checks as the app's --data-dir
        action()

    return run_there
