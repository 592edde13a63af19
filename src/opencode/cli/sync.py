"""``opencode sync [NAME] [ID]...``: two-way sync of the sessions with a remote.

stdout lists what moved, one session a line (or ``--json``); stderr has the warnings, the
summary line, and a progress bar when it is a terminal and the run is long.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Final

import typer

from opencode.cli import console, render
from opencode.cli.console import say, warning
from opencode.cli.groups import Command

if TYPE_CHECKING:
    from opencode.sync.remotes import Remote
    from opencode.sync.report import SyncReport

# A progress bar appears once a run has this much to transfer.
PROGRESS_THRESHOLD: Final = 50

app = typer.Typer(add_completion=False)


@app.command("sync", cls=Command)
def sync_command(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[NAME] [ID]...",
            help="The remote (default: the only one), then sessions to sync (default: all).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would move; change nothing anywhere.")
    ] = False,
    push_only: Annotated[bool, typer.Option("--push-only", help="Only send changes.")] = False,
    pull_only: Annotated[bool, typer.Option("--pull-only", help="Only receive changes.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print what moved as JSON.")] = False,
) -> None:
    """Sync sessions with an S3-compatible remote, both ways, sending only what changed.

    Conflicts never merge silently: a session changed on both sides keeps the local version
    and gets the other as a fork; deletions land in the other machine's trash.
    """
    if push_only and pull_only:
        ctx.fail("--push-only and --pull-only cannot be used together")
    from opencode.sync.engine import SyncOptions, run_sync

    remote, session_ids = _remote_and_ids(targets or [])
    with _progress_bar(enabled=not json_output) as progress:
        options = SyncOptions(
            pull=not push_only,
            push=not pull_only,
            dry_run=dry_run,
            session_ids=tuple(session_ids),
            progress=progress,
        )
        report = run_sync(remote, options)
    for text in report.warnings:
        warning(text)
    if json_output:
        sys.stdout.write(render.dumps_json(report.to_dict()) + "\n")
    else:
        for line in moved_lines(report):
            sys.stdout.write(line + "\n")
    say(summary_line(report))


def _remote_and_ids(targets: list[str]) -> tuple[Remote, list[str]]:
    """``[NAME] [ID]...``: the first word is a remote when one has that name."""
    from opencode.sync.remotes import RemoteStore

    store = RemoteStore()
    if targets and targets[0] in store.names():
        return store.get(targets[0]), targets[1:]
    return store.default(), targets


def moved_lines(report: SyncReport) -> list[str]:
    """``push  update    1a2b3c4d    1.2 kB  Title`` per session that moved."""
    lines = []
    for moved in report.moved:
        size = render.size(moved.bytes) if moved.bytes else "-"
        lines.append(
            f"{moved.direction:<4}  {moved.action:<8}  {render.short_id(moved.session_id)}  "
            f"{size:>9}  {render.title_of(moved.title)}"
        )
    return lines


def summary_line(report: SyncReport) -> str:
    """One line: what moved each way, what was skipped, and the bytes."""
    traffic = report.traffic
    counts = report.counts()
    forks = sum(n for key, n in counts.items() if key.endswith(".fork"))
    trashed = counts.get("pull.trash", 0)
    details = [f"{n} {what}" for n, what in ((forks, "forked"), (trashed, "trashed")) if n]
    pulled = f"{report.pulled} pulled" + (f" ({', '.join(details)})" if details else "")
    parts = [f"{report.pushed} pushed", pulled]
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped")
    moved = (
        f"{render.size(traffic.bytes_up)} up, {render.size(traffic.bytes_down)} down "
        f"in {traffic.requests} requests"
    )
    if report.dry_run:
        return f"Dry run with {report.remote}: would move {', '.join(parts)}; nothing changed"
    return f"Synced with {report.remote}: {', '.join(parts)}; {moved}"


@contextmanager
def _progress_bar(*, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on stderr once the run is long enough (and stderr
    is a terminal); None when there is no terminal to draw on."""
    if not enabled or not _stderr_is_tty():
        yield None
        return
    from rich.progress import Progress, TaskID

    progress = Progress(console=console.err(), transient=True)
    state: dict[str, TaskID] = {}
    lock = threading.Lock()  # called from the transfer threads

    def update(done: int, total: int) -> None:
        if total < PROGRESS_THRESHOLD:
            return
        with lock:
            if "task" not in state:
                progress.start()
                state["task"] = progress.add_task("syncing", total=total)
            progress.update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if "task" in state:
            progress.stop()


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
