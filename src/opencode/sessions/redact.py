"""Redaction of credential-shaped values in a session, before it leaves the machine.

Exports and shared sessions carry whatever the conversation held, and coding sessions often
hold an ``.env`` file, a ``curl -H 'Authorization: ...'`` or a key pasted by mistake. This is a
safety net, not a guarantee: it replaces what *looks like* a credential with
``[REDACTED:<kind>]`` and cannot see a secret it does not recognise, one split across values,
or one inside an image.

Provider keys are found by the regex plugins of Yelp's ``detect-secrets`` (AWS, GitHub,
GitLab, Slack, Stripe, SendGrid, PyPI, Twilio, Square, Discord, Azure storage, passwords in
URLs; its validator confirms JWTs), through ``analyze_string`` only, which never sends a key
anywhere to verify it. Our own narrow patterns cover what those plugins miss: whole private
key blocks, Anthropic keys, OpenAI keys of every format, fine-grained GitHub tokens, Stripe
test keys, URLs with a password but no user name, ``Authorization:`` headers, and
``NAME=value`` assignments or fields whose name says they hold a password, secret, key or
token. The plugins import ``requests``, so they are imported on first use only.
"""

from __future__ import annotations

import binascii
import copy
import json
import re
import string
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from opencode.sessions.errors import SessionError
from opencode.sessions.validate import MAX_NESTING, nesting_depth

if TYPE_CHECKING:
    from detect_secrets.plugins.base import RegexBasedDetector

    from opencode.sessions.models import Session

__all__ = [
    "PLACEHOLDER",
    "RedactionUnavailableError",
    "redact_session",
    "redact_text",
    "redact_value",
]

PLACEHOLDER: Final = "[REDACTED:{kind}]"
_MARK: Final = "[REDACTED:"
# JSON inside a string inside JSON...: parsed this many levels deep, then treated as text.
MAX_EMBEDDED_JSON: Final = 3
# Passes over one text (see ``_redact_plain``); the second nearly always finds nothing.
MAX_PASSES: Final = 4

# A finder yields (start, end, kind) for each credential it sees in a text.
Finder = Callable[[str], Iterator[tuple[int, int, str]]]


class RedactionUnavailableError(SessionError):
    """The secret detector (the ``detect-secrets`` package) cannot be imported."""


class _Span(NamedTuple):
    start: int
    end: int
    rank: int  # the finder's place in ``_finders()``: a lower rank names the kind
    kind: str
    alone: bool = False  # only a secret when it stands alone (see ``_standing_alone``)


# -- the public API ---------------------------------------------------------------------------


def redact_session(session: Session) -> tuple[Session, int]:
    """A deep copy of ``session`` with credential-shaped values replaced, and how many were.

    Covers the title, message content, tool calls (their JSON arguments stay valid JSON),
    message metadata, the tool history (arguments, results, errors) and session metadata.
    Ids, tags, the working folder, the model name and timestamps are kept as they are.
    """
    copied = copy.deepcopy(session)
    total = 0
    copied.title, total = _add(redact_text(copied.title), total)
    copied.metadata, total = _add(redact_value(copied.metadata), total)
    for message in copied.messages:
        message.content, total = _add(redact_text(message.content), total)
        message.tool_calls, total = _add(redact_value(message.tool_calls), total)
        message.metadata, total = _add(redact_value(message.metadata), total)
    for tool in copied.tool_history:
        tool.arguments, total = _add(redact_value(tool.arguments), total)
        tool.result, total = _add(redact_value(tool.result), total)
        tool.error, total = _add(redact_value(tool.error), total)
    return copied, total


def redact_text(text: str) -> tuple[str, int]:
    """``text`` with credentials replaced, and how many were; JSON text stays valid JSON."""
    return _redact_string(text, 0)


def redact_value(value: Any) -> tuple[Any, int]:
    """A JSON-like value (dicts, lists, strings, scalars) with credentials replaced.

    A string value under a key such as ``password`` or ``api_key`` is replaced whole. Returns
    ``value`` itself when nothing was found, else new containers (the input is never changed).
    """
    return _walk(value, 0)


def _add(result: tuple[Any, int], total: int) -> tuple[Any, int]:
    return result[0], total + result[1]


# -- walking values ---------------------------------------------------------------------------


