"""The data and config folders: computed without platformdirs in the common cases, and
always the folder platformdirs would give."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from opencode import paths


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"XDG_DATA_HOME": "/x/data", "XDG_CONFIG_HOME": "/x/config"},
        {"XDG_DATA_HOME": "/x/data/", "XDG_CONFIG_HOME": "/x/config/"},
        {"XDG_DATA_HOME": "relative/data", "XDG_CONFIG_HOME": "relative/config"},
        {"XDG_DATA_HOME": "", "XDG_CONFIG_HOME": ""},
        {"XDG_DATA_HOME": "  ", "XDG_CONFIG_HOME": " /x/padded "},
        {"XDG_DATA_HOME": "~/data", "XDG_CONFIG_HOME": "~/config"},
        {"HOME": "relative-home"},
        {"HOME": ""},
    ],
    ids=repr,
)
def test_the_folders_are_the_ones_platformdirs_gives(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.delenv("OPENCODE_DATA_DIR")
    monkeypatch.delenv("OPENCODE_CONFIG_DIR")
    for variable in ("XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(variable, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    expected_data = Path(platformdirs.user_data_dir("opencode", appauthor=False))
    expected_config = Path(platformdirs.user_config_dir("opencode", appauthor=False))
    assert (paths.data_dir(), paths.config_dir()) == (expected_data, expected_config)


def test_the_common_case_does_not_import_platformdirs(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys\n"
        "from opencode import paths\n"
        "paths.data_dir(); paths.config_dir()\n"
        "print('platformdirs' in sys.modules, 'tempfile' in sys.modules)\n"
    )
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_the_variables_of_opencode_come_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENCODE_DATA_DIR", "~/od")
    monkeypatch.setenv("OPENCODE_CONFIG_DIR", str(tmp_path / "c"))
    assert paths.data_dir() == Path("~/od").expanduser()
    assert paths.config_dir() == tmp_path / "c"
