"""Full-text search over what was said: ranking, snippets, query syntax, filters, freshness,
and ``opencode session search`` through the installed command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from worker_child import TIMEOUT, Child

from opencode.sessions import (
    InvalidSessionValueError,
    Session,
    SessionIndex,
    SessionManager,
    SessionMessage,
    SessionStorage,
)
from opencode.sessions.search import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    InvalidSearchQueryError,
    SearchHit,
    search,
)

UTC = timezone.utc
BASE = datetime(2024, 1, 1, tzinfo=UTC)
OPENCODE = Path(sys.executable).with_name("opencode")


@pytest.fixture
def storage(data_dir: Path) -> SessionStorage:
    """The default folder, so the ``opencode`` command sees the same sessions."""
    return SessionStorage(data_dir / "sessions")


def new_manager(storage: SessionStorage) -> SessionManager:
    return SessionManager(storage, auto_save_interval=0, fire_shell_hooks=False)


def seed(
    storage: SessionStorage,
    *said: tuple[str, str],
    session_id: str | None = None,
    title: str = "",
    hours: float = 0,
    tags: list[str] | None = None,
    working_dir: str = "/w",
) -> Session:
    """A session file whose messages (role, text) were said ``hours`` after BASE, a second
    apart."""
    start = BASE + timedelta(hours=hours)
    session = Session(
        title=title or f"talk {len(said)}",
        working_dir=working_dir,
        tags=list(tags or []),
        created_at=start,
        updated_at=start + timedelta(seconds=len(said)),
        messages=[
            SessionMessage(
                role=role,
                content=text,
                timestamp=start + timedelta(seconds=n),
                tool_call_id="call-1" if role == "tool" else None,
            )
            for n, (role, text) in enumerate(said)
        ],
    )
    if session_id is not None:
        session.id = session_id
    storage.save(session)
    return session


def found(hits: list[SearchHit]) -> list[str]:
    return [hit.summary.id for hit in hits]


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed ``opencode``, its stdout a pipe, with the isolated environment."""
    return subprocess.run(
        [str(OPENCODE), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        cwd=cwd,
        check=False,
    )


# -- ranking and snippets ---------------------------------------------------------------------


def test_the_users_words_rank_above_answers_above_tool_output(storage: SessionStorage) -> None:
    """All else equal (same lengths, same number of messages) only the role differs; ids
    and ages are chosen so that neither a tie-break nor recency would give this order."""

    def said(where: str) -> list[tuple[str, str]]:
        words = {role: f"plain {role} words here" for role in ("user", "assistant", "tool")}
        words[where] = f"plain {where} zanzibar here"
        return [("user", words["user"]), ("assistant", words["assistant"]), ("tool", words["tool"])]

    in_tool = seed(storage, *said("tool"), session_id="a-tool", hours=3)
    in_answer = seed(storage, *said("assistant"), session_id="b-answer", hours=2)
    in_question = seed(storage, *said("user"), session_id="c-question", hours=1)
    for n in range(6):  # sessions without the word: it is rare, as real search words are
        seed(storage, *said("nowhere"), session_id=f"filler-{n}", hours=0)

    hits = new_manager(storage).search("zanzibar")
    assert found(hits) == [in_question.id, in_answer.id, in_tool.id]
    assert [hit.role for hit in hits] == ["user", "assistant", "tool"]
    assert hits[0].score < hits[1].score < hits[2].score  # bm25: lower is better
    assert [hit.message_id for hit in hits] == [
        in_question.messages[0].id,
        in_answer.messages[1].id,
        in_tool.messages[2].id,
    ]
    assert hits[0].at == in_question.messages[0].timestamp


def test_snippets_mark_the_match_and_each_session_is_found_once(storage: SessionStorage) -> None:
    filler = " ".join(f"word{n}" for n in range(60))
    session = seed(
        storage,
        ("user", f"{filler} the Zanzibar archipelago {filler}"),
        ("assistant", "Zanzibar again"),
        ("user", "and zanzibar once more"),
    )
    hits = search(SessionIndex(storage), "ZANZIBAR")
    assert found(hits) == [session.id]  # one hit per session, its best message
    (hit,) = hits
    assert f"{HIGHLIGHT_START}Zanzibar{HIGHLIGHT_END}" in hit.snippet or (
        f"{HIGHLIGHT_START}zanzibar{HIGHLIGHT_END}" in hit.snippet
    )
    long_hit = search(SessionIndex(storage), "archipelago")[0]
    assert f"{HIGHLIGHT_START}archipelago{HIGHLIGHT_END}" in long_hit.snippet
    assert len(long_hit.snippet) < len(session.messages[0].content) / 2  # an excerpt
    assert long_hit.message_id == session.messages[0].id


# -- query syntax -----------------------------------------------------------------------------


@pytest.fixture
def corpus(storage: SessionStorage) -> dict[str, str]:
    texts = {
        "panda": "the red panda sleeps in the tree",
        "reversed": "a panda that is red",
        "refactor": "refactoring the parser module",
        "apple": "an apple pie recipe",
        "banana": "a banana bread recipe",
        "both": "an apple and banana smoothie",
        "cafe": "meet me at the café",
    }
    return {name: seed(storage, ("user", text), title=name).id for name, text in texts.items()}


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ('"red panda"', {"panda"}),
        ("red panda", {"panda", "reversed"}),
        ("refact*", {"refactor"}),
        ("refact", set()),  # words match whole, unless asked for a prefix
        ("apple OR banana", {"apple", "banana", "both"}),
        ("apple NOT banana", {"apple"}),
        ("(apple OR banana) AND smoothie", {"both"}),
        ("recipe NOT (apple OR panda)", {"banana"}),
        ("cafe", {"cafe"}),  # accents are ignored
    ],
)
def test_phrases_prefixes_and_boolean_queries(
    storage: SessionStorage, corpus: dict[str, str], query: str, names: set[str]
) -> None:
    hits = new_manager(storage).search(query)
    assert set(found(hits)) == {corpus[name] for name in names}


