"""Sync costs nothing to commands that do not sync: boto3 is imported only by a sync."""

from __future__ import annotations

import subprocess
import sys

from sync_helpers import Machine

HEAVY = ("boto3", "botocore", "s3transfer", "opencode.sync")


def imported_modules(code: str, machine: Machine) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=machine.env(), check=False
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_entry_point_and_the_fast_listing_never_import_boto3(
    machines: tuple[Machine, Machine],
) -> None:
    a, _ = machines
    a.new_session("Listed", "hello")
    show = "import sys; print(' '.join(sorted(sys.modules)))"
    entry = imported_modules(f"import opencode.cli.entry; {show}", a)
    listing = imported_modules(
        "import sys\n"
        "from opencode.cli import entry\n"
        "try:\n"
        "    entry.main(['--list-sessions'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"{show}",
        a,
    )
    for modules in (entry, listing):
        assert not {m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)}


def imported_by(machine: Machine, *args: str, **env: str) -> tuple[str, set[str]]:
    """stdout of ``python -m opencode ARGS`` and every module it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "opencode", *args],
        capture_output=True,
        text=True,
        env=machine.env(**env),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    return done.stdout, {line.rsplit("|", 1)[-1].strip() for line in lines if "|" in line}


def test_listing_and_completion_processes_never_import_boto3(
    machines: tuple[Machine, Machine],
) -> None:
    a, _ = machines
    session = a.new_session("Listed", "hello")
    a.run("remote", "add", "other", "s3://other-bucket")  # a configured remote changes nothing
    listed, imported = imported_by(a, "--list-sessions")
    assert "Listed" in listed
    completed, by_completion = imported_by(
        a,
        _OPENCODE_COMPLETE="complete_bash",
        COMP_WORDS="opencode session show ",
        COMP_CWORD="3",
    )
    assert session.id in completed
    for modules in (imported, by_completion):
        assert not {m for m in modules if m.split(".")[0] in ("boto3", "botocore")}
        assert not {m for m in modules if m.startswith("opencode.sync")}


def test_the_commands_load_lazily_and_have_help(machines: tuple[Machine, Machine]) -> None:
    a, _ = machines
    r = a.run("--help")
    assert "remote" in r.stdout and "sync" in r.stdout
    for args in (("sync", "--help"), ("remote", "--help"), ("session", "share", "--help")):
        r = a.run(*args)
        assert r.returncode == 0 and "Usage:" in r.stdout, r.stderr


def test_the_sync_library_imports_no_terminal_code_and_no_boto3_until_it_connects() -> None:
    code = (
        "import sys\n"
        "import opencode.sync.engine, opencode.sync.share, opencode.sync.remotes\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('typer', 'rich', 'click', 'boto3', 'botocore'))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
