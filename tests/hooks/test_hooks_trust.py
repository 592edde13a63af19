"""Project hooks run only once trusted, as trusted: any edit needs trusting again."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from opencode.hooks import (
    CorruptTrustStoreError,
    HookEvent,
    HookRegistry,
    NoProjectHooksError,
    TrustStoreError,
    fire_event_sync,
    is_trusted,
    load_hooks,
    trust_file,
    trust_project,
)

WriteHooks = Callable[..., Path]


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "ran.txt"


@pytest.fixture
def hooks_file(project: Path, write_hooks: WriteHooks, marker: Path) -> Path:
    return write_hooks(
        project / ".opencode" / "hooks.json",
        [{"event": "session:start", "command": f"echo project >> '{marker}'"}],
    )


def _notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "not trusted" in r.getMessage()]


def test_untrusted_project_hooks_do_not_run(
    hooks_file: Path, project: Path, marker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    assert is_trusted(hooks_file) is False
    (configured,) = load_hooks()
    assert (configured.source, configured.trusted, configured.will_run) == (
        "project",
        False,
        False,
    )
    assert HookRegistry.get_instance().hooks == []
    assert fire_event_sync(HookEvent.session_start("s")) == []
    assert not marker.exists()


def test_trusted_project_hooks_run(
    hooks_file: Path, project: Path, marker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = trust_project(project)
    assert record.project_dir == project.resolve()
    assert record.hooks_file == hooks_file.resolve()
    assert record.sha256 == hashlib.sha256(hooks_file.read_bytes()).hexdigest()
    assert is_trusted(hooks_file) is True
    monkeypatch.chdir(project)
    (result,) = fire_event_sync(HookEvent.session_start("s"))
    assert result.success
    assert marker.read_text() == "project\n"


def test_a_changed_file_needs_trusting_again(
    hooks_file: Path,
    project: Path,
    marker: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    trust_project(project)
    monkeypatch.chdir(project)
    # someone edits the trusted file (e.g. a git pull)
    hooks_file.write_text(
        json.dumps({"hooks": [{"event": "*", "command": f"echo evil >> '{marker}'"}]})
    )
    assert is_trusted(hooks_file) is False
    assert [c.will_run for c in load_hooks()] == [False]
    assert fire_event_sync(HookEvent.session_start("s")) == []
    assert not marker.exists()
    assert len(_notices(caplog)) == 1

    trust_project(project)
    HookRegistry.reset_instance()
    fire_event_sync(HookEvent.session_start("s"))
    assert marker.read_text() == "evil\n"


def test_trust_from_a_subfolder_trusts_the_project(hooks_file: Path, project: Path) -> None:
    sub = project / "src"
    sub.mkdir()
    assert trust_project(sub).hooks_file == hooks_file.resolve()
    assert is_trusted(hooks_file)


def test_trusting_one_project_does_not_trust_another(
    hooks_file: Path, work_dir: Path, write_hooks: WriteHooks
) -> None:
    other = write_hooks(work_dir / "other" / ".opencode" / "hooks.json", [])
    other.write_bytes(hooks_file.read_bytes())  # same content, different project
    trust_project(hooks_file.parent.parent)
    assert is_trusted(hooks_file)
    assert not is_trusted(other)


def test_trust_store_format_and_permissions(hooks_file: Path, project: Path) -> None:
    record = trust_project(project)
    path = trust_file()
    assert path == Path(os.environ["OPENCODE_CONFIG_DIR"]) / "trusted-projects.json"
    store = json.loads(path.read_text())
    assert store["version"] == 1
    entry = store["projects"][str(project.resolve())]
    assert entry["sha256"] == record.sha256
    assert entry["hooks_file"] == str(hooks_file.resolve())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_store_from_a_newer_version_is_not_overwritten(
    hooks_file: Path,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = trust_file()
    path.parent.mkdir(parents=True)
    newer = json.dumps({"version": 2, "projects": {}})
    path.write_text(newer)
    with pytest.raises(TrustStoreError, match="newer"):
        trust_project(project)
    assert path.read_text() == newer
    # loading does not raise: the project is simply untrusted, with a warning
    monkeypatch.chdir(project)
    assert [c.trusted for c in load_hooks()] == [False]
    assert any("newer" in r.getMessage() for r in caplog.records)


def test_corrupt_store_is_moved_aside_and_replaced(
    hooks_file: Path, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = trust_file()
    path.parent.mkdir(parents=True)
    path.write_text("{oops")
    with pytest.raises(CorruptTrustStoreError):
        is_trusted(hooks_file)
    trust_project(project)
    assert is_trusted(hooks_file)
    (aside,) = path.parent.glob("trusted-projects.json.corrupt-*")
    assert aside.read_text() == "{oops"
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert str(path) in warning
    assert str(aside) in warning


def test_trust_without_a_hooks_file_fails(project: Path) -> None:
    with pytest.raises(NoProjectHooksError, match=str(project)):
        trust_project(project)
    assert not trust_file().exists()


def test_untrusted_notice_is_logged_once_per_process(
    hooks_file: Path,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(project)
    caplog.set_level(logging.WARNING)
    HookRegistry.get_instance()
    HookRegistry.reset_instance()
    HookRegistry.get_instance()
    load_hooks()
    (notice,) = _notices(caplog)
    assert str(hooks_file.resolve()) in notice
    assert "opencode hooks trust" in notice


def test_listing_can_skip_the_notice(
    hooks_file: Path, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_hooks(project, notify_untrusted=False)
    assert _notices(caplog) == []
