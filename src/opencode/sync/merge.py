"""The merge rules: what to do with one incoming entry, given the local session and the
common point. Pure decisions, no I/O, so every rule is tested on its own.

* Content equal on both sides: nothing to move (metadata is merged field by field).
* Changed on one side only: that side wins (fast-forward here, or push from here).
* Local messages a prefix of the remote's: fast-forward; the reverse: local is ahead.
* Messages added on both sides: keep both. Local stays as it is; the other side's version
  arrives as a fork. The fork's id is derived from the session and the version it holds, so
  every device makes the same fork and nothing is duplicated. When this device pushes its
  version afterwards it names the remote version as its base; the device that wrote that
  version, seeing its own version superseded and kept as that fork, fast-forwards. So two
  devices converge on the same sessions without any compare-and-swap.
* A tombstone moves the session to the trash, unless it changed here since the common point
  (then it stays and is pushed again). Any remote change beats a local delete not yet sent.
* Metadata (title, tags, pin, archive): a field changed on one side is applied; changed on
  both, local wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

from opencode.sync.manifest import Entry, Metadata

# uuid5 namespace of the fork ids sync makes (any fixed UUID would do; never change it).
FORK_NAMESPACE: Final = uuid.UUID("6f1d1c3e-53a1-4c1b-9f0e-0c5e1b7d2a90")


class Action(Enum):
    """What an incoming entry does here."""

    NOTHING = "nothing"  # same content (metadata may still be merged in)
    CREATE = "create"  # not here: write it
    FAST_FORWARD = "fast_forward"  # take the remote content (local had nothing newer)
    KEEP_LOCAL = "keep_local"  # local is ahead or wins: push it later
    FORK = "fork"  # both sides added messages: the remote version becomes a fork
    TRASH = "trash"  # deleted there, unchanged here
    KEEP_DELETED_THERE = "keep_deleted_there"  # deleted there, changed here: stays
    FORGET = "forget"  # deleted there, already gone here


@dataclass(frozen=True)
class LocalVersion:
    """What the merge needs to know of a local session."""

    content: str
    message_ids: tuple[str, ...]
    metadata: Metadata


@dataclass(frozen=True)
class Decision:
    """The action, and the metadata the local session ends up with (when it is written)."""

    action: Action
    metadata: Metadata | None = None


def fork_id(session_id: str, content: str) -> str:
    """The id of the fork holding version ``content`` of ``session_id``: the same on every
    device."""
    return str(uuid.uuid5(FORK_NAMESPACE, f"{session_id}\n{content}"))


def needs_object(entry: Entry, local: LocalVersion | None, base: Entry | None) -> bool:
    """True when deciding about ``entry`` needs its messages (its object downloaded): not
    for a tombstone, nor for content this device has, nor for content unchanged since the
    common point (the local version wins then)."""
    if entry.is_tombstone:
        return False
    if local is None:
        return True
    unchanged_there = base is not None and base.content == entry.content
    return local.content != entry.content and not unchanged_there


def decide(
    base: Entry | None,
    local: LocalVersion | None,
    entry: Entry,
    incoming_ids: Sequence[str] | None,
    local_kept_as_fork: Callable[[], bool],
) -> Decision:
    """The decision for ``entry``; ``incoming_ids`` are its message ids (None when its
    object was not needed or could not be read: then only decisions without it are made)."""
    common = base if base is not None and not base.is_tombstone else None
    if entry.is_tombstone:
        return _tombstone(common, local)
    if local is None:
        return _absent(base, entry)
    merged = local.metadata.merged(common.metadata if common else None, entry.metadata)
    if local.content == entry.content:
        return Decision(Action.NOTHING, merged)
    if common is not None and common.content == entry.content:
        return Decision(Action.KEEP_LOCAL, merged)  # changed here only (there: metadata)
    if incoming_ids is None:
        raise ValueError("this decision needs the incoming messages")
    ours, theirs = local.message_ids, tuple(incoming_ids)
    unchanged_here = common is not None and common.content == local.content
    if theirs == ours:  # same conversation; usage, tool runs or other metadata differ
        return Decision(Action.FAST_FORWARD if unchanged_here else Action.KEEP_LOCAL, merged)
    if _is_prefix(ours, theirs):
        return Decision(Action.FAST_FORWARD, merged)
    if _is_prefix(theirs, ours):
        return Decision(Action.KEEP_LOCAL, merged)
    superseded = unchanged_here and entry.base == local.content
    if superseded and local_kept_as_fork():
        return Decision(Action.FAST_FORWARD, merged)
    return Decision(Action.FORK)


def _tombstone(common: Entry | None, local: LocalVersion | None) -> Decision:
    if local is None:
        return Decision(Action.FORGET)
    unchanged = (
        common is not None and common.content == local.content and common.metadata == local.metadata
    )
    return Decision(Action.TRASH if unchanged else Action.KEEP_DELETED_THERE)


def _absent(base: Entry | None, entry: Entry) -> Decision:
    """Not here: new, or deleted here since the common point (an unsent local delete)."""
    if (
        base is not None
        and not base.is_tombstone
        and base.content == entry.content
        and base.metadata == entry.metadata
    ):
        return Decision(Action.FORGET)  # nothing new there: our delete goes out next
    return Decision(Action.CREATE, entry.metadata)


def _is_prefix(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    return len(short) < len(long) and long[: len(short)] == short


def common_message_id(ours: Sequence[str], theirs: Sequence[str]) -> str | None:
    """The last message both versions share (where they diverged); None when none."""
    last = None
    for mine, other in zip(ours, theirs, strict=False):
        if mine != other:
            break
        last = mine
    return last
