"""``session list`` order, tag filters and ``--json`` text, through the installed command.

"Recent" means the last message: renaming or tagging a session is a change (``--sort
changed``), not activity.
"""

from __future__ import annotations

import json

from cli_helpers import ago, make_session, run_opencode


def ids(*args: str) -> list[str]:
    r = run_opencode("session", "list", "-q", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_sort_title_is_a_to_z_by_default_and_desc_reverses():
    banana = make_session("banana", updated=ago(hours=1))
    apple = make_session("Apple", updated=ago(hours=3))
    cherry = make_session("cherry", updated=ago(hours=2))
    zucchini = make_session("Zucchini", updated=ago(hours=4))

    assert ids("--sort", "title") == [apple.id, banana.id, cherry.id, zucchini.id]
    assert ids("--sort", "title", "--asc") == [apple.id, banana.id, cherry.id, zucchini.id]
    assert ids("--sort", "title", "--desc") == [zucchini.id, cherry.id, banana.id, apple.id]
    # Other fields stay newest / largest first.
    assert ids() == [banana.id, cherry.id, apple.id, zucchini.id]


def test_sort_title_table_says_sessions_not_recent():
    make_session("b")
    make_session("a")
    r = run_opencode("session", "list", "--sort", "title")
    assert r.returncode == 0, r.stderr
    assert "Sessions:" in r.stdout.splitlines()
    assert "Recent Sessions:" not in r.stdout
    assert r.stdout.index("│ a ") < r.stdout.index("│ b ")


def test_tag_filter_ignores_case():
    upper = make_session("Upper", tags=["Bug"], updated=ago(hours=1))
    lower = make_session("Lower", tags=["bug"], updated=ago(hours=2))
    make_session("Other", tags=["docs"], updated=ago(hours=3))

    for spelling in ("bug", "BUG", "Bug", "bUg"):
        assert ids("--tag", spelling) == [upper.id, lower.id], spelling
    r = run_opencode("session", "list", "--json", "--tag", "BUG")
    assert [row["tags"] for row in json.loads(r.stdout)] == [["Bug"], ["bug"]]  # as given


def test_json_writes_text_as_utf8_but_escapes_terminal_controls():
    title = "café 日本語 🚀 \u202eevil\u202c \x85next \u2028sep \u2066iso\u2069"
    session = make_session(title, tags=["étiquette"], working_dir="/srv/projekt-ü")

    r = run_opencode("session", "list", "--json", env={"LC_ALL": "C.UTF-8"})

    assert r.returncode == 0, r.stderr
    raw = r.stdout
    assert "café 日本語 🚀" in raw and "étiquette" in raw and "projekt-ü" in raw
    assert "\\u00e9" not in raw and "\\u65e5" not in raw  # not \u escapes
    for char in ("\u202e", "\u202c", "\x85", "\u2028", "\u2066", "\u2069"):
        assert char not in raw, repr(char)
        assert f"\\u{ord(char):04x}" in raw
    (row,) = json.loads(raw)
    assert row["id"] == session.id
    assert row["title"] == title  # the escapes load back as the same text

    # A stdout that cannot carry UTF-8 gets escapes rather than an encoding error.
    r = run_opencode("session", "list", "--json", env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.isascii() and "caf\\u00e9" in r.stdout
    assert json.loads(r.stdout)[0]["title"] == title


def test_show_json_has_the_same_rules():
    session = make_session("日本 \u202eevil", messages=[("user", "naïve \x9b31m")])
    r = run_opencode("session", "show", session.id, "--json", env={"LC_ALL": "C.UTF-8"})
    assert r.returncode == 0, r.stderr
    assert "日本" in r.stdout and "naïve" in r.stdout
    assert "\u202e" not in r.stdout and "\x9b" not in r.stdout
    assert "\\u202e" in r.stdout and "\\u009b" in r.stdout
    data = json.loads(r.stdout)
    assert data["messages"][0]["content"] == "naïve \x9b31m"


def test_removing_a_tag_the_session_does_not_have_says_so():
    session = make_session("Tagged", tags=["keep"])

    r = run_opencode("session", "tag", session.id, "nope", "keep", "--remove")

    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == f"{session.id[:8]} had no tag nope; nothing to remove"
    assert lines[-1] == f"Tags of {session.id[:8]}: (none)"
    assert "keep; nothing" not in r.stderr  # only the missing one is named

    r = run_opencode("session", "tag", session.id, "nope", "--remove")
    assert r.returncode == 0
    assert "had no tag nope" in r.stderr


def test_renaming_or_tagging_does_not_make_a_session_recent():
    active = make_session("Active", updated=ago(hours=1), messages=[("user", "hi")])
    idle = make_session("Idle", updated=ago(days=2), messages=[("user", "hi")])
    assert ids() == [active.id, idle.id]

    for change in (
        ("session", "title", idle.id, "Renamed", "idle"),
        ("session", "tag", idle.id, "touched"),
    ):
        r = run_opencode(*change)
        assert r.returncode == 0, r.stderr

    assert ids() == [active.id, idle.id]  # by activity: the last message
    assert ids("--sort", "updated") == [active.id, idle.id]
    assert ids("--sort", "changed") == [idle.id, active.id]  # by the last change
    assert ids("--sort", "changed", "--asc") == [active.id, idle.id]
    table = run_opencode("session", "list", env={"COLUMNS": "120"}).stdout
    renamed = next(line for line in table.splitlines() if "Renamed idle" in line)
    assert "2 days ago" in renamed  # the age shown is the activity's
    r = run_opencode("--resume", input="")
    assert f"Resuming session: {active.id}" in r.stderr  # "the latest" is the active one
