"""Redaction of credential-shaped values: every kind of secret, inside JSON tool arguments and
multi-line keys, ordinary text left alone, counts, the original untouched, idempotence, and
work proportional to the size of the session.

Secrets are assembled from pieces at run time so that this file itself holds none that a
scanner (or GitHub's push protection) would flag.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencode.sessions import Session, SessionMessage, ToolInvocation
from opencode.sessions import redact as redact_module
from opencode.sessions.redact import (
    RedactionUnavailableError,
    redact_session,
    redact_text,
    redact_value,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "opencode"


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def random_chars(seed: int, n: int, alphabet: str) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
B64 = ALNUM + "+/"

OPENAI_LEGACY = "sk-" + random_chars(1, 20, ALNUM) + "T3Blbk" + "FJ" + random_chars(2, 20, ALNUM)
OPENAI_PROJECT = "sk-" + "proj-" + random_chars(3, 120, ALNUM + "_-") + "A1a"
ANTHROPIC = "sk-" + "ant-api03-" + random_chars(4, 93, ALNUM + "_-") + "AA"
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documentation example
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
GITHUB_CLASSIC = "gh" + "p_" + random_chars(5, 36, ALNUM)
GITHUB_FINE = "github" + "_pat_" + random_chars(6, 22, ALNUM) + "_" + random_chars(7, 59, ALNUM)
GITLAB = "gl" + "pat-" + random_chars(8, 20, ALNUM)
SLACK = "xo" + "xb-" + "1234567890-1234567890123-" + random_chars(9, 24, ALNUM)
SLACK_WEBHOOK = (
    "https://hooks.slack.com/services/" + "T0000000/B0000000/" + random_chars(10, 24, ALNUM)
)
STRIPE_LIVE = "sk" + "_live_" + random_chars(11, 99, ALNUM)
STRIPE_TEST = "sk" + "_test_" + random_chars(12, 24, ALNUM)
SENDGRID = "S" + "G." + random_chars(13, 22, ALNUM) + "." + random_chars(14, 43, ALNUM)
JWT = ".".join(
    (
        b64url({"alg": "HS256", "typ": "JWT"}),
        b64url({"sub": "1234567890", "name": "Ada"}),
        random_chars(15, 43, ALNUM + "_-"),
    )
)
BEARER = random_chars(16, 40, ALNUM)
RSA_KEY = "\n".join(
    [
        "-----BEGIN RSA " + "PRIVATE KEY-----",
        *(random_chars(17 + i, 64, B64) for i in range(5)),
        random_chars(30, 20, B64) + "==",
        "-----END RSA " + "PRIVATE KEY-----",
    ]
)
OPENSSH_KEY = "\n".join(
    [
        "-----BEGIN OPENSSH " + "PRIVATE KEY-----",
        "b3BlbnNzaC1rZXktdjEAAAAA" + random_chars(31, 40, B64),
        random_chars(32, 70, B64),
        "-----END OPENSSH " + "PRIVATE KEY-----",
    ]
)


# -- each kind of secret ----------------------------------------------------------------------

KINDS = [
    ("openai-key", f"export OPENAI_API_KEY={OPENAI_LEGACY}", OPENAI_LEGACY),
    ("openai-key", f"client = OpenAI(api_key='{OPENAI_PROJECT}')", OPENAI_PROJECT),
    ("anthropic-key", f"The key is {ANTHROPIC}, keep it safe.", ANTHROPIC),
    ("aws-key", f"aws_access_key_id = {AWS_KEY_ID}\n", AWS_KEY_ID),
    ("aws-key", f'aws_secret_access_key = "{AWS_SECRET}"', AWS_SECRET),
    ("github-token", f"git clone https://{GITHUB_CLASSIC}@github.com/o/r.git", GITHUB_CLASSIC),
    ("github-token", f"GH_TOKEN={GITHUB_FINE}", GITHUB_FINE),
    ("gitlab-token", f"token: {GITLAB}", GITLAB),
    ("slack-token", f"bot token {SLACK} posted", SLACK),
    ("slack-token", f"curl -X POST {SLACK_WEBHOOK}", SLACK_WEBHOOK),
    ("stripe-key", f"stripe.api_key = '{STRIPE_LIVE}'", STRIPE_LIVE),
    ("stripe-key", f"STRIPE_KEY={STRIPE_TEST}", STRIPE_TEST),
    ("sendgrid-key", f"sg = SendGridAPIClient('{SENDGRID}')", SENDGRID),
    ("jwt", f"Cookie: session={JWT}; Path=/", JWT),
    ("bearer-token", f"curl -H 'Authorization: Bearer {BEARER}' https://api", BEARER),
    ("bearer-token", 'headers = {"Authorization": "Basic dXNlcjpzM2NyM3Q="}', "dXNlcjpzM2NyM3Q="),
    ("url-password", "DATABASE_URL=postgres://app:s3cr3t-Pa55@db:5432/app", "s3cr3t-Pa55"),
    ("url-password", "REDIS_URL=redis://:hunter2x@localhost:6379/0", "hunter2x"),
    ("private-key", f"cat ~/.ssh/id_rsa\n{RSA_KEY}\n", RSA_KEY),
    ("private-key", f"{OPENSSH_KEY}\n", OPENSSH_KEY),
    ("secret", "API_KEY=abc123def456", "abc123def456"),
    ("secret", 'export CLIENT_SECRET="9f8e7d6c5b4a"', "9f8e7d6c5b4a"),
    ("secret", "SECRET=xyz-42", "xyz-42"),
    ("password", "PASSWORD=hunter2", "hunter2"),
    ("password", "DB_PASSWORD='correct horse battery staple'", "correct horse battery staple"),
    ("password", "mysql -u root --password=Tr0ub4dor&3 app", "Tr0ub4dor&3"),
    ("password", 'conn = connect(host="db", password="hunter2")', "hunter2"),
    ("password", "spring.datasource.password=s3cret!", "s3cret!"),
    ("token", "NPM_TOKEN=0a1b2c3d4e5f6a7b", "0a1b2c3d4e5f6a7b"),
    ("password", "data:\n  password: cGFzc3dvcmQxMjM=\n", "cGFzc3dvcmQxMjM="),  # a k8s Secret
    ("password", "POSTGRES_PASSWORD: example", "example"),
]


@pytest.mark.parametrize(("kind", "text", "secret"), KINDS)
def test_each_kind_of_secret_is_replaced(kind: str, text: str, secret: str) -> None:
    redacted, count = redact_text(text)
    assert count == 1, redacted
    assert secret not in redacted
    assert redacted == text.replace(secret, f"[REDACTED:{kind}]")


def test_a_jwt_loses_its_signature_too() -> None:
    redacted, _ = redact_text(f"token={JWT}.")
    assert redacted == "token=[REDACTED:jwt]."
    assert JWT.rsplit(".", 1)[1] not in redacted


def test_a_stripe_key_is_replaced_whole_not_after_24_characters() -> None:
    redacted, count = redact_text(f"key: {STRIPE_LIVE}")
    assert (redacted, count) == ("key: [REDACTED:stripe-key]", 1)


def test_several_secrets_in_one_text_are_counted_one_by_one() -> None:
    text = f"{AWS_KEY_ID} then {GITHUB_CLASSIC} then PASSWORD=hunter2 then {JWT}"
    redacted, count = redact_text(text)
    assert count == 4
    assert redacted == (
        "[REDACTED:aws-key] then [REDACTED:github-token] then "
        "PASSWORD=[REDACTED:password] then [REDACTED:jwt]"
    )


def test_a_secret_found_twice_over_is_one_replacement_named_by_its_provider() -> None:
    # The assignment rule and the GitHub plugin both see it; one placeholder, one count.
    redacted, count = redact_text(f"GITHUB_TOKEN={GITHUB_CLASSIC}")
    assert (redacted, count) == ("GITHUB_TOKEN=[REDACTED:github-token]", 1)


# -- private keys -----------------------------------------------------------------------------


def test_a_multi_line_private_key_is_replaced_from_begin_to_end() -> None:
    text = f"Here is the key:\n{RSA_KEY}\nand then ordinary words."
    redacted, count = redact_text(text)
    assert count == 1
    assert redacted == "Here is the key:\n[REDACTED:private-key]\nand then ordinary words."


def test_a_truncated_private_key_loses_its_base64_lines_but_not_the_prose_after() -> None:
    head = "\n".join(RSA_KEY.splitlines()[:3])
    redacted, count = redact_text(f"{head}\nThe rest was cut off.")
    assert count == 1
    assert redacted == "[REDACTED:private-key]\nThe rest was cut off."


def test_a_private_key_in_json_text_with_escaped_newlines_keeps_the_json_valid() -> None:
    service_account = json.dumps({"type": "service_account", "private_key": RSA_KEY + "\n"})
    redacted, count = redact_text(service_account)
    assert count == 1
    assert json.loads(redacted) == {
        "type": "service_account",
        "private_key": "[REDACTED:private-key]",
    }


# -- JSON inside values -----------------------------------------------------------------------


def tool_call(arguments: str) -> dict[str, Any]:
    return {
        "id": "call_1",
        "type": "function",
        "function": {"name": "bash", "arguments": arguments},
    }


def test_secrets_inside_nested_tool_argument_json_are_replaced_and_the_json_stays_valid() -> None:
    arguments = json.dumps(
        {
            "command": f"curl -H 'Authorization: Bearer {BEARER}' https://api",
            "env": {"password": "hunter2", "retries": 3, "tags": ["a", GITHUB_CLASSIC]},
            "note": "nothing here",
        }
    )
    redacted, count = redact_value([tool_call(arguments)])
    assert count == 3
    decoded = json.loads(redacted[0]["function"]["arguments"])
    assert decoded == {
        "command": "curl -H 'Authorization: Bearer [REDACTED:bearer-token]' https://api",
        "env": {
            "password": "[REDACTED:password]",
            "retries": 3,
            "tags": ["a", "[REDACTED:github-token]"],
        },
        "note": "nothing here",
    }
    assert redacted[0]["function"]["name"] == "bash"


def test_json_inside_a_json_string_is_redacted_at_every_level() -> None:
    inner = json.dumps({"stdout": f"API_KEY=abc123def456\nTOKEN={GITHUB_CLASSIC}\n"})
    outer = json.dumps({"result": inner, "exit": 0})
    redacted, count = redact_text(outer)
    assert count == 2
    stdout = json.loads(json.loads(redacted)["result"])["stdout"]
    assert stdout == "API_KEY=[REDACTED:secret]\nTOKEN=[REDACTED:github-token]\n"


def test_the_layout_of_redacted_json_text_is_kept() -> None:
    pretty = json.dumps({"a": [1, 2, {"token": GITHUB_CLASSIC}], "b": "k"}, indent=2)
    redacted, count = redact_text(pretty)
    assert count == 1
    assert redacted == pretty.replace(GITHUB_CLASSIC, "[REDACTED:github-token]")


def test_credential_named_fields_are_replaced_whole_and_others_are_not() -> None:
    value = {
        "password": "hunter2",
        "apiKey": "abc123",
        "client_secret": "s3cr3t",
        "access_token": "0a1b2c3d4e5f",
        "max_tokens": 4096,
        "token_count": "12",
        "next_token": ")",
        "password_hint": "your first pet",
        "secret": None,
        "api_key": "${API_KEY}",
    }
    redacted, count = redact_value(value)
    assert count == 4
    assert redacted == {
        **value,
        "password": "[REDACTED:password]",
        "apiKey": "[REDACTED:secret]",
        "client_secret": "[REDACTED:secret]",
        "access_token": "[REDACTED:token]",
    }


def test_json_nested_too_deeply_to_walk_is_still_redacted_and_still_valid() -> None:
    deep = "[" * 200 + '"PASSWORD=hunter2"' + "]" * 200
    redacted, count = redact_text(deep)
    assert count == 1
    assert "hunter2" not in redacted
    json.loads(redacted)


# -- ordinary text is left alone --------------------------------------------------------------

ORDINARY = [
    "Set OPENAI_API_KEY in your environment, then run `opencode`.",
    "export OPENAI_API_KEY=<your key>\nexport OPENAI_API_KEY=$OPENAI_API_KEY",
    "API_KEY=your-api-key-here\nTOKEN=${TOKEN}\nPASSWORD=****\nSECRET=xxxxxxxx",
    "MAX_TOKENS=4096\nPASSWORD_MIN_LENGTH=8\nTOKEN_LIMIT=2000\nDEFAULT_LAST_PASS: Final = 2",
    "password = getpass.getpass()\napi_key = os.environ['API_KEY']\ntoken = tokens[i]\n"
    "API_KEY = os.getenv('API_KEY')\nsecret = secrets.token_hex(16)\npassword: str = ''\n"
    "SECRET_KEY = settings.SECRET_KEY\nkey = cache_key(request)\nif password == confirm: pass",
    "def login(username: str, password: str) -> Token:\n    return auth(password=password)",
    'headers = {"Authorization": f"Bearer {token}"}\ncurl -H "Authorization: Bearer $TOKEN"',
    "Authorization: Bearer <token>, see https://example.com/docs#auth",
    "commit da39a3ee5e6b4b0d3255bfef95601890afd80709\nAuthor: Ada <ada@example.com>\n",
    "id 123e4567-e89b-12d3-a456-426614174000 sha256 "
    "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
    "git@github.com:org/repo.git ssh://git@host:2222/repo https://github.com/org/repo",
    "postgres://app@db:5432/app redis://localhost:6379 http://[::1]:8080/x",
    "https://username:password@host.com:80/path (from the docs)",
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----",
    '{"model": "gpt-4o", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}',
    "The task-runner-for-the-big-monorepo-with-many-parts is sk-ip-able.",
    "Une phrase en français, 中文文本, emoji 🎉 and a key/value list: key: value, pass: 3.",
    "const { password } = req.body;\nuser.password = await hash(password);\n"
    "apiKey: process.env.API_KEY,\npassword: hashedPassword,\ntoken: Token = next(it)",
    'Password string `json:"password"`\nself.api_key = api_key\napi_key: Optional[str] = None',
    "token: ${{ secrets.GITHUB_TOKEN }}\nPOSTGRES_PASSWORD_FILE: /run/secrets/db\n"
    "PASSWORD=$(cat secret.txt)",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == (text, 0)


def test_base64_images_hashes_and_random_identifiers_are_left_alone() -> None:
    rng = random.Random(7)
    image = base64.b64encode(rng.randbytes(300_000)).decode()
    digests = "\n".join(
        f"{hashlib.sha1(str(i).encode()).hexdigest()} {uuid.UUID(int=rng.getrandbits(128))} "
        f"{hashlib.sha256(str(i).encode()).hexdigest().upper()} "
        f"sha512-{base64.b64encode(hashlib.sha512(str(i).encode()).digest()).decode()}"
        for i in range(2000)
    )
    for text in (
        f'<img src="data:image/png;base64,{image}">',
        base64.urlsafe_b64encode(rng.randbytes(300_000)).decode(),
        rng.randbytes(300_000).hex().upper(),
        digests,
    ):
        redacted, count = redact_text(text)
        assert count == 0, redacted[redacted.find("[REDACTED") - 40 :][:120]


def test_this_projects_own_source_holds_nothing_secret_shaped() -> None:
    """Twenty thousand lines of ordinary code and docstrings: a real corpus of near misses
    (``password: str``, ``api_key = ...``, ``max_tokens``, Authorization headers)."""
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        redacted, count = redact_text(text)
        assert count == 0, (path, [line for line in redacted.splitlines() if "[REDACTED:" in line])


# -- sessions: coverage, counts, the original untouched, idempotence --------------------------


def secret_session() -> Session:
    session = Session(title=f"deploy with {GITHUB_CLASSIC}", working_dir="/work/app")
    session.metadata = {"note": f"key {AWS_KEY_ID}", "api_key": "abc123def456", "turns": 2}
    session.tags = ["deploy"]
    session.add_message(SessionMessage(role="user", content=f"use {OPENAI_PROJECT} please"))
    session.add_message(
        SessionMessage(
            role="assistant",
            content="",
            tool_calls=[tool_call(json.dumps({"cmd": f"cat .env && echo {JWT}"}))],
            metadata={"reasoning": "the user gave PASSWORD=hunter2 earlier"},
        )
    )
    session.add_message(
        SessionMessage(role="tool", tool_call_id="call_1", content=f"SECRET=xyz-42\n{RSA_KEY}")
    )
    session.add_tool_invocation(
        ToolInvocation(
            tool_name="bash",
            arguments={"cmd": "psql", "env": {"DB_PASSWORD": "s3cr3t"}},
            result={"stdout": f"connected as {ANTHROPIC}", "lines": [SLACK]},
            error=f"auth failed for Bearer token: Authorization: Bearer {BEARER}",
        )
    )
    return session


SECRETS_IN_SESSION = [
    GITHUB_CLASSIC,
    AWS_KEY_ID,
    "abc123def456",
    OPENAI_PROJECT,
    JWT,
    "hunter2",
    "xyz-42",
    RSA_KEY,
    "s3cr3t",
    ANTHROPIC,
    SLACK,
    BEARER,
]


def test_every_covered_field_is_redacted_and_counted() -> None:
    session = secret_session()
    redacted, count = redact_session(session)
    text = redacted.to_json()
    assert count == len(SECRETS_IN_SESSION)
    assert text.count("[REDACTED:") == count
    for secret in SECRETS_IN_SESSION:
        assert secret not in text
        assert json.dumps(secret)[1:-1] not in text  # nor JSON-escaped
    assert redacted.title == "deploy with [REDACTED:github-token]"
    assert redacted.metadata == {
        "note": "key [REDACTED:aws-key]",
        "api_key": "[REDACTED:secret]",
        "turns": 2,
    }
    arguments = redacted.messages[1].tool_calls[0]["function"]["arguments"]  # type: ignore[index]
    assert json.loads(arguments) == {"cmd": "cat .env && echo [REDACTED:jwt]"}
    assert redacted.tool_history[0].arguments == {
        "cmd": "psql",
        "env": {"DB_PASSWORD": "[REDACTED:password]"},
    }


def test_what_redaction_does_not_touch_is_kept_exactly() -> None:
    session = secret_session()
    redacted, _ = redact_session(session)
    for field in ("id", "working_dir", "model", "tags", "created_at", "updated_at", "journal_seq"):
        assert getattr(redacted, field) == getattr(session, field)
    for before, after in zip(session.messages, redacted.messages, strict=True):
        assert (after.id, after.role, after.timestamp, after.tool_call_id, after.name) == (
            before.id,
            before.role,
            before.timestamp,
            before.tool_call_id,
            before.name,
        )
    assert Session.from_json(redacted.to_json()).to_dict() == redacted.to_dict()


def test_the_original_session_is_untouched_and_shares_nothing_with_the_copy() -> None:
    session = secret_session()
    before = session.to_json()
    redacted, _ = redact_session(session)
    assert session.to_json() == before
    redacted.tags.append("changed")
    redacted.messages[0].metadata = {"x": 1}
    redacted.tool_history[0].result["lines"].append("more")
    assert session.to_json() == before


def test_redacting_twice_replaces_nothing_more() -> None:
    once, count = redact_session(secret_session())
    twice, again = redact_session(once)
    assert count > 0
    assert again == 0
    assert twice.to_json() == once.to_json()


def test_a_session_without_secrets_comes_back_equal_with_a_count_of_zero() -> None:
    session = Session(title="Refactor the parser", working_dir="/w")
    session.add_message(SessionMessage(role="user", content=ORDINARY[4]))
    session.record_tool_call("read", {"path": "README.md"}, ORDINARY[0])
    redacted, count = redact_session(session)
    assert count == 0
    assert redacted.to_json() == session.to_json()


def test_redaction_is_deterministic() -> None:
    first, _ = redact_session(secret_session())
    second, _ = redact_session(secret_session())
    first_dict, second_dict = first.to_dict(), second.to_dict()
    for data in (first_dict, second_dict):  # ids and times differ between the two sessions
        data.pop("id"), data.pop("created_at"), data.pop("updated_at")
        for item in (*data["messages"], *data["tool_history"]):
            item.pop("id"), item.pop("timestamp")
    assert first_dict == second_dict


FRAGMENTS = [
    GITHUB_CLASSIC,
    AWS_KEY_ID,
    JWT,
    "PASSWORD=hunter2",
    "Authorization: Bearer " + BEARER,
    RSA_KEY,
    "https://u:p4ss-word@h",
    '"',
    "\\",
    "\n",
    "{",
    "[",
    "password",
    "=",
    ": ",
]
text_with_secrets = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=8
).map(" ".join)
json_values = st.recursive(
    st.none() | st.integers() | text_with_secrets,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["password", "cmd", "api_key", "x"]), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(json_values)
def test_json_stays_valid_and_redaction_is_idempotent(value: Any) -> None:
    text = json.dumps(value)
    redacted, count = redact_text(text)
    json.loads(redacted)
    assert redact_text(redacted) == (redacted, 0)
    assert redacted.count("[REDACTED:") - text.count("[REDACTED:") == count
    structured, structured_count = redact_value(value)
    assert structured_count == count
    assert redact_value(structured) == (structured, 0)


@given(st.lists(st.sampled_from([*FRAGMENTS, "-", "_", "-----", "A7", "sk-ant-", " "]), max_size=8))
def test_redacting_any_mix_of_secrets_twice_replaces_nothing_more(pieces: list[str]) -> None:
    redacted, _ = redact_text("".join(pieces))
    assert redact_text(redacted) == (redacted, 0)


def test_secrets_glued_to_each_other_are_all_replaced_in_one_go() -> None:
    # The token after a PEM block's -----END line only stands alone once that line is gone.
    for text in (
        RSA_KEY + ANTHROPIC,
        GITHUB_CLASSIC + RSA_KEY,
        RSA_KEY + JWT,
        RSA_KEY + AWS_KEY_ID,
    ):
        redacted, count = redact_text(text)
        assert count == 2, redacted
        assert redact_text(redacted) == (redacted, 0)


# -- cost and availability --------------------------------------------------------------------


@pytest.mark.parametrize("piece", ["sk-", "eyJ", "ghp_", "xoxb-1-", "-----BEGIN PRIVATE KEY-----"])
def test_long_runs_of_key_prefixes_are_scanned_once(piece: str) -> None:
    """Regexes that restart at every prefix in a long run are quadratic (the plugins' own
    OpenAI and JWT ones took minutes on 100 kB of "sk-"); these inputs finish at once."""
    text = piece * (60_000 // len(piece))
    redacted, count = redact_text(text)
    assert redact_text(redacted) == (redacted, 0)
    assert count == (text.count("-----BEGIN") if "BEGIN" in piece else 0)


def test_the_work_is_proportional_to_the_size_of_the_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each string is scanned a bounded number of times (JSON text: once walked, once for its
    layout), so twice the session means exactly twice the scanning."""
    scanned = [0]
    scan = redact_module._redact_plain

    def counting(text: str, *, json_safe: bool = False) -> tuple[str, int]:
        scanned[0] += len(text)
        return scan(text, json_safe=json_safe)

    monkeypatch.setattr(redact_module, "_redact_plain", counting)

    def scanned_for(copies: int) -> tuple[int, int]:
        session = secret_session()
        for _ in range(copies - 1):
            for message in secret_session().messages:
                session.add_message(message)
        scanned[0] = 0
        redact_session(session)
        return scanned[0], len(session.to_json())

    one, size_one = scanned_for(1)
    two, size_two = scanned_for(2)
    assert 0 < one <= 3 * size_one
    assert two - one == scanned_for(3)[0] - two  # each copy adds the same amount of work
    assert two <= 3 * size_two


def test_a_missing_detector_library_is_a_clear_library_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redact_module._finders.cache_clear()
    monkeypatch.setitem(sys.modules, "detect_secrets.plugins.aws", None)
    try:
        with pytest.raises(RedactionUnavailableError, match="pip install 'detect-secrets"):
            redact_text("anything")
    finally:
        redact_module._finders.cache_clear()
    monkeypatch.undo()
    assert redact_text(f"k={AWS_KEY_ID}") == ("k=[REDACTED:aws-key]", 1)


def test_importing_the_module_does_not_load_the_detector() -> None:
    import subprocess

    code = (
        "import sys, opencode.sessions.redact\n"
        "print(sorted(m for m in ('detect_secrets', 'requests') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