def _walk(value: Any, level: int) -> tuple[Any, int]:
    if isinstance(value, str):
        return _redact_string(value, level)
    if isinstance(value, dict):
        items: dict[Any, Any] = {}
        total = 0
        for key, item in value.items():
            if isinstance(item, str) and isinstance(key, str):
                items[key], count = _redact_field(key, item, level)
            else:
                items[key], count = _walk(item, level)
            total += count
        return (items, total) if total else (value, 0)
    if isinstance(value, list):
        results = [_walk(item, level) for item in value]
        total = sum(count for _, count in results)
        return ([item for item, _ in results], total) if total else (value, 0)
    return value, 0


def _redact_field(key: str, text: str, level: int) -> tuple[str, int]:
    """A value stored under a credential name: replaced whole when it looks like one."""
    kind = _credential_class(key)
    if kind is None or not _plausible_value(text, kind):
        return _redact_string(text, level)
    redacted, count = _redact_plain(text)  # a provider's name for it beats the field's
    whole = _PLACEHOLDER_ONLY.fullmatch(redacted.strip()) if count == 1 else None
    return (whole.group() if whole else PLACEHOLDER.format(kind=kind)), 1


class _Deep:
    """Marks JSON text nested too deeply to walk: it is redacted as text, JSON-safely."""


_DEEP: Final = _Deep()


def _redact_string(text: str, level: int) -> tuple[str, int]:
    parsed = _json_document(text)
    if parsed is None:
        return _redact_plain(text)
    if parsed is _DEEP or level >= MAX_EMBEDDED_JSON:
        return _redact_plain(text, json_safe=True)
    new, count = _walk(parsed, level + 1)
    if not count:
        return text, 0
    return _reencode(text, new, count), count


def _json_document(text: str) -> Any:
    """The object, array or string that ``text`` holds as JSON, ``_DEEP`` if it is too deep
    to walk, else None (not JSON, or a bare number, true, false or null)."""
    if not text.lstrip().startswith(("{", "[", '"')):
        return None
    try:
        value = json.loads(text)
    except RecursionError:
        return _DEEP
    except ValueError:
        return None
    if not isinstance(value, (dict, list, str)):
        return None
    return _DEEP if nesting_depth(value) > MAX_NESTING else value


def _reencode(original: str, new: Any, count: int) -> str:
    """JSON text for ``new``: the original text redacted in place when that gives the same
    value (so its layout survives), else ``new`` serialised afresh."""
    in_place, found = _redact_plain(original, json_safe=True)
    if found == count:
        try:
            if json.loads(in_place) == new:
                return in_place
        except (ValueError, RecursionError):
            pass
    return json.dumps(new, ensure_ascii=False)


# -- finding and replacing in text ------------------------------------------------------------


def _redact_plain(text: str, *, json_safe: bool = False) -> tuple[str, int]:
    """Replace every span the finders report; ``json_safe`` skips spans holding ``"`` or
    ``\\`` so JSON text stays valid.

    Replacing a secret can bare another one glued to it (a key right after a PEM block's
    ``-----END ...-----`` does not start a token until that line is a placeholder), so passes
    repeat until one finds nothing, and redacting the result again finds nothing either.
    """
    total = 0
    for _ in range(MAX_PASSES):
        text, count = _redact_pass(text, json_safe)
        total += count
        if not count:
            break
    return text, total


def _redact_pass(text: str, json_safe: bool) -> tuple[str, int]:
    spans = [
        _Span(start, end, rank, kind, alone)
        for rank, (finder, alone) in enumerate(_finders())
        for start, end, kind in finder(text)
        if start < end and not _is_placeholder(text[start:end])
    ]
    if not spans:
        return text, 0
    protected = _data_url_payloads(text)
    kept = [
        span
        for span in _merge(
            _standing_alone(text, [s for s in spans if not _overlaps(s.start, s.end, protected)])
        )
        if not json_safe or not _JSON_UNSAFE.search(text, span.start, span.end)
    ]
    pieces: list[str] = []
    last = 0
    for span in kept:
        pieces += (text[last : span.start], PLACEHOLDER.format(kind=span.kind))
        last = span.end
    pieces.append(text[last:])
    return "".join(pieces), len(kept)


_PLACEHOLDER_WORDS: Final = frozenset(
    {"password", "passwd", "pass", "pwd", "secret", "token", "apikey", "api_key", "key"}
)


def _is_placeholder(value: str) -> bool:
    """A stand-in from documentation (``password``, ``<password>``, ``****``), not a secret."""
    if not any(c.isalnum() for c in value):
        return True
    return (value[0] == "<" and value[-1] == ">") or value.lower() in _PLACEHOLDER_WORDS


