"""Sharing one session by link, and importing a shared session from its link.

``share_session`` uploads one snapshot, redacted by default, to
``<prefix>/opencode-sync/v1/shared/<random>.json`` and returns a presigned URL (at most 7
days, S3's limit for SigV4 links). The file is the spec's session JSON, so any HTTPS URL
serving such a file can be imported too. ``fetch_shared`` downloads and checks one (httpx,
size-capped, short timeouts); ``import_shared`` writes it here as a new session that records
where it came from: ``metadata["imported_from"] = {"tool": "share", "url": <url without its
query string>}`` (the query string of a presigned URL is a credential, never stored).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

import orjson

from opencode.sessions.errors import SessionCorruptedError
from opencode.sessions.fileio import MAX_SESSION_FILE_BYTES, dumps_json
from opencode.sessions.ids import new_session_id
from opencode.sessions.models import Session
from opencode.sessions.validate import utc_now
from opencode.sync.errors import ShareError
from opencode.sync.layout import Layout
from opencode.sync.manifest import BadRemoteDataError, gunzip_capped, session_document
from opencode.sync.remotes import Remote
from opencode.sync.store import ObjectStore

if TYPE_CHECKING:
    from opencode.sessions.importers import ImportOutcome
    from opencode.sessions.manager import SessionManager

SHARE_TOOL: Final = "share"
IMPORTED_FROM: Final = "imported_from"
DEFAULT_EXPIRES: Final = "7d"
MAX_EXPIRES_SECONDS: Final = 7 * 86400  # S3 refuses longer SigV4 presigned URLs
MIN_EXPIRES_SECONDS: Final = 60
FETCH_TIMEOUT_SECONDS: Final = 30.0
MAX_REDIRECTS: Final = 5
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# What belonged to the sharer's store, not to the conversation.
_STORE_METADATA: Final = ("pinned", "archived_at", "forked_from", IMPORTED_FROM)


@dataclass(frozen=True)
class SharedLink:
    """A shared session: the link, when it stops working, and what was redacted."""

    url: str
    key: str
    expires_at: datetime
    session_id: str
    title: str
    size: int
    redacted: int | None  # None: redaction was turned off

    def to_dict(self) -> dict[str, object]:
        return {
            "url": self.url,
            "key": self.key,
            "expires_at": self.expires_at.isoformat(),
            "id": self.session_id,
            "title": self.title,
            "bytes": self.size,
            "redacted": self.redacted,
        }


def parse_expiry(text: str) -> int:
    """Seconds in ``30m``, ``12h``, ``7d``, ``1w`` (or plain seconds), 1 minute to 7 days."""
    found = re.fullmatch(r"\s*(\d{1,7})\s*([smhdw]?)\s*", text.lower())
    if found is None:
        raise ShareError(f"invalid expiry {text[:20]!r}: use e.g. 30m, 12h, 7d")
    seconds = int(found.group(1)) * _UNITS[found.group(2) or "s"]
    if not MIN_EXPIRES_SECONDS <= seconds <= MAX_EXPIRES_SECONDS:
        raise ShareError("a shared link expires after 1 minute to 7 days (S3's limit)")
    return seconds


def redacted_copy(session: Session) -> tuple[Session, int]:
    """The copy of ``session`` that leaves the machine, and how many values were replaced."""
    from opencode.sessions.redact import redact_session

    return redact_session(session)


def share_session(
    remote: Remote, session: Session, *, expires_seconds: int, redact: bool = True
) -> SharedLink:
    """Upload ``session`` (redacted unless ``redact`` is False) and presign a link to it."""
    count: int | None = None
    if redact:
        session, count = redacted_copy(session)
    document = session_document(session)
    metadata = document["metadata"]
    document["metadata"] = {k: v for k, v in metadata.items() if k not in _STORE_METADATA}
    body = dumps_json(document)
    layout = Layout(remote.prefix)
    key = layout.shared_key(secrets.token_urlsafe(24))
    store = ObjectStore.connect(remote, workers=1)
    if not store.put_new(key, body):
        raise ShareError("a shared file with that random name exists; try again")
    url = store.presigned_get(key, expires_seconds)
    return SharedLink(
        url=url,
        key=key,
        expires_at=utc_now() + timedelta(seconds=expires_seconds),
        session_id=session.id,
        title=session.title,
        size=len(body),
        redacted=count,
    )


def shown_url(url: str) -> str:
    """The URL without its query string and fragment: a presigned URL's signature stays out
    of messages and of the imported session."""
    return url.split("?", 1)[0].split("#", 1)[0]


def fetch_shared(url: str) -> Session:
    """The session a shared link (or any URL serving the spec's session JSON) holds.

    Redirects are followed (a few), the body is capped at the size of a session file,
    and everything ``Session.from_dict`` checks is checked. ``ShareError`` otherwise.
    """
    import httpx

    shown = shown_url(url)
    try:
        with (
            httpx.Client(
                timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True, max_redirects=MAX_REDIRECTS
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise ShareError(f"cannot fetch {shown}: HTTP {response.status_code}")
            data = _read_capped(response.iter_bytes(), shown)
    except httpx.HTTPError as exc:
        raise ShareError(f"cannot fetch {shown}: {exc}") from None
    return _parse_shared(data, shown)


def _read_capped(chunks: Iterator[bytes], shown: str) -> bytes:
    parts: list[bytes] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_SESSION_FILE_BYTES:
            raise ShareError(f"{shown}: larger than a session may be")
        parts.append(chunk)
    return b"".join(parts)


def _parse_shared(data: bytes, shown: str) -> Session:
    if data.startswith(b"\x1f\x8b"):
        try:
            data = gunzip_capped(data, MAX_SESSION_FILE_BYTES)
        except BadRemoteDataError as exc:
            raise ShareError(f"{shown}: {exc}") from None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ShareError(f"{shown}: not an opencode session (not valid JSON)") from None
    try:
        return Session.from_dict(document)
    except SessionCorruptedError as exc:
        raise ShareError(f"{shown}: not an opencode session ({exc})") from None


def import_shared(manager: SessionManager, url: str) -> ImportOutcome:
    """Fetch a shared session and write it here as a new session (never twice the same
    id), recording the link it came from."""
    from opencode.sessions.importers import IMPORTED, ImportOutcome, SourceRef
    from opencode.sync.local import LocalSessions

    session = fetch_shared(url)
    shown = shown_url(url)
    for key in _STORE_METADATA:
        session.metadata.pop(key, None)
    session.metadata[IMPORTED_FROM] = {"tool": SHARE_TOOL, "url": shown}
    session.id = new_session_id()
    session.journal_seq = 0
    LocalSessions(manager.storage, manager.index).write(session, expect=None)
    return ImportOutcome(
        IMPORTED,
        session.id,
        SourceRef(SHARE_TOOL, None, shown),
        session.title,
        session.message_count,
    )
