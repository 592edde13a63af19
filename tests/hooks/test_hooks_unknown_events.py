"""A pattern no known event can match (a typo like ``session:strat``) is a warning, never "runs".

A pattern is fine when at least one of its alternatives can match a known event; a dead
alternative in an otherwise good list is still worth a warning.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from opencode.hooks import Hook, HookRegistry, load_hooks

WriteHooks = Callable[..., Path]
RunOpencode = Callable[..., subprocess.CompletedProcess[str]]


@pytest.mark.parametrize(
    "pattern",
    [
        "session:start",
        "user:prompt_submit",
        "session:*",
        "*",
        "tool:*",
        "*:start",
        "session:st*",
        "session:[se]*",
        "tool:pre_execute:bash",
        "tool:*:git_*",
        "session:start,session:end",
        "session:strat, session:end",  # one good alternative is enough to run
    ],
)
def test_patterns_that_can_match_a_known_event(pattern: str) -> None:
    assert Hook(pattern, "x").matches_known_event


@pytest.mark.parametrize(
    "pattern",
    [
        "session:strat",
        "Session:Start",
        "session",
        "tool:pre_exec",
        "*:bash_*",  # no tool suffix here: one event glob, which matches nothing
        "session:start:bash",  # only tool events carry a tool name
        "user:*:x",
        "session:strat,tool:oops",
        "nope:*",
    ],
)
def test_patterns_that_match_no_known_event(pattern: str) -> None:
    assert not Hook(pattern, "x").matches_known_event


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_unknown_event_is_loaded_as_not_running_with_a_warning(
    config_dir: Path, write_hooks: WriteHooks, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_hooks(
        config_dir / "hooks.json",
        [
            {"event": "session:start", "command": "good"},
            {"event": "session:strat", "command": "typo"},
        ],
    )
    loaded = load_hooks()
    assert [(c.hook.command, c.matches_known_event, c.will_run) for c in loaded] == [
        ("good", True, True),
        ("typo", False, False),
    ]
    (warning,) = _warnings(caplog)
    assert str(path) in warning
    assert "entry 1 " in warning
    assert "session:strat" in warning
    assert [h.command for h in HookRegistry.from_config().hooks] == ["good"]


def test_a_dead_alternative_is_a_warning_but_the_hook_runs(
    config_dir: Path, write_hooks: WriteHooks, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_hooks(
        config_dir / "hooks.json", [{"event": "session:end,session:strat", "command": "x"}]
    )
    (configured,) = load_hooks()
    assert configured.will_run
    (warning,) = _warnings(caplog)
    assert str(path) in warning
    assert "session:strat" in warning


def test_hooks_list_shows_an_unknown_event_as_not_running(
    config_dir: Path, write_hooks: WriteHooks, run_opencode: RunOpencode
) -> None:
    path = write_hooks(
        config_dir / "hooks.json",
        [
            {"event": "session:strat", "command": "echo typo"},
            {"event": "session:start", "command": "echo ok"},
        ],
    )
    r = run_opencode("hooks", "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[1].split()[:4] == ["global", "no", "(unknown", "event)"]
    assert lines[2].split()[:3] == ["global", "yes", "session:start"]
    (warning,) = r.stderr.splitlines()
    assert warning.startswith("warning: ")
    assert str(path) in warning
    assert "session:strat" in warning

    r = run_opencode("hooks", "list", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(row["event"], row["will_run"], row["known_event"]) for row in rows] == [
        ("session:strat", False, False),
        ("session:start", True, True),
    ]