def _merge(spans: Iterable[_Span]) -> list[_Span]:
    """Overlapping spans become one, named by the finder ranked first."""
    merged: list[_Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.rank)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            best = last if last.rank <= span.rank else span
            merged[-1] = _Span(last.start, max(last.end, span.end), best.rank, best.kind)
        else:
            merged.append(span)
    return merged


_JSON_UNSAFE: Final = re.compile(r'["\\]')
_PLACEHOLDER_ONLY: Final = re.compile(r"\[REDACTED:[a-z0-9-]+\]")
# A data URL's base64 payload is an image or a file, never rewritten: a match in it is noise.
_DATA_URL: Final = re.compile(
    r"data:[\w.+-]+/[\w.+-]+(?:;[\w.+-]+=[\w.+-]+)*;base64,(?P<payload>[A-Za-z0-9+/=]+)"
)


def _data_url_payloads(text: str) -> list[tuple[int, int]]:
    if "base64," not in text:
        return []
    return [m.span("payload") for m in _DATA_URL.finditer(text)]


def _overlaps(start: int, end: int, ranges: list[tuple[int, int]]) -> bool:
    """Whether ``start:end`` touches one of the sorted, disjoint ``ranges``."""
    i = bisect_left(ranges, (end,)) - 1  # the last range starting before the span ends
    return i >= 0 and ranges[i][1] > start


def _standing_alone(text: str, spans: list[_Span]) -> list[_Span]:
    """Drop plugin matches glued to a longer run of token characters (random base64, an
    upper-case hex digest: the plugins' regexes have no word boundaries, and ``ACCA`` + 16
    hex digits is an AWS key id to them), unless what they are glued to is replaced too: a
    second pass would see a placeholder there, and redaction must be idempotent."""
    kept: list[_Span] = []
    unresolved: dict[_Span, set[int]] = {}  # a glued match -> the glued positions left
    for span in spans:
        glue = {at for at in (span.start - 1, span.end) if _is_token_char(text, at)}
        if span.alone and glue:
            unresolved[span] = glue
        else:
            kept.append(span)
    waiting_at: dict[int, list[_Span]] = {}
    for span, glue in unresolved.items():
        for at in glue:
            waiting_at.setdefault(at, []).append(span)
    positions = sorted(waiting_at)
    queue = list(kept)
    while queue and waiting_at:  # each replaced span frees the matches glued into it
        cover = queue.pop()
        i = bisect_left(positions, cover.start)
        while i < len(positions) and positions[i] < cover.end:
            for span in waiting_at.pop(positions[i], ()):
                unresolved[span].discard(positions[i])
                if not unresolved[span]:
                    kept.append(span)
                    queue.append(span)
            i += 1
    return kept


_TOKEN_CHARS: Final = frozenset(string.ascii_letters + string.digits + "_-+")


def _is_token_char(text: str, at: int) -> bool:
    return 0 <= at < len(text) and text[at] in _TOKEN_CHARS


# -- the finders ------------------------------------------------------------------------------


@cache
def _finders() -> tuple[tuple[Finder, bool], ...]:
    """Every finder, most specific first (the first one names a merged span), and whether
    its matches count only when they stand alone."""
    return (
        (_private_keys, False),
        *((finder, False) for finder in _own_provider_finders()),
        *((finder, True) for finder in _library_finders()),
        (_url_passwords_without_user, False),
        (_authorization_headers, False),
        (_assignments, False),
    )


