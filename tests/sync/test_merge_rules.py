"""The merge rules, one decision at a time (``opencode.sync.merge``: no I/O)."""

from __future__ import annotations

import pytest

from opencode.sync.manifest import Entry, Metadata
from opencode.sync.merge import (
    Action,
    LocalVersion,
    common_message_id,
    decide,
    fork_id,
    needs_object,
)

DEVICE = "d" * 32
C0, C1, C2 = ("0" * 64, "1" * 64, "2" * 64)


def entry(
    content: str | None, *, title: str = "t", base: str | None = None, **fields: object
) -> Entry:
    return Entry(
        id="s1",
        device=DEVICE,
        host="elsewhere",
        written_at="2026-01-01T00:00:00+00:00",
        metadata=Metadata(title=title),
        content=content,
        object_path=None if content is None else f"devices/{DEVICE}/objects/{'a' * 64}",
        deleted_at="2026-01-02T00:00:00+00:00" if content is None else None,
        base=base,
        **fields,  # type: ignore[arg-type]
    )


def local(content: str, *ids: str, title: str = "t") -> LocalVersion:
    return LocalVersion(content, ids, Metadata(title=title))


def never() -> bool:
    raise AssertionError("not asked")


def test_absent_here_is_created_with_the_remote_metadata() -> None:
    decision = decide(None, None, entry(C1, title="remote"), ("m1",), never)
    assert decision == Decision_(Action.CREATE, "remote")


def test_same_content_moves_nothing_but_merges_metadata() -> None:
    base = entry(C0, title="t")
    decision = decide(base, local(C0, "m1"), entry(C0, title="renamed"), None, never)
    assert decision == Decision_(Action.NOTHING, "renamed")


def test_unchanged_here_and_ahead_there_is_a_fast_forward() -> None:
    decision = decide(entry(C0), local(C0, "m1"), entry(C1), ("m1", "m2"), never)
    assert decision.action is Action.FAST_FORWARD


def test_local_a_prefix_of_remote_is_a_fast_forward_even_without_common_point() -> None:
    decision = decide(None, local(C0, "m1"), entry(C1), ("m1", "m2"), never)
    assert decision.action is Action.FAST_FORWARD


def test_local_ahead_is_kept() -> None:
    decision = decide(entry(C0), local(C1, "m1", "m2"), entry(C2), ("m1",), never)
    assert decision.action is Action.KEEP_LOCAL


def test_changed_here_and_only_retitled_there_keeps_local_without_the_object() -> None:
    decision = decide(entry(C0), local(C1, "m1", "m2"), entry(C0, title="renamed"), None, never)
    assert decision == Decision_(Action.KEEP_LOCAL, "renamed")


def test_messages_added_on_both_sides_fork() -> None:
    decision = decide(entry(C0), local(C1, "m1", "a"), entry(C2), ("m1", "b"), lambda: True)
    assert decision.action is Action.FORK


def test_a_superseded_version_kept_as_a_fork_fast_forwards() -> None:
    """The device whose version another kept as a fork takes that device's version."""
    base = entry(C1)
    superseding = entry(C2, base=C1)
    assert decide(base, local(C1, "m1", "b"), superseding, ("m1", "a"), lambda: True).action is (
        Action.FAST_FORWARD
    )
    # ...but only while that fork exists here: otherwise the local version would be lost.
    assert decide(base, local(C1, "m1", "b"), superseding, ("m1", "a"), lambda: False).action is (
        Action.FORK
    )


def test_same_messages_other_content_takes_the_changed_side() -> None:
    unchanged_here = decide(entry(C0), local(C0, "m1"), entry(C1), ("m1",), never)
    assert unchanged_here.action is Action.FAST_FORWARD
    changed_both = decide(entry(C0), local(C2, "m1"), entry(C1), ("m1",), never)
    assert changed_both.action is Action.KEEP_LOCAL


@pytest.mark.parametrize(
    ("here", "remote", "expected"),
    [
        ("t", "renamed", "renamed"),  # changed there only: applied
        ("mine", "t", "mine"),  # changed here only: kept
        ("mine", "theirs", "mine"),  # changed on both sides: local wins
    ],
)
def test_metadata_merges_field_by_field(here: str, remote: str, expected: str) -> None:
    decision = decide(
        entry(C0, title="t"), local(C0, "m1", title=here), entry(C0, title=remote), None, never
    )
    assert decision.metadata is not None and decision.metadata.title == expected


def test_a_tombstone_trashes_an_unchanged_session_only() -> None:
    base = entry(C0)
    assert decide(base, local(C0, "m1"), entry(None), None, never).action is Action.TRASH
    changed = decide(base, local(C1, "m1", "m2"), entry(None), None, never)
    assert changed.action is Action.KEEP_DELETED_THERE
    retitled = decide(base, local(C0, "m1", title="new"), entry(None), None, never)
    assert retitled.action is Action.KEEP_DELETED_THERE
    no_common_point = decide(None, local(C0, "m1"), entry(None), None, never)
    assert no_common_point.action is Action.KEEP_DELETED_THERE
    assert decide(base, None, entry(None), None, never).action is Action.FORGET


def test_a_remote_change_beats_a_local_delete_not_yet_sent() -> None:
    base = entry(C0)
    assert decide(base, None, entry(C1), ("m1", "m2"), never).action is Action.CREATE
    assert decide(base, None, entry(C0, title="renamed"), None, never).action is Action.CREATE
    assert decide(base, None, entry(C0), None, never).action is Action.FORGET


def test_fork_ids_are_the_same_everywhere_and_differ_per_version() -> None:
    assert fork_id("s1", C1) == fork_id("s1", C1)
    assert fork_id("s1", C1) != fork_id("s1", C2) != fork_id("s2", C2)


def test_objects_are_fetched_only_when_needed() -> None:
    assert not needs_object(entry(None), local(C0, "m1"), None)
    assert not needs_object(entry(C0), local(C0, "m1"), None)
    assert not needs_object(entry(C0), local(C1, "m1"), entry(C0))  # only changed here
    assert needs_object(entry(C1), local(C0, "m1"), entry(C0))
    assert needs_object(entry(C1), None, None)


def test_common_message_is_where_versions_diverge() -> None:
    assert common_message_id(("a", "b", "c"), ("a", "b", "x")) == "b"
    assert common_message_id(("a",), ("x",)) is None


def Decision_(action: Action, title: str) -> object:
    from opencode.sync.merge import Decision

    return Decision(action, Metadata(title=title))
