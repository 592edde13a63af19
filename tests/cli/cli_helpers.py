"""Helpers for CLI tests: invoke the app like the console script, build sessions on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from opencode.cli.app import app
from opencode.cli.entry import normalize_argv
from opencode.sessions import Session, SessionIndex, SessionMessage, SessionStorage

REPO = Path(__file__).resolve().parents[2]


class CliRunnerHelper:
    """``cli("session", "list")``: run the app in-process, argv normalised like the entry point."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, **env: str) -> Result:
        return self.runner.invoke(
            app, normalize_argv(list(args)), input=input, env=env or None, prog_name="opencode"
        )


def ago(**delta: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(**delta)


def make_session(
    title: str = "",
    *,
    session_id: str | None = None,
    updated: datetime | None = None,
    messages: Sequence[tuple[str, str]] = (),
    tags: Sequence[str] = (),
    working_dir: str = "/work/project",
    model: str | None = None,
    **fields: Any,
) -> Session:
    """A session written through the library (snapshot + index), with chosen timestamps."""
    when = updated or ago(minutes=1)
    session = Session(
        title=title,
        working_dir=working_dir,
        model=model,
        created_at=when - timedelta(minutes=5),
        updated_at=when,
        tags=list(tags),
        **fields,
    )
    if session_id is not None:
        session.id = session_id
    for role, content in messages:
        session.messages.append(SessionMessage(role=role, content=content, timestamp=when))
    storage = SessionStorage()
    storage.save(session)
    index = SessionIndex(storage)
    try:
        index.add(session)
        index.save_if_dirty()
    finally:
        index.close()
    return session


def sessions_dir() -> Path:
    return Path(os.environ["OPENCODE_DATA_DIR"]) / "sessions"


@dataclass
class Proc:
    returncode: int
    stdout: str
    stderr: str


def opencode_command() -> list[str]:
    """The installed console script, else ``python -m opencode``."""
    beside = Path(sys.executable).with_name("opencode")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("opencode")
    return [found] if found else [sys.executable, "-m", "opencode"]


def run_opencode(
    *args: str, input: str | None = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> Proc:
    """The real ``opencode`` process, with the isolated HOME/XDG/data folders of the test."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        [*opencode_command(), *args],
        input=input,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=60,
        check=False,
    )
    return Proc(result.returncode, result.stdout, result.stderr)


def venv_path_env() -> dict[str, str]:
    """PATH with the console script's folder first, for shells that run ``opencode``."""
    folder = str(Path(opencode_command()[0]).parent)
    return {"PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"}


def modules_loaded_by(argv: Sequence[str], watched: set[str]) -> list[str]:
    """Which of the ``watched`` top-level modules ``opencode ARGV`` loads, run through the
    console script's ``main`` in a fresh interpreter; the command must succeed."""
    code = (
        "import sys, io\n"
        f"sys.argv = ['opencode', *{list(argv)!r}]\n"
        "out = io.StringIO(); real = sys.stdout; sys.stdout = out\n"
        "from opencode.cli.entry import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "sys.stdout = real\n"
        "assert code in (0, None), (code, out.getvalue())\n"
        f"watched = set({sorted(watched)!r})\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & watched)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()
