"""Loading hooks.json files: global and project, discovery, and never raising on bad input."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from opencode.hooks import find_project_hooks_file, global_hooks_file, load_hooks, trust_project

WriteHooks = Callable[..., Path]


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_no_files_no_hooks(caplog: pytest.LogCaptureFixture) -> None:
    assert load_hooks() == []
    assert _warnings(caplog) == []


def test_global_hooks_are_loaded_with_every_field(
    config_dir: Path, write_hooks: WriteHooks
) -> None:
    assert global_hooks_file() == config_dir / "hooks.json"
    path = write_hooks(
        config_dir / "hooks.json",
        [
            {
                "event": "session:start",
                "command": "echo start",
                "timeout": 5,
                "enabled": True,
                "description": "greet",
                "env": {"GREETING": "hi"},
                "working_dir": "/tmp",
            },
            {"event": "session:end", "command": "echo end", "enabled": False},
        ],
    )
    loaded = load_hooks()
    assert [(c.source, c.file, c.index, c.trusted, c.will_run) for c in loaded] == [
        ("global", path, 0, True, True),
        ("global", path, 1, True, False),
    ]
    hook = loaded[0].hook
    assert (hook.event_pattern, hook.command, hook.timeout) == ("session:start", "echo start", 5.0)
    assert (hook.description, hook.env, hook.working_dir) == ("greet", {"GREETING": "hi"}, "/tmp")
    assert loaded[1].hook.enabled is False


def test_invalid_entries_are_skipped_with_a_warning_naming_file_and_index(
    config_dir: Path, write_hooks: WriteHooks, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_hooks(
        config_dir / "hooks.json",
        [
            {"event": "session:start", "command": "good-1"},
            {"command": "no event"},
            "not an object",
            {"event": "session:start", "command": "x", "timeout": -1},
            {"event": "session:start", "command": "x", "env": ["A"]},
            {"event": "session:start", "command": "good-2"},
        ],
    )
    loaded = load_hooks()
    assert [(c.index, c.hook.command) for c in loaded] == [(0, "good-1"), (5, "good-2")]
    warnings = _warnings(caplog)
    assert len(warnings) == 4
    for index, message in zip((1, 2, 3, 4), warnings, strict=True):
        assert str(path) in message
        assert f"entry {index} " in message


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "",
        "[]",
        '{"hooks": {"event": "session:start"}}',
        '{"other": []}',
        "\xff",
        "[" * 100_000 + "]" * 100_000,
        '{"hooks": [' + '{"a":' * 100_000 + "1" + "}" * 100_000 + "]}",
    ],
    ids=["bad-json", "empty", "list", "hooks-object", "no-hooks", "latin-1", "deep", "deep-entry"],
)
def test_unparseable_file_is_skipped_with_a_warning(
    content: str, config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config_dir.mkdir(parents=True)
    path = config_dir / "hooks.json"
    path.write_bytes(content.encode("latin-1"))
    assert load_hooks() == []
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert str(path) in warnings[0]


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_not_a_file_is_skipped_with_a_warning(
    kind: str, config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = config_dir / "hooks.json"
    if kind == "folder":
        path.mkdir(parents=True)
    else:
        config_dir.mkdir(parents=True)
        os.mkfifo(path)  # reading it must not wait for a writer that never comes
    assert load_hooks() == []
    (warning,) = _warnings(caplog)
    assert str(path) in warning
    assert "not a regular file" in warning


def test_project_hooks_come_after_global_ones(
    config_dir: Path, project: Path, write_hooks: WriteHooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_hooks(config_dir / "hooks.json", [{"event": "*", "command": "global"}])
    project_file = write_hooks(
        project / ".opencode" / "hooks.json", [{"event": "*", "command": "project"}]
    )
    monkeypatch.chdir(project)
    trust_project(project)
    loaded = load_hooks()
    assert [(c.source, c.hook.command, c.will_run) for c in loaded] == [
        ("global", "global", True),
        ("project", "project", True),
    ]
    assert loaded[1].file == project_file


def test_project_relative_working_dir_is_relative_to_the_project(
    project: Path, write_hooks: WriteHooks
) -> None:
    write_hooks(
        project / ".opencode" / "hooks.json",
        [{"event": "*", "command": "x", "working_dir": "scripts"}],
    )
    (hook,) = load_hooks(project)
    assert hook.hook.working_dir == str(project.resolve() / "scripts")


def test_project_discovery_walks_up_from_a_subfolder(
    project: Path, write_hooks: WriteHooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks_file = write_hooks(project / ".opencode" / "hooks.json", [])
    sub = project / "src" / "pkg"
    sub.mkdir(parents=True)
    assert find_project_hooks_file(sub) == hooks_file.resolve()
    monkeypatch.chdir(sub)
    write_hooks(hooks_file, [{"event": "*", "command": "x"}])
    assert [c.source for c in load_hooks()] == ["project"]


def test_nearest_project_file_wins(project: Path, write_hooks: WriteHooks) -> None:
    write_hooks(project / ".opencode" / "hooks.json", [])
    inner = write_hooks(project / "sub" / ".opencode" / "hooks.json", [])
    assert find_project_hooks_file(project / "sub") == inner.resolve()


def test_discovery_includes_home_but_stops_before_its_parent(
    write_hooks: WriteHooks, work_dir: Path
) -> None:
    home = Path(os.environ["HOME"])
    outside = write_hooks(home.parent / ".opencode" / "hooks.json", [])
    assert find_project_hooks_file(work_dir) is None
    assert find_project_hooks_file(home.parent) is None
    in_home = write_hooks(home / ".opencode" / "hooks.json", [])
    assert find_project_hooks_file(work_dir) == in_home.resolve()
    assert outside.exists()


def test_discovery_outside_home_never_reaches_the_root(
    tmp_path: Path, write_hooks: WriteHooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    # HOME elsewhere: a folder that is not under HOME is searched, but not HOME's ancestors
    monkeypatch.setenv("HOME", str(tmp_path / "a" / "b" / "home"))
    project_file = write_hooks(tmp_path / "x" / "proj" / ".opencode" / "hooks.json", [])
    (tmp_path / "x" / "proj" / "src").mkdir()
    assert find_project_hooks_file(tmp_path / "x" / "proj" / "src") == project_file.resolve()
    write_hooks(tmp_path / "a" / ".opencode" / "hooks.json", [])
    assert find_project_hooks_file(tmp_path / "a" / "c") is None
