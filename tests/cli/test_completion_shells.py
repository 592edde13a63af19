"""zsh and fish, driven for real: the shipped scripts complete the ids of sessions made by
``opencode session new``, most recent first, with titles, never an archived one.

zsh runs its completion system inside ``zpty`` with ``compadd`` wrapped to print what it is
given; fish answers ``complete -C``. Both shells must be installed (``.ci/run`` installs
them): a missing shell fails these tests rather than skipping them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import REPO, opencode_command

COMPLETIONS = REPO / "completions"
# Oldest first. Titles reach zsh inside code it evaluates: quotes and $(...) must stay text.
TITLES = (
    "it's `touch pwned` $(touch pwned)",
    "Refactoring API client",
    'Fix: "auth" | $HOME',
    "Archived one",
    "Newest work",
)


@dataclass(frozen=True)
class Sessions:
    env: dict[str, str]  # a whole environment: HOME, XDG and opencode folders, PATH
    ids: dict[str, str]  # title -> id
    folder: Path

    def offered(self, prefix: str) -> list[tuple[str, str]]:
        """``(id, title)`` completion should offer for ``prefix``: newest first, no archived."""
        newest_first = [t for t in reversed(TITLES) if t != "Archived one"]
        return [(self.ids[t], t) for t in newest_first if self.ids[t].startswith(prefix)]


def _isolated_env(root: Path) -> dict[str, str]:
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCODE_", "XDG_"))}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        OPENCODE_DATA_DIR=str(root / "data"),
        OPENCODE_CONFIG_DIR=str(root / "config"),
        NO_COLOR="1",
        PATH=f"{Path(opencode_command()[0]).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Sessions:
    """Four sessions made one after the other by ``opencode session new``; one archived."""
    root = tmp_path_factory.mktemp("shells")
    env = _isolated_env(root)
    ids = {}
    for title in TITLES:
        made = subprocess.run(
            [*opencode_command(), "session", "new", "--title", title],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        ids[title] = made.stdout.strip()
    archive = (
        "import sys, datetime\n"
        "from opencode.sessions import SessionManager, SessionStorage\n"
        "manager = SessionManager(storage=SessionStorage())\n"
        "manager.resume(sys.argv[1])\n"
        "manager.set_metadata('archived_at', datetime.datetime.now(datetime.UTC).isoformat())\n"
        "manager.close()\n"
    )
    subprocess.run(
        [sys.executable, "-c", archive, ids["Archived one"]], env=env, check=True, timeout=60
    )
    work = root / "work"
    work.mkdir()
    (work / "zz-notes.txt").write_text("")
    return Sessions(env, ids, work)


def _shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; .ci/run installs it (apt-get install -y {name})")
    return found


# -- zsh --------------------------------------------------------------------------------------

# Runs an interactive zsh in a pseudo-terminal, sets up completion ($1), types $2 and TAB, and
# prints each match compadd accepts as "order|IPREFIX|match|description" (order: "unsorted"
# when the group keeps the order given). compadd is wrapped, so zsh's own matching applies.
ZSH_DRIVER = r"""
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PROMPT=''; $1"
zpty -w z 'compadd() {
  local -a __hits __dscr
  if (( ${@[(I)-O]} + ${@[(I)-A]} + ${@[(I)-D]} )); then builtin compadd "$@"; return; fi
  if (( ${@[(I)-d]} )); then local __n=${@[${@[(i)-d]}+1]}; __dscr=( "${(@P)__n}" ); fi
  builtin compadd -A __hits -D __dscr "$@"
  local __order=sorted
  (( ${@[(I)-V*]} )) && __order=unsorted
  [[ " $* " == *" -o "*nosort* ]] && __order=unsorted
  local i; for i in {1..$#__hits}; do
    print -r -- "MA""TCH|$__order|$IPREFIX|$__hits[$i]|$__dscr[$i]"
  done
  builtin compadd "$@"
}'
zpty -w z 'comppostfuncs=( __done ); __done() { print -r -- "DO""NE"; exit }'
zpty -w z "bindkey '^I' complete-word"
zpty -w -n z "$2"$'\t'
local line
while zpty -r z line; do
  line=${line//$'\r'/}
  line=${line//$'\n'/}
  [[ $line == *DONE* ]] && break
  [[ $line == *MATCH\|* ]] && print -r -- "${line#*MATCH|}"
done
zpty -d z
"""
FPATH_SETUP = f"fpath=({COMPLETIONS} $fpath); autoload -Uz compinit && compinit -u -D"
SOURCE_SETUP = f"autoload -Uz compinit && compinit -u -D; source {COMPLETIONS / '_opencode'}"


@dataclass(frozen=True)
class ZshMatch:
    order: str
    iprefix: str
    value: str
    description: str


@pytest.fixture
def zsh(sessions: Sessions, tmp_path: Path) -> Iterator[ZshComplete]:
    binary = _shell("zsh")
    driver = tmp_path / "driver.zsh"
    driver.write_text(ZSH_DRIVER)

    def complete(line: str, setup: str = FPATH_SETUP) -> list[ZshMatch]:
        result = subprocess.run(
            [binary, "-f", str(driver), setup, line],
            env=sessions.env,
            cwd=sessions.folder,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return [ZshMatch(*row.split("|", 3)) for row in result.stdout.splitlines() if row]

    yield complete


ZshComplete = Callable[..., list[ZshMatch]]


def _ids_and_titles(matches: list[ZshMatch]) -> list[tuple[str, str]]:
    """The matches, with the title _describe put after the id and " -- "."""
    pairs = []
    for match in matches:
        shown, _, title = match.description.partition(" -- ")
        assert shown.rstrip() == match.value
        pairs.append((match.value, title))
    return pairs


def test_zsh_completes_session_show_ids_newest_first_with_titles(
    zsh: ZshComplete, sessions: Sessions
) -> None:
    matches = zsh("opencode session show ")
    assert _ids_and_titles(matches) == sessions.offered("")
    assert {m.order for m in matches} == {"unsorted"}  # zsh keeps our order
    assert not (sessions.folder / "pwned").exists()
    prefix = sessions.ids["Newest work"][:2]
    assert _ids_and_titles(zsh(f"opencode session show {prefix}")) == sessions.offered(prefix)


def test_zsh_completes_resume(zsh: ZshComplete, sessions: Sessions) -> None:
    prefix = sessions.ids["Refactoring API client"][:1]
    assert _ids_and_titles(zsh(f"opencode --resume {prefix}")) == sessions.offered(prefix)
    assert _ids_and_titles(zsh(f"opencode -r {prefix}")) == sessions.offered(prefix)
    after_equals = zsh(f"opencode --resume={prefix}")
    assert _ids_and_titles(after_equals) == sessions.offered(prefix)
    assert {m.iprefix for m in after_equals} == {"--resume="}


def test_zsh_never_offers_archived_sessions(zsh: ZshComplete, sessions: Sessions) -> None:
    archived = sessions.ids["Archived one"]
    assert archived not in [m.value for m in zsh("opencode session show ")]
    assert zsh(f"opencode session show {archived}") == []


def test_zsh_script_works_sourced_and_completes_commands(
    zsh: ZshComplete, sessions: Sessions
) -> None:
    sourced = zsh("opencode session show ", setup=SOURCE_SETUP)
    assert _ids_and_titles(sourced) == sessions.offered("")
    assert [m.value for m in zsh("opencode sess")] == ["session"]
    assert [m.value for m in zsh("opencode session list --sort t")] == ["title", "tokens"]
    assert [m.value for m in zsh("opencode session show zz")] == ["zz-notes.txt"]


# -- fish -------------------------------------------------------------------------------------


@pytest.fixture
def fish(sessions: Sessions, tmp_path: Path) -> Iterator[FishComplete]:
    """``fish("opencode session show 3f")``: the candidates ``complete -C`` gives, and how
    many times ``opencode`` ran to answer."""
    binary = _shell("fish")
    shim_dir = tmp_path / "bin"
    shim_dir.mkdir()
    runs = tmp_path / "runs"
    shim = shim_dir / "opencode"
    shim.write_text(f'#!/bin/sh\necho run >> "{runs}"\nexec {opencode_command()[0]} "$@"\n')
    shim.chmod(0o755)
    env = {**sessions.env, "PATH": f"{shim_dir}{os.pathsep}{sessions.env['PATH']}"}

    def complete(line: str, load: str = "") -> tuple[list[str], int]:
        runs.write_text("")
        load = load or f"set -p fish_complete_path {COMPLETIONS}"  # as fish autoloads it
        result = subprocess.run(
            [binary, "--no-config", "-c", f"{load}; complete -C {quote_fish(line)}"],
            env=env,
            cwd=sessions.folder,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines(), len(runs.read_text().splitlines())

    yield complete


FishComplete = Callable[..., tuple[list[str], int]]


def quote_fish(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _lines(pairs: list[tuple[str, str]], prefix: str = "") -> list[str]:
    return [f"{prefix}{value}\t{title}" for value, title in pairs]


def test_fish_completes_session_show_ids_newest_first_with_titles(
    fish: FishComplete, sessions: Sessions
) -> None:
    lines, runs = fish("opencode session show ")
    assert lines == _lines(sessions.offered(""))
    assert runs == 1  # one opencode per TAB (Typer's script runs it twice)
    prefix = sessions.ids["Newest work"][:2]
    lines, runs = fish(f"opencode session show {prefix}")
    assert lines == _lines(sessions.offered(prefix))
    assert runs == 1


def test_fish_completes_resume(fish: FishComplete, sessions: Sessions) -> None:
    prefix = sessions.ids["Refactoring API client"][:1]
    assert fish(f"opencode --resume {prefix}")[0] == _lines(sessions.offered(prefix))
    assert fish(f"opencode -r {prefix}")[0] == _lines(sessions.offered(prefix))
    assert fish(f"opencode --resume={prefix}")[0] == _lines(
        sessions.offered(prefix), prefix="--resume="
    )


def test_fish_never_offers_archived_sessions(fish: FishComplete, sessions: Sessions) -> None:
    archived = sessions.ids["Archived one"]
    lines, _ = fish("opencode session show ")
    assert not any(line.startswith(archived) for line in lines)


def test_fish_falls_back_to_files_and_completes_commands(fish: FishComplete) -> None:
    lines, runs = fish("opencode session show zz")
    assert lines == ["zz-notes.txt"]
    assert runs == 1
    assert fish("opencode --data-dir=zz")[0] == ["--data-dir=zz-notes.txt"]
    lines, runs = fish("opencode sess")
    assert [line.split("\t")[0] for line in lines] == ["session"]
    assert runs == 1
    lines, _ = fish("opencode session list --sort t")
    assert lines == ["title", "tokens"]


def test_fish_script_works_sourced(fish: FishComplete, sessions: Sessions) -> None:
    lines, runs = fish("opencode session show ", load=f"source {COMPLETIONS / 'opencode.fish'}")
    assert lines == _lines(sessions.offered(""))
    assert runs == 1