def _library_finders() -> list[Finder]:
    """detect-secrets' provider plugins: regexes tuned on real keys, kept by its authors."""
    try:
        from detect_secrets.plugins.aws import AWSKeyDetector
        from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
        from detect_secrets.plugins.basic_auth import BasicAuthDetector
        from detect_secrets.plugins.discord import DiscordBotTokenDetector
        from detect_secrets.plugins.github_token import GitHubTokenDetector
        from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
        from detect_secrets.plugins.jwt import JwtTokenDetector
        from detect_secrets.plugins.pypi_token import PypiTokenDetector
        from detect_secrets.plugins.sendgrid import SendGridDetector
        from detect_secrets.plugins.slack import SlackDetector
        from detect_secrets.plugins.square_oauth import SquareOAuthDetector
        from detect_secrets.plugins.stripe import StripeDetector
        from detect_secrets.plugins.twilio import TwilioKeyDetector
    except ImportError as exc:
        raise RedactionUnavailableError(
            f"secret redaction needs the detect-secrets package ({exc}); "
            "install it with: pip install 'detect-secrets>=1.5,<2'"
        ) from exc
    plugins: list[tuple[RegexBasedDetector, str]] = [
        (AWSKeyDetector(), "aws-key"),
        (GitHubTokenDetector(), "github-token"),
        (GitLabTokenDetector(), "gitlab-token"),
        (SlackDetector(), "slack-token"),
        (StripeDetector(), "stripe-key"),
        (SendGridDetector(), "sendgrid-key"),
        (PypiTokenDetector(), "pypi-token"),
        (TwilioKeyDetector(), "twilio-key"),
        (SquareOAuthDetector(), "square-token"),
        (DiscordBotTokenDetector(), "discord-token"),
        (AzureStorageKeyDetector(), "azure-storage-key"),
        (BasicAuthDetector(), "url-password"),
    ]
    jwt = _regex_finder("jwt", _JWT, lambda m: JwtTokenDetector.is_formally_valid(m["signed"]))
    return [_plugins_finder(plugins), jwt]


# Where a plugin's match stops short of the whole credential, the full extent from its start:
# the Stripe regex stops after 24 characters, and live keys are longer.
_EXTENTS: Final = {"stripe-key": re.compile(r"[rs]k_live_[0-9A-Za-z]+")}
# The JWT plugin's regex ends before the signature and, like its OpenAI one, starts a scan of
# the whole run at every "eyJ" in it (quadratic on a long base64url blob); so ours finds
# JWTs, from the start of a run only, and the plugin's ``is_formally_valid`` confirms that
# the header and payload decode to JSON (not the signature: what follows it must not decide).
_JWT: Final = (
    r"(?P<signed>eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]*=*\.[A-Za-z0-9_-]+=*)"
    r"(?:\.(?:[A-Za-z0-9_=]|-(?!----))+){0,3}"  # the signature (JWE: more parts); not a PEM's -----
)


# Plugins whose regexes match some context and capture the secret itself in their groups
# (``aws ... key = "<secret>"``, ``://user:<password>@``); in the others a group is only an
# alternation (``(ghp|gho|...)_``) and the whole match is the secret.
_CAPTURING_PLUGINS: Final = frozenset({"aws-key", "url-password"})


def _plugins_finder(plugins: list[tuple[RegexBasedDetector, str]]) -> Finder:
    """Spans of what the plugins find: positions come from their regexes, and each plugin's
    ``analyze_string`` confirms its matches."""
    table = [
        (regex, plugin, kind, _EXTENTS.get(kind))
        for plugin, kind in plugins
        for regex in plugin.denylist
    ]

    def find(text: str) -> Iterator[tuple[int, int, str]]:
        for regex, plugin, kind, extent in table:
            for match in regex.finditer(text):
                if next(iter(plugin.analyze_string(match.group(0))), None) is None:
                    continue
                groups = [g for g in range(1, regex.groups + 1) if match.group(g)]
                for group in groups if groups and kind in _CAPTURING_PLUGINS else [0]:
                    start, end = match.span(group)
                    whole = extent.match(text, start) if extent else None
                    yield start, (whole.end() if whole else end), kind

    return find


def _regex_finder(
    kind: str,
    pattern: str,
    check: Callable[[re.Match[str]], bool] | None = None,
    group: int | str = 0,
) -> Finder:
    regex = re.compile(pattern)

    def find(text: str) -> Iterator[tuple[int, int, str]]:
        for match in regex.finditer(text):
            if check is None or check(match):
                yield (*match.span(group), kind)

    return find


def _mixed_case_with_digit(match: re.Match[str]) -> bool:
    """Random key bodies mix cases and digits; ``sk-some-long-kebab-name`` does not."""
    body = match.group("body")
    return (
        any(c.isupper() for c in body)
        and any(c.islower() for c in body)
        and any(c.isdigit() for c in body)
    )


