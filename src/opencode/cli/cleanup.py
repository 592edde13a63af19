"""Removing sessions: ``session delete``, ``session cleanup`` and ``session trash``.

Deleting moves sessions to the trash unless ``--permanent``; the trash is emptied only on
request (``trash empty`` or ``cleanup --empty-trash-older-than DAYS``), never silently.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Final

import typer

from opencode.cli import console, exit_codes, listing, render
from opencode.cli.console import out, say, warning
from opencode.cli.errors import CommandError, report
from opencode.cli.groups import Command
from opencode.cli.options import (
    JsonFlag,
    complete_session_id,
    confirm,
    open_manager,
    resolve_session_id,
)
from opencode.errors import OpencodeError

if TYPE_CHECKING:
    from opencode.sessions import SessionManager, SessionSummary
    from opencode.sessions.cleanup import CleanupPlan, CleanupResult
    from opencode.sessions.trash import TrashEntry

trash_app = typer.Typer(
    name="trash",
    help="List, restore and empty deleted sessions.",
    no_args_is_help=True,
)

YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _describe(summary: SessionSummary | None, session_id: str) -> str:
    if summary is None:
        return f"{render.short_id(session_id)}  (leftover files only)"
    return (
        f"{render.short_id(session_id)}  {render.title_of(summary.title)}  "
        f"({_plural(summary.message_count, 'message')}, "
        f"updated {render.ago(summary.last_active)})"
    )


_DONE: Final = {
    "deleted": "Deleted {line}",
    "trashed": "Moved to the trash: {line}",
    "leftovers": "Removed the leftover files of {line}",
    "missing": "Already gone: {line}",
}


def _plural(count: int, noun: str = "session") -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def delete_command(
    session_ids: Annotated[
        list[str],
        typer.Argument(
            metavar="ID...",
            help="Sessions to delete: ids, unique id prefixes or exact titles.",
            autocompletion=complete_session_id,
        ),
    ],
    permanent: Annotated[
        bool, typer.Option("--permanent", help="Delete for good instead of moving to the trash.")
    ] = False,
    yes: YesFlag = False,
) -> None:
    """Move sessions to the trash (or delete them for good); asks first on a terminal."""
    manager = open_manager()
    ids = list(dict.fromkeys(resolve_session_id(manager, text) for text in session_ids))
    described = [_describe(manager.index.get(sid), sid) for sid in ids]
    count = _plural(len(ids))
    verb = "Delete" if permanent else "Move to the trash"
    if not yes and console.stdin_is_tty():
        say(f"About to {verb.lower()} {count}:")
        for line in described:
            say(f"  {line}")
    confirm(f"{verb} {count}?", yes=yes, what=count)
    failed = 0
    trashed = False
    for sid, line in zip(ids, described, strict=True):
        try:
            done = _remove(manager, sid, permanent=permanent)
        except OpencodeError as exc:
            failed += 1
            report(exc)
            continue
        say(_DONE[done].format(line=line))
        trashed = trashed or done == "trashed"
    if trashed:
        say("Restore with 'opencode session trash restore ID'.")
    if failed:
        raise typer.Exit(exit_codes.ERROR)


def _remove(manager: SessionManager, session_id: str, *, permanent: bool) -> str:
    """``"deleted"``, ``"trashed"``, ``"leftovers"`` (removed for good) or ``"missing"``."""
    if permanent:
        return "deleted" if manager.delete(session_id) else "missing"
    return manager.trash(session_id)


def cleanup_command(
    max_age_days: Annotated[
        float,
        typer.Option(
            "--max-age-days",
            min=0,
            help="Move sessions not used for this long to the trash (at most 100 years).",
        ),
    ] = 30,
    keep: Annotated[
        int, typer.Option("--keep", min=0, help="Always keep this many of the most recent.")
    ] = 10,
    empty_trash_older_than: Annotated[
        float | None,
        typer.Option(
            "--empty-trash-older-than",
            metavar="DAYS",
            min=0,
            help="Also delete for good what has been in the trash for longer than DAYS.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would be removed.")
    ] = False,
    yes: YesFlag = False,
) -> None:
    """Move old sessions to the trash, keeping the most recent and pinned ones."""
    from opencode.sessions import cleanup as cleaning

    manager = open_manager()
    storage, index = manager.storage, manager.index
    plan = cleaning.plan_cleanup(storage, index, max_age_days, keep)
    trash_due = _trash_due(manager, empty_trash_older_than)
    if not plan.items and not plan.orphans and not trash_due:
        say(
            f"Nothing to clean up: no session beyond the newest {keep} "
            f"is older than {max_age_days:g} days."
        )
        return
    count = _plural(len(plan.items))
    if not dry_run and not yes and not console.stdin_is_tty():
        raise CommandError(
            f"refusing to clean up {count} without confirmation",
            hint="re-run with --yes to go ahead, or with --dry-run to see what would go",
        )
    _show_plan(plan, trash_due)
    if dry_run:
        say(f"Dry run: would move {count} to the trash ({render.size(plan.total_bytes)}).")
        return
    if plan.items or plan.orphans:
        confirm(f"Move {count} to the trash?", yes=yes, what=count)
    else:
        confirm(f"Delete {_plural(len(trash_due))} from the trash for good?", yes=yes, what=count)
    result = cleaning.carry_out(storage, index, plan, to_trash=True)
    if plan.items or plan.orphans:
        _report_cleanup(result, count)
    if trash_due:  # only what was due before this run: never what it just moved in
        emptied = manager.trash_bin.discard_all(trash_due)
        say(f"Deleted {_plural(len(emptied))} from the trash for good.")
    if result.failed:
        raise CommandError(f"could not clean up {len(result.failed)} of {count}")


def _trash_due(manager: SessionManager, days: float | None) -> list[TrashEntry]:
    return [] if days is None else manager.trash_bin.due(days)


def _show_plan(plan: CleanupPlan, trash_due: list[TrashEntry]) -> None:
    rows = [(item.summary, item.size_bytes) for item in plan.items]
    if rows:
        out().print(listing.cleanup_table(rows))
        total = plan.total_bytes
        out().print(f"{_plural(len(rows))}, {render.size(total)} ({total:,} bytes)")
    if plan.orphans:
        say(f"Leftover files of {_plural(len(plan.orphans))} will be removed too.")
    if trash_due:
        say(f"{_plural(len(trash_due))} in the trash will be deleted for good.")


def _report_cleanup(result: CleanupResult, count: str) -> None:
    for item in result.changed:
        say(f"Kept {render.short_id(item.summary.id)}: it changed after the list above was made")
    for item, pid in result.held:
        owner = f" (pid {pid})" if pid is not None else ""
        warning(f"kept {render.short_id(item.summary.id)}: it is open in another process{owner}")
    for item, exc in result.failed:
        warning(f"could not clean up {render.short_id(item.summary.id)}: {exc}")
    freed = result.freed_bytes
    say(
        f"Moved {len(result.deleted)} of {count} to the trash ({render.size(freed)}); "
        "restore with 'opencode session trash restore ID'."
    )


# -- session trash ----------------------------------------------------------------------------


@trash_app.command("list", cls=Command)
def trash_list(json_output: JsonFlag = False) -> None:
    """List the sessions in the trash, most recently deleted first."""
    entries = open_manager().trash_bin.entries()
    if json_output:
        sys.stdout.write(render.dumps_json([e.to_dict() for e in entries]) + "\n")
        return
    if not entries:
        say("The trash is empty.")
        return
    out().print(listing.trash_table(entries))


def _complete_trash_id(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    try:
        entries = open_manager().trash_bin.entries()
    except Exception:  # completion must never print a traceback into the user's shell
        return []
    return [(e.id, render.title_of(e.title)) for e in entries if e.id.startswith(incomplete)]


@trash_app.command("restore", cls=Command)
def trash_restore(
    session_ids: Annotated[
        list[str],
        typer.Argument(
            metavar="ID...",
            help="Sessions to restore: ids or unique id prefixes of trashed sessions.",
            autocompletion=_complete_trash_id,
        ),
    ],
) -> None:
    """Bring sessions back from the trash under their ids."""
    from opencode.sessions.lookup import resolve_trashed_id

    manager = open_manager()
    failed = 0
    for text in session_ids:
        try:
            session = manager.restore(resolve_trashed_id(manager.trash_bin, text))
        except OpencodeError as exc:
            failed += 1
            report(exc)
            continue
        say(f"Restored {render.short_id(session.id)}  {render.title_of(session.title)}")
    if failed:
        raise typer.Exit(exit_codes.ERROR)


@trash_app.command("empty", cls=Command)
def trash_empty(
    older_than: Annotated[
        float | None,
        typer.Option(
            "--older-than",
            metavar="DAYS",
            min=0,
            help="Only sessions trashed more than DAYS ago.",
            show_default=False,
        ),
    ] = None,
    yes: YesFlag = False,
) -> None:
    """Delete sessions in the trash for good (asks first on a terminal)."""
    trash = open_manager().trash_bin
    due = trash.due(older_than)
    if not due:
        empty = older_than is None
        say(
            "Nothing to empty: the trash is empty."
            if empty
            else f"Nothing in the trash is older than {older_than:g} days."
        )
        return
    count = _plural(len(due))
    confirm(f"Delete {count} from the trash for good?", yes=yes, what=count)
    removed = trash.discard_all(due)
    say(f"Deleted {_plural(len(removed))} from the trash for good.")