@pytest.fixture
def punctuated(storage: SessionStorage) -> dict[str, str]:
    """Messages with words FTS5 would read as syntax if they were passed on bare."""
    texts = {
        "dotted": "please edit file.py now",
        "apart": "the file holds py code",
        "hyphen": "call foo-bar here",
        "spaced": "foo and then bar",
        "cpp": "I write c++ daily",
        "plain": "nothing to see",
    }
    return {name: seed(storage, ("user", text), title=name).id for name, text in texts.items()}


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("file.py", {"dotted"}),
        ("FILE.PY", {"dotted"}),
        ("foo-bar", {"hyphen"}),
        ("c++", {"cpp"}),
        ("edit file.py", {"dotted"}),  # every word must match, each as typed
        ("file.py nowhere", set()),
    ],
)
def test_plain_words_with_punctuation_find_the_message_that_has_them(
    storage: SessionStorage, punctuated: dict[str, str], query: str, names: set[str]
) -> None:
    hits = new_manager(storage).search(query)
    assert set(found(hits)) == {punctuated[name] for name in names}


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("fil*", {"dotted", "apart"}),  # a prefix, not the word "fil"
        ('"file py"', {"dotted"}),  # a phrase: the two words next to each other
        ("foo OR c", {"hyphen", "spaced", "cpp"}),  # either word, not the word "OR"
        ("(foo OR nothing) NOT bar", {"plain"}),
    ],
)
def test_a_query_using_fts5_syntax_is_still_read_as_syntax(
    storage: SessionStorage, punctuated: dict[str, str], query: str, names: set[str]
) -> None:
    hits = new_manager(storage).search(query)
    assert set(found(hits)) == {punctuated[name] for name in names}


@pytest.mark.parametrize(
    "query", ['"unclosed phrase', "OR", "apple AND", "(apple", "apple)", "NOT", "AND OR"]
)
def test_a_malformed_query_is_an_invalid_search_query_error(
    storage: SessionStorage, corpus: dict[str, str], query: str
) -> None:
    with pytest.raises(InvalidSearchQueryError) as caught:
        new_manager(storage).search(query)
    assert isinstance(caught.value, ValueError)
    assert query in str(caught.value)


@pytest.mark.parametrize("query", ["", "   ", "x" * 1001])
def test_an_empty_or_huge_query_is_refused(storage: SessionStorage, query: str) -> None:
    seed(storage, ("user", "anything"))
    with pytest.raises(InvalidSearchQueryError):
        search(SessionIndex(storage), query)