def _own_provider_finders() -> list[Finder]:
    """Provider formats detect-secrets 1.5 does not know (or, for OpenAI, knows only in the
    legacy form, with a regex that is quadratic on long runs: ours covers both)."""
    return [
        _regex_finder("anthropic-key", r"sk-ant-(?<![\w-]sk-ant-)[A-Za-z0-9_-]{20,}"),
        # Legacy keys (with "T3BlbkFJ") and the newer sk-proj-, sk-svcacct-, sk-admin- ones.
        _regex_finder(
            "openai-key",
            r"sk-(?<![\w-]sk-)(?:proj-|svcacct-|admin-)?(?P<body>[A-Za-z0-9_-]{32,})",
            _mixed_case_with_digit,
        ),
        _regex_finder("github-token", r"github_pat_(?<!\wgithub_pat_)[A-Za-z0-9_]{22,}"),
        _regex_finder("stripe-key", r"[rs]k_test_(?<!\w[rs]k_test_)[0-9A-Za-z]{24,}"),
    ]


# The plugin needs a user name before the colon; redis://:password@host has none.
_url_passwords_without_user: Final = _regex_finder(
    "url-password", r"://:(?P<pw>[^\s:/?#\[\]@!$&'()*+,;=]+)@", group="pw"
)


# -- private key blocks -----------------------------------------------------------------------

