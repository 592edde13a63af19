"""The TAB completion scripts for bash, zsh and fish, and installing them for one user.

The scripts call ``opencode`` back at TAB time with ``_OPENCODE_COMPLETE=complete_<shell>``
and read the answer in the formats Typer's completion prints, so ids (answered by
``completion.py``) and everything else (answered by Typer) arrive the same way. They are ours
rather than Typer's because Typer's fish script runs ``opencode`` twice per TAB, its zsh
script neither keeps our most-recent-first order nor completes on the first TAB when
autoloaded from ``fpath``. ``completions/`` holds their output (a test compares them).

Standard library only: ``_OPENCODE_COMPLETE=source_<shell> opencode`` prints a script
without building the Typer app.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from opencode.cli.completion import SHELLS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final

# What the wheel installs under <prefix>/share, and what ``completions/`` holds.
SHIPPED_NAMES: Final = {"bash": "opencode.bash", "zsh": "_opencode", "fish": "opencode.fish"}
RC_MARK: Final = "# TAB completion for opencode (added by 'opencode --install-completion zsh')"

BASH_SCRIPT: Final = """\
# bash TAB completion for opencode (written by 'opencode --show-completion bash').
# bash-completion loads it from its completions folder; or source it from ~/.bashrc.
_opencode_completion() {
    local IFS=$'\\n'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \\
                   COMP_CWORD=$COMP_CWORD \\
                   _OPENCODE_COMPLETE=complete_bash "$1" ) )
    return 0
}

# nosort (bash 4.4+) keeps the most recent session first.
complete -o default -o nosort -F _opencode_completion opencode 2>/dev/null ||
    complete -o default -F _opencode_completion opencode
"""

ZSH_SCRIPT: Final = """\
#compdef opencode
# zsh TAB completion for opencode (written by 'opencode --show-completion zsh').
# Put it in a folder on $fpath (before compinit runs), or source it after compinit.

_opencode_completion() {
  eval "$(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _OPENCODE_COMPLETE=complete_zsh opencode)"
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _opencode_completion "$@"  # autoloaded from $fpath: this is already a TAB press
else
  compdef _opencode_completion opencode
fi
"""

# The condition asks opencode once and keeps the answer for --arguments; when there is none,
# the condition fails and fish completes file names (also after --option=) as usual.
FISH_SCRIPT: Final = """\
# fish TAB completion for opencode (written by 'opencode --show-completion fish').
function __opencode_complete_ask --description 'Ask opencode for TAB candidates, once per TAB'
    set -g __opencode_candidates (env _OPENCODE_COMPLETE=complete_fish \\
        _TYPER_COMPLETE_FISH_ACTION=get-args _TYPER_COMPLETE_ARGS=(commandline -cp) \\
        opencode | string match -v '')
    set -q __opencode_candidates[1]
end

complete --command opencode --no-files --keep-order \\
    --condition __opencode_complete_ask --arguments '$__opencode_candidates'
"""

_SCRIPTS: Final = {"bash": BASH_SCRIPT, "zsh": ZSH_SCRIPT, "fish": FISH_SCRIPT}


def completion_script(shell: str) -> str:
    """The completion script for ``shell`` (one of ``SHELLS``)."""
    return _SCRIPTS[shell]


def pick_shell(named: str, env: Mapping[str, str] | None = None) -> str:
    """``named`` if it is a shell we complete in; without a name, the one in ``$SHELL``.

    Raises ValueError with a message for the user otherwise.
    """
    if named:
        if named not in SHELLS:
            raise ValueError(f"{named!r} is not one of {', '.join(SHELLS)}")
        return named
    login_shell = os.path.basename((env if env is not None else os.environ).get("SHELL", ""))
    if login_shell not in SHELLS:
        raise ValueError(f"cannot tell the shell from $SHELL; name it: {' | '.join(SHELLS)}")
    return login_shell


# -- where a user's completions go ------------------------------------------------------------


def _base(env: Mapping[str, str], variable: str, default: str) -> Path:
    """An XDG base folder: ``$variable`` when absolute (as the spec asks), else ``~/default``."""
    value = env.get(variable, "")
    return Path(value) if os.path.isabs(value) else Path(env.get("HOME", "~"), default)


def user_script_path(shell: str, env: Mapping[str, str] | None = None) -> Path:
    """Where each shell looks for a user's completion of ``opencode``, without an rc line
    for bash (bash-completion's user folder) and fish; zsh needs the folder on ``$fpath``."""
    env = os.environ if env is None else env
    if shell == "bash":
        override = env.get("BASH_COMPLETION_USER_DIR", "")
        folder = Path(override) if os.path.isabs(override) else None
        if folder is None:
            folder = _base(env, "XDG_DATA_HOME", ".local/share") / "bash-completion"
        return folder / "completions" / "opencode"
    if shell == "zsh":
        return _base(env, "XDG_DATA_HOME", ".local/share") / "zsh" / "site-functions" / "_opencode"
    return _base(env, "XDG_CONFIG_HOME", ".config") / "fish" / "completions" / "opencode.fish"


def zshrc_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    zdotdir = env.get("ZDOTDIR", "")
    return Path(zdotdir if os.path.isabs(zdotdir) else env.get("HOME", "~"), ".zshrc")


def zshrc_line(folder: Path) -> str:
    """Puts ``folder`` on ``$fpath``; when compinit has already run (the usual case at the
    end of .zshrc), it also registers the function, which compinit would otherwise do."""
    quoted = shlex.quote(str(folder))
    return (
        f"fpath=({quoted} $fpath); (( $+functions[compdef] )) && "
        "{ autoload -Uz _opencode; compdef _opencode opencode; }"
    )


def append_once(rc: Path, line: str, mark: str) -> bool:
    """Append ``mark`` and ``line`` to ``rc`` unless ``line`` is already there.

    The file is only ever appended to, never rewritten; True when it was changed.
    """
    try:
        existing = rc.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        existing = ""
    if line in existing.splitlines():
        return False
    separator = "" if not existing or existing.endswith("\n") else "\n"
    with rc.open("a", encoding="utf-8") as stream:
        stream.write(f"{separator}{mark}\n{line}\n")
    return True


def _write_script(path: Path, text: str) -> str:
    """Write ``text`` at ``path`` (all or nothing); says whether it was new or replaced."""
    from opencode.fsutil import atomic_write

    try:
        before: str | None = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        before = None
    if before == text:
        return "already up to date"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"))
    os.chmod(path, 0o644)
    return "written" if before is None else "replaced"


def install(shell: str, env: Mapping[str, str] | None = None) -> list[str]:
    """Install the ``shell`` script for this user; the lines say what was done."""
    path = user_script_path(shell, env)
    done = _write_script(path, completion_script(shell))
    report = [f"{shell} completion {done}: {path}"]
    if shell == "bash":
        report += [
            "bash-completion loads it in new shells. Without bash-completion, "
            "add this line to ~/.bashrc:",
            f"  source {shlex.quote(str(path))}",
        ]
    elif shell == "zsh":
        rc = zshrc_path(env)
        line = zshrc_line(path.parent)
        if append_once(rc, line, RC_MARK):
            report.append(f"added to {rc}: {line}")
        else:
            report.append(f"{rc} already has the line that loads it")
        report.append("Open a new shell (or run 'exec zsh') to use it.")
        if "compinit" not in rc.read_text(encoding="utf-8", errors="replace"):
            report.append(
                "zsh completes only with its completion system on; if yours is off, add "
                f"'autoload -Uz compinit && compinit' to {rc}."
            )
    else:
        report.append("fish loads it at the next TAB.")
    return report