def test_tool_calls_are_searchable_by_name_and_arguments(storage: SessionStorage) -> None:
    session = Session(title="tools", working_dir="/w")
    session.add_message(
        SessionMessage(
            role="assistant",
            content="",
            tool_calls=[
                {
                    "id": "call-1",
                    "type": "function",
                    "function": {"name": "grep_files", "arguments": '{"pattern": "frobnicate"}'},
                }
            ],
        )
    )
    storage.save(session)
    index = SessionIndex(storage)
    assert found(search(index, "frobnicate")) == [session.id]
    assert found(search(index, "grep_files")) == [session.id]


# -- filters ----------------------------------------------------------------------------------


def test_role_filter(storage: SessionStorage) -> None:
    asked = seed(storage, ("user", "what is a kiwi"), ("assistant", "a bird"))
    answered = seed(storage, ("user", "name a bird"), ("assistant", "the kiwi"))
    tooled = seed(storage, ("user", "look it up"), ("tool", "kiwi: a flightless bird"))
    manager = new_manager(storage)
    assert set(found(manager.search("kiwi"))) == {asked.id, answered.id, tooled.id}
    assert found(manager.search("kiwi", roles=["user"])) == [asked.id]
    assert found(manager.search("kiwi", roles=["assistant"])) == [answered.id]
    assert found(manager.search("kiwi", roles=["tool"])) == [tooled.id]
    both = manager.search("kiwi", roles=["user", "tool"])
    assert set(found(both)) == {asked.id, tooled.id}
    assert {hit.role for hit in both} == {"user", "tool"}
    assert set(found(manager.search("bird", roles=["user"]))) == {answered.id}
    with pytest.raises(InvalidSessionValueError, match="role"):
        manager.search("kiwi", roles=["system"])


def test_since_keeps_messages_said_from_then_on(storage: SessionStorage) -> None:
    old = seed(storage, ("user", "the comet in january"), hours=0)
    both = seed(storage, ("user", "a comet long ago"), hours=1)
    later = BASE + timedelta(days=60)
    both.add_message(SessionMessage(role="assistant", content="the comet again", timestamp=later))
    storage.save(both)
    manager = new_manager(storage)
    assert set(found(manager.search("comet"))) == {old.id, both.id}
    (hit,) = manager.search("comet", since=BASE + timedelta(days=30))
    assert hit.summary.id == both.id
    assert (hit.message_id, hit.at) == (both.messages[-1].id, later)
    assert found(manager.search("comet", since=later)) == [both.id]  # "from then on"
    assert manager.search("comet", since=later + timedelta(microseconds=1)) == []


def test_tag_filter_ignores_case(storage: SessionStorage) -> None:
    work = seed(storage, ("user", "deploy the service"), tags=["work", "ops"])
    seed(storage, ("user", "deploy the garden furniture"), tags=["home"])
    manager = new_manager(storage)
    assert found(manager.search("deploy", tags=["WORK"])) == [work.id]
    assert found(manager.search("deploy", tags=["work", "Ops"])) == [work.id]
    assert manager.search("deploy", tags=["work", "home"]) == []


def test_under_dir_keeps_sessions_of_that_folder_and_below(storage: SessionStorage) -> None:
    top = seed(storage, ("user", "migrate the schema"), working_dir="/proj")
    below = seed(storage, ("user", "migrate the schema"), working_dir="/proj/sub/deep")
    seed(storage, ("user", "migrate the schema"), working_dir="/project")
    seed(storage, ("user", "migrate the schema"), working_dir="/other")
    manager = new_manager(storage)
    assert len(manager.search("migrate")) == 4
    assert set(found(manager.search("migrate", under_dir="/proj"))) == {top.id, below.id}
    assert set(found(manager.search("migrate", under_dir="/proj/"))) == {top.id, below.id}
    assert found(manager.search("migrate", under_dir="/proj/sub")) == [below.id]


def test_limit(storage: SessionStorage) -> None:
    for n in range(5):
        seed(storage, ("user", f"lemon number {n}"))
    manager = new_manager(storage)
    assert len(manager.search("lemon")) == 5
    assert len(manager.search("lemon", limit=2)) == 2
    with pytest.raises(InvalidSessionValueError):
        manager.search("lemon", limit=0)


def archive(manager: SessionManager) -> None:
    manager.set_metadata("archived_at", "2024-06-01T12:00:00+00:00")