_PEM_BEGIN: Final = re.compile(r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
# Everything up to the END line (the body never holds "-----", so the scan stops at the next
# BEGIN line and each character is read once).
_PEM_REST: Final = re.compile(
    r"(?:[^-]|-(?!----))*(?P<end>-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?"
)
# Without an END line (a truncated paste): the whole base64 lines after the BEGIN line.
_NL: Final = r"(?:\r?\n|\\r\\n|\\n)"  # a real line break, or one escaped as in JSON text
_PEM_BODY_LINES: Final = re.compile(
    rf"(?:[ \t]*{_NL}[ \t]*[A-Za-z0-9+/=]+(?=[ \t]*(?:{_NL}|\r|$)))*"
)


def _private_keys(text: str) -> Iterator[tuple[int, int, str]]:
    """Whole PEM/OpenSSH/PGP private key blocks, BEGIN line to END line.

    The plugin flags only the BEGIN line; the key is the lines after it.
    """
    pos = 0
    while (begin := _PEM_BEGIN.search(text, pos)) is not None:
        rest = _PEM_REST.match(text, begin.end())
        if rest is not None and rest.group("end"):
            end = rest.end()
        else:
            body = _PEM_BODY_LINES.match(text, begin.end())
            end = body.end() if body else begin.end()
        yield begin.start(), end, "private-key"
        pos = end


# -- Authorization headers --------------------------------------------------------------------

_AUTHORIZATION: Final = re.compile(
    r"""(?i:authorization)["']?[ \t]*[:=][ \t]*["']?(?P<scheme>(?i:bearer|basic|token|bot))"""
    r"[ \t]+(?P<value>[A-Za-z0-9._~+/-]{8,}=*)"
)


def _authorization_headers(text: str) -> Iterator[tuple[int, int, str]]:
    """``Authorization: Bearer <token>`` (and Basic, token, Bot) in headers and code."""
    for match in _AUTHORIZATION.finditer(text):
        value = match.group("value")
        if _looks_like_credential(value) or (
            match.group("scheme").lower() == "basic" and _is_basic_credential(value)
        ):
            yield (*match.span("value"), "bearer-token")


def _looks_like_credential(value: str) -> bool:
    """A header value worth hiding: ``YOUR_TOKEN_HERE`` is not, ``abc123...`` is."""
    return any(c.isdigit() for c in value) or len(value) >= 24


def _is_basic_credential(value: str) -> bool:
    import base64

    try:
        return b":" in base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False


# -- NAME=value assignments and credential-named fields ---------------------------------------

_PASSWORD_ENDINGS: Final = ("password", "passwd", "passphrase")
_PASS_NAME: Final = re.compile(r"(?:^|[_.-])PASS$")  # DB_PASS=, not bypass= nor pass: 3
_SECRET_ENDINGS: Final = ("secret", "apikey", "accesskey", "privatekey", "secretkey")
_TOKEN_PREFIXES: Final = (
    "access", "api", "auth", "bearer", "bot", "id", "oauth", "personal", "refresh", "secret",
    "session",
)  # fmt: skip
_NOT_SECRETS: Final = frozenset({"none", "null", "nil", "true", "false", "undefined", "empty"})


def _credential_class(name: str) -> str | None:
    """``password``, ``secret`` or ``token`` when a name says it holds one, else None.

    Judged by how the name ends (``DB_PASSWORD``, ``apiKey``, ``GITHUB_TOKEN``), so
    ``PASSWORD_MIN_LENGTH`` and ``max_tokens`` are not credentials.
    """
    lowered = name.lower()
    squashed = re.sub(r"[^a-z0-9]", "", lowered)
    if squashed.endswith(_PASSWORD_ENDINGS) or (name.isupper() and _PASS_NAME.search(name)):
        return "password"
    if squashed.endswith(_SECRET_ENDINGS):
        return "secret"
    if squashed.endswith("token"):
        prefix = squashed[:-5]
        if (name.isupper() and (not prefix or lowered.endswith("_token"))) or prefix.endswith(
            _TOKEN_PREFIXES
        ):
            return "token"
    return None


def _plausible_value(value: str, kind: str) -> bool:
    """False for what is clearly not a credential: a reference (``$VAR``, ``${x}``,
    ``{{ x }}``), a path, ``null``, a mask (``****``, ``xxxx``), a placeholder (``<key>``,
    ``your-key-here``), a small number (``LAST_PASS = 2``)."""
    stripped = value.strip()
    if not stripped or _MARK in stripped or stripped[0] in "$<{%[/~":
        return False
    lowered = stripped.lower()
    if lowered in _NOT_SECRETS or lowered.startswith(("your", "./")) or _is_placeholder(stripped):
        return False
    if set(lowered) <= set("x.-_") or (stripped.isdigit() and len(stripped) < 4):
        return False
    if kind == "token":
        return len(stripped) >= 8 and not stripped.isdigit() and " " not in stripped
    return True


# Found from the operator back: a credential word, then ``=``, ``:=`` or ``:``. Searching
# for the word first is several times faster than trying a name at every word start.
_ASSIGNMENT: Final = re.compile(
    rb"""(?P<word>pass(?:word|wd|phrase)?|secret|key|token)["']?[ \t]*(?::=|=(?!=)|:)[ \t]*"""
)
_VALUE: Final = re.compile(
    r""""(?P<dq>[^"\n\\]*)"|'(?P<sq>[^'\n\\]*)'|(?P<bare>[^\s"'`,;()\[\]{}<>]+)"""
)
_NAME_CHARS: Final = frozenset(string.ascii_letters + string.digits + "_.-")
_NOT_BEFORE_NAME: Final = _NAME_CHARS | {"$", "{"}  # a longer name, or $NAME / ${NAME}
MAX_NAME: Final = 64
_ANNOTATED: Final = re.compile(r"[ \t]*=(?!=)")
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _assignments(text: str) -> Iterator[tuple[int, int, str]]:
    """``API_KEY=...``, ``export DB_PASSWORD="..."``, ``--password=...``, ``"secret": "..."``.

    An unquoted value after a lower-case name is taken for code (``api_key = key``,
    ``password = args.password``) unless it could not be a name; a quoted one is a literal.
    """
    folded = text.encode("ascii", "replace").lower()  # a byte per character: same offsets
    for match in _ASSIGNMENT.finditer(folded):
        name, flag = _name_before(text, match.end("word"))
        kind = _credential_class(name) if name else None
        value = _VALUE.match(text, match.end()) if kind else None
        if kind is None or value is None or value.lastgroup is None:
            continue
        secret = value.group(value.lastgroup)
        if not _plausible_value(secret, kind):
            continue
        if value.lastgroup == "bare" and _looks_like_code(text, value.end(), name, secret, flag):
            continue
        yield (*value.span(value.lastgroup), kind)


def _name_before(text: str, end: int) -> tuple[str, bool]:
    """The name ending at ``end`` (letters first; ``$NAME`` and ``${NAME}`` are references,
    not names), and whether it is a ``--flag``."""
    start = end
    while start > end - MAX_NAME and start > 0 and text[start - 1] in _NAME_CHARS:
        start -= 1
    if start > 0 and text[start - 1] in _NOT_BEFORE_NAME:
        return "", False
    name = text[start:end].lstrip("0123456789_.-")
    return name, text[start:end].startswith("--")


def _looks_like_code(text: str, end: int, name: str, value: str, flag: bool) -> bool:
    if text[end : end + 1] in ("(", "["):  # a call or an index: get(...), tokens[i]
        return True
    if _ANNOTATED.match(text, end):  # NAME: Final = ... (the bare word is a type)
        return True
    if "." in value and _IDENTIFIER.fullmatch(value):  # settings.SECRET_KEY
        return True
    if name.isupper() or flag or not _IDENTIFIER.fullmatch(value):
        return False
    # A lower-case name given a bare word: code, unless the word is long and has digits.
    return len(value) < 16 or not any(c.isdigit() for c in value)