def test_archived_sessions_are_left_out_unless_asked_for(storage: SessionStorage) -> None:
    manager = new_manager(storage)
    archived = manager.create(title="archived one")
    manager.add_message("user", "the nebula in the old notes")
    archive(manager)
    manager.close()
    kept = manager.create(title="kept one")
    manager.add_message("user", "the nebula today")
    manager.close()
    closed = manager.create(title="archived after closing")
    manager.add_message("user", "the nebula yesterday")
    manager.close()
    manager.archive(closed.id)

    assert found(manager.search("nebula")) == [kept.id]
    everything = manager.search("nebula", include_archived=True)
    assert set(found(everything)) == {kept.id, archived.id, closed.id}
    by_id = {hit.summary.id: hit.summary for hit in everything}
    assert by_id[archived.id].archived_at == datetime(2024, 6, 1, 12, tzinfo=UTC)
    assert by_id[kept.id].archived_at is None


def test_a_session_archived_while_open_is_left_out_at_once(storage: SessionStorage) -> None:
    manager = new_manager(storage)
    session = manager.create(title="archived while open")
    manager.add_message("user", "the nebula in the old notes")
    archive(manager)
    other_terminal = new_manager(storage)
    assert other_terminal.search("nebula") == []
    assert found(other_terminal.search("nebula", include_archived=True)) == [session.id]
    manager.close()


# -- keeping up with changes ------------------------------------------------------------------


def test_a_deleted_session_no_longer_matches(storage: SessionStorage) -> None:
    manager = new_manager(storage)
    gone = manager.create(title="to delete")
    manager.add_message("user", "the platypus is a mammal")
    manager.close()
    by_hand = seed(storage, ("user", "a platypus in a file deleted by hand"))
    kept = seed(storage, ("user", "platypus facts"))
    assert set(found(manager.search("platypus"))) == {gone.id, by_hand.id, kept.id}

    assert manager.delete(gone.id) is True
    os.unlink(storage.get_path(by_hand.id))
    assert found(manager.search("platypus")) == [kept.id]
    assert found(search(SessionIndex(storage), "platypus")) == [kept.id]
    assert search(SessionIndex(storage), "mammal") == []


def test_text_rewritten_behind_the_index_is_searched_as_it_now_is(storage: SessionStorage) -> None:
    session = seed(storage, ("user", "the original wombat"))
    manager = new_manager(storage)
    assert found(manager.search("wombat")) == [session.id]
    session.messages[0].content = "the corrected numbat"
    storage.save(session)
    assert manager.search("wombat") == []
    assert found(manager.search("numbat")) == [session.id]


def test_a_message_appended_in_another_process_is_searchable_at_once(
    storage: SessionStorage,
) -> None:
    reader = new_manager(storage)  # long-lived: another terminal
    child = Child("append_on_command.py", storage.storage_dir)
    try:
        word, sid = child.readline().split()
        assert word == "ready"
        assert reader.search("quokka") == []
        assert child.ask("message user the quokka smiled") == "ack 1"
        hits = reader.search("quokka")
        assert found(hits) == [sid]
        assert hits[0].role == "user" and hits[0].summary.message_count == 1
        assert child.ask("message assistant a quokka and a wallaby") == "ack 2"
        assert found(search(SessionIndex(storage), "wallaby")) == [sid]
        assert found(reader.search("wallaby", roles=["assistant"])) == [sid]
    finally:
        child.kill()


# -- the command ------------------------------------------------------------------------------


@pytest.fixture
def searchable(storage: SessionStorage) -> dict[str, Session]:
    return {
        "question": seed(
            storage,
            ("user", "how do I configure the zanzibar proxy"),
            ("assistant", "set the port first"),
            title="Proxy [bold]setup[/bold]",
            hours=2,
            tags=["net"],
        ),
        "answer": seed(
            storage,
            ("user", "which proxy"),
            ("assistant", "the zanzibar one"),
            title="Which proxy",
            hours=1,
        ),
    }


def test_search_prints_plain_text_when_piped(searchable: dict[str, Session]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"  # a colour terminal, but stdout is a pipe
    result = run_cli("session", "search", "zanzibar", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for mark in (HIGHLIGHT_START, HIGHLIGHT_END, "\x1b"):
        assert mark not in out
    lines = out.splitlines()
    question, answer = searchable["question"], searchable["answer"]
    assert question.id[:8] in lines[0] and "Proxy [bold]setup[/bold]" in lines[0]  # no markup
    assert lines[1].strip() == "User: how do I configure the zanzibar proxy"
    assert answer.id[:8] in lines[2] and "Which proxy" in lines[2]
    assert lines[3].strip() == "Assistant: the zanzibar one"
    assert len(lines) == 4


def test_search_json_lists_each_hit_with_its_session_and_message(
    searchable: dict[str, Session],
) -> None:
    result = run_cli("session", "search", "zanzibar", "--json")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    question = searchable["question"]
    assert [hit["id"] for hit in hits] == [question.id, searchable["answer"].id]
    first = hits[0]
    spec_keys = {"id", "title", "created_at", "updated_at", "message_count", "total_tokens"}
    spec_keys |= {"tags", "working_dir", "model"}
    listing_keys = {"active_at", "damaged", "pinned", "archived_at", "forked_from", "conflicts"}
    hit_keys = {"message_id", "role", "message_at", "snippet", "score"}
    assert set(first) == spec_keys | listing_keys | hit_keys
    assert (first["title"], first["tags"], first["message_count"]) == (
        "Proxy [bold]setup[/bold]",
        ["net"],
        2,
    )
    assert (first["message_id"], first["role"]) == (question.messages[0].id, "user")
    assert datetime.fromisoformat(first["message_at"]) == question.messages[0].timestamp
    assert first["snippet"] == "how do I configure the zanzibar proxy"  # marks removed
    assert isinstance(first["score"], float)
    assert hits[1]["role"] == "assistant"


def test_search_flags_reach_the_library(searchable: dict[str, Session], tmp_path: Path) -> None:
    result = run_cli("session", "search", "zanzibar", "--role", "assistant", "--json")
    assert [hit["id"] for hit in json.loads(result.stdout)] == [searchable["answer"].id]
    result = run_cli("session", "search", "zanzibar", "--tag", "NET", "--json")
    assert [hit["id"] for hit in json.loads(result.stdout)] == [searchable["question"].id]
    result = run_cli("session", "search", "zanzibar", "--limit", "1", "--json")
    assert [hit["id"] for hit in json.loads(result.stdout)] == [searchable["question"].id]
    result = run_cli("session", "search", "zanzibar", "--since", "2024-01-02", "--json")
    assert json.loads(result.stdout) == []


def test_search_here_keeps_sessions_of_this_project(
    storage: SessionStorage, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / ".git").mkdir()
    inside = seed(storage, ("user", "the quasar build"), working_dir=str(project / "src"))
    seed(storage, ("user", "the quasar elsewhere"), working_dir=str(tmp_path / "other"))
    result = run_cli("session", "search", "quasar", "--here", "--json", cwd=project / "src")
    assert result.returncode == 0, result.stderr
    assert [hit["id"] for hit in json.loads(result.stdout)] == [inside.id]


def test_search_archived_flag_includes_archived_sessions(storage: SessionStorage) -> None:
    manager = new_manager(storage)
    session = manager.create(title="old notes")
    manager.add_message("user", "the pulsar notes")
    archive(manager)
    manager.close()
    assert json.loads(run_cli("session", "search", "pulsar", "--json").stdout) == []
    result = run_cli("session", "search", "pulsar", "--archived", "--json")
    (hit,) = json.loads(result.stdout)
    assert (hit["id"], hit["archived_at"]) == (session.id, "2024-06-01T12:00:00+00:00")


def test_a_malformed_query_is_one_error_line_and_exit_1(searchable: dict[str, Session]) -> None:
    result = run_cli("session", "search", '"unclosed')
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "unclosed" in lines[0]


def test_no_match_says_so_on_stderr(searchable: dict[str, Session]) -> None:
    result = run_cli("session", "search", "nowherezz")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "No sessions match" in result.stderr
    result = run_cli("session", "search", "nowherezz", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_search_needs_no_index_to_exist_first(storage: SessionStorage) -> None:
    """A folder written by another tool (no index yet): the first search builds it."""
    session = seed(storage, ("user", "the first ever heliotrope"))
    assert not storage.index_path.exists()
    result = run_cli("session", "search", "heliotrope", "--json")
    assert result.returncode == 0, result.stderr
    assert [hit["id"] for hit in json.loads(result.stdout)] == [session.id]
