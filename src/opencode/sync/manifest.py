"""What a device publishes: session objects and manifest batches, and how both are checked.

A session object is the session in the spec's JSON format (``journal_seq`` zeroed, keys
sorted), gzip-compressed; its name is the SHA-256 of the uncompressed JSON, checked on every
read. A large push puts many small objects end to end in one pack; their entries then carry
the byte offset in the pack and the object's own SHA-256.

A batch lists the sessions one sync changed, one entry each; an entry says which
object holds the session's content and carries the fields that sync merges on their own
(title, tags, pin, archive), so a metadata-only edit publishes no new object. A deleted
session is an entry with ``deleted_at`` set (a tombstone).

Two fingerprints tell versions apart without downloading them: ``content`` (SHA-256 of the
session without the separately merged fields and the times they touch) and ``base`` (the
content the publisher last had in common with the remote: the version it built on).
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

import orjson

from opencode.sessions.errors import SessionCorruptedError
from opencode.sessions.ids import is_valid_session_id
from opencode.sessions.models import Session
from opencode.sync.errors import SyncFormatError
from opencode.sync.layout import (
    DEVICE_PATTERN,
    FORMAT_VERSION,
    SHA_PATTERN,
    is_object_path,
    is_pack_path,
)

# Fields of a session that sync merges one by one (local wins when both sides changed one).
METADATA_FIELDS: Final = ("title", "tags", "pinned", "archived_at")
# A session object larger than this (uncompressed) is refused: the cap of a session file.
MAX_OBJECT_BYTES: Final = 512 * 1024 * 1024
MAX_BATCH_BYTES: Final = 256 * 1024 * 1024
# Batches naming byte ranges of packs are format 2: an opencode that reads only format 1
# refuses them clearly instead of skipping their entries. Batches without packs stay 1.
PACKED_FORMAT: Final = 2
BATCH_KIND: Final = "log"
SNAPSHOT_KIND: Final = "snapshot"


class BadRemoteDataError(Exception):
    """A batch or object that is not what it claims to be (skipped with a warning)."""


@dataclass(frozen=True)
class Metadata:
    """The separately merged fields of a session."""

    title: str = ""
    tags: tuple[str, ...] = ()
    pinned: bool = False
    archived_at: str | None = None

    @classmethod
    def of(cls, session: Session) -> Metadata:
        archived = session.metadata.get("archived_at")
        return cls(
            title=session.title,
            tags=tuple(session.tags),
            pinned=session.metadata.get("pinned") is True,
            archived_at=archived if isinstance(archived, str) else None,
        )

    def apply_to(self, session: Session) -> None:
        """Give ``session`` these values (pin and archive live in its metadata)."""
        session.title = self.title
        session.tags = list(self.tags)
        if self.pinned:
            session.metadata["pinned"] = True
        else:
            session.metadata.pop("pinned", None)
        if self.archived_at is not None:
            session.metadata["archived_at"] = self.archived_at
        else:
            session.metadata.pop("archived_at", None)

    def merged(self, base: Metadata | None, incoming: Metadata) -> Metadata:
        """Three-way merge, field by field: a field changed on one side only takes that
        side's value; changed on both (or no common point), ours (``self``) wins."""
        if base is None:
            return self
        values = {
            name: getattr(incoming if getattr(self, name) == getattr(base, name) else self, name)
            for name in METADATA_FIELDS
        }
        return Metadata(**values)


@dataclass(frozen=True)
class Entry:
    """One session as one device published it (or its deletion)."""

    id: str
    device: str
    host: str
    written_at: str
    metadata: Metadata = field(default_factory=Metadata)
    content: str | None = None  # None for a tombstone
    object_path: str | None = None  # the object's key, relative to the sync root
    object_bytes: int = 0
    # In a pack: where the session's object starts, and its SHA-256 (the pack's name is
    # that of the whole pack). None for an object of its own.
    object_offset: int | None = None
    object_sha: str | None = None
    message_count: int = 0
    last_message_id: str | None = None
    updated_at: str | None = None
    deleted_at: str | None = None
    base: str | None = None
    seq: int = 0

    @property
    def is_tombstone(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_packed(self) -> bool:
        return self.object_offset is not None

    @property
    def object_id(self) -> str | None:
        """What names this entry's object among all objects: its path, plus the byte
        offset and the SHA-256 claimed for it in a pack (two entries naming one place with
        different hashes are two claims, and a false one must not stand for the other)."""
        if self.object_path is None or self.object_offset is None:
            return self.object_path
        return f"{self.object_path}@{self.object_offset}:{self.object_sha}"

    @property
    def sha(self) -> str | None:
        """The SHA-256 of the session's uncompressed object, checked on every read."""
        if self.object_path is None:
            return None
        return self.object_sha or self.object_path.rsplit("/", 1)[-1]

    def order_key(self) -> tuple[str, str, int]:
        """Entries of one session are applied in this order (time written, device, seq)."""
        return (self.written_at, self.device, self.seq)

    def with_object_of(self, other: Entry | None) -> Entry:
        """This entry pointing at ``other``'s object (its whole place in a pack), or at
        none when ``other`` is None."""
        return replace(
            self,
            object_path=other.object_path if other else None,
            object_bytes=other.object_bytes if other else 0,
            object_offset=other.object_offset if other else None,
            object_sha=other.object_sha if other else None,
        )

    def with_seq(self, seq: int) -> Entry:
        return replace(self, seq=seq)

    def to_dict(self) -> dict[str, Any]:
        packed = {} if self.object_offset is None else {
            "offset": self.object_offset,
            "sha": self.object_sha,
        }  # fmt: skip
        return {
            **packed,
            "id": self.id,
            "device": self.device,
            "host": self.host,
            "written_at": self.written_at,
            "seq": self.seq,
            "content": self.content,
            "object": self.object_path,
            "object_bytes": self.object_bytes,
            "message_count": self.message_count,
            "last_message_id": self.last_message_id,
            "title": self.metadata.title,
            "tags": list(self.metadata.tags),
            "pinned": self.metadata.pinned,
            "archived_at": self.metadata.archived_at,
            "updated_at": self.updated_at,
            "deleted_at": self.deleted_at,
            "base": self.base,
        }

    @classmethod
    def from_dict(cls, data: object) -> Entry:
        """An entry, or ``BadRemoteDataError`` for anything malformed or unsafe."""
        if not isinstance(data, Mapping):
            raise BadRemoteDataError("an entry is not an object")
        session_id = data.get("id")
        if not is_valid_session_id(session_id):
            raise BadRemoteDataError(f"invalid session id {str(session_id)[:40]!r}")
        assert isinstance(session_id, str)
        device = _text(data, "device")
        if not DEVICE_PATTERN.fullmatch(device):
            raise BadRemoteDataError(f"invalid device id {device[:40]!r}")
        content = _opt_text(data, "content")
        obj = _opt_text(data, "object")
        deleted_at = _opt_text(data, "deleted_at")
        if deleted_at is None and (content is None or obj is None):
            raise BadRemoteDataError(f"entry for {session_id} has neither content nor deletion")
        if content is not None and not SHA_PATTERN.fullmatch(content):
            raise BadRemoteDataError(f"entry for {session_id} has a malformed content hash")
        if obj is not None and not is_object_path(obj):
            raise BadRemoteDataError(f"entry for {session_id} points outside the sync folder")
        offset, sha = _pack_position(data, obj, session_id)
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise BadRemoteDataError(f"entry for {session_id} has malformed tags")
        base = _opt_text(data, "base")
        if base is not None and not SHA_PATTERN.fullmatch(base):
            raise BadRemoteDataError(f"entry for {session_id} has a malformed base")
        return cls(
            id=session_id,
            device=device,
            host=_text(data, "host"),
            written_at=_text(data, "written_at"),
            metadata=Metadata(
                title=_text(data, "title"),
                tags=tuple(tags),
                pinned=data.get("pinned") is True,
                archived_at=_opt_text(data, "archived_at"),
            ),
            content=content,
            object_path=obj,
            object_bytes=_count(data, "object_bytes"),
            object_offset=offset,
            object_sha=sha,
            message_count=_count(data, "message_count"),
            last_message_id=_opt_text(data, "last_message_id"),
            updated_at=_opt_text(data, "updated_at"),
            deleted_at=deleted_at,
            base=base,
            seq=_count(data, "seq"),
        )


def _pack_position(
    data: Mapping[str, Any], obj: str | None, session_id: str
) -> tuple[int | None, str | None]:
    """The offset and SHA-256 of an entry's object in a pack: both or neither, and both
    exactly when the entry points into a pack."""
    if obj is None or not is_pack_path(obj):
        if "offset" in data or "sha" in data:
            raise BadRemoteDataError(f"entry for {session_id} has a byte range outside a pack")
        return None, None
    sha = _opt_text(data, "sha")
    if sha is None or not SHA_PATTERN.fullmatch(sha) or "offset" not in data:
        raise BadRemoteDataError(f"entry for {session_id} names a pack without its place in it")
    if _count(data, "object_bytes") == 0:
        raise BadRemoteDataError(f"entry for {session_id} names an empty range of a pack")
    return _count(data, "offset"), sha


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise BadRemoteDataError(f"field {key!r} is not text")
    return value


def _opt_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRemoteDataError(f"field {key!r} is not text")
    return value


def _count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRemoteDataError(f"field {key!r} is not a count")
    return value


@dataclass(frozen=True)
class Batch:
    """A log batch or a snapshot: a device's entries as of its batch ``seq``."""

    kind: str
    device: str
    host: str
    seq: int
    written_at: str
    entries: tuple[Entry, ...]

    def encode(self) -> bytes:
        packed = any(entry.is_packed for entry in self.entries)
        document = {
            "format": PACKED_FORMAT if packed else FORMAT_VERSION,
            "kind": self.kind,
            "device": self.device,
            "host": self.host,
            "seq": self.seq,
            "written_at": self.written_at,
            "entries": [entry.to_dict() for entry in self.entries],
        }
        return orjson.dumps(document) + b"\n"


def decode_batch(data: bytes, *, kind: str, device: str, seq: int) -> tuple[Batch, list[str]]:
    """The batch in ``data`` and a note per entry that was skipped as malformed.

    ``SyncFormatError`` for a newer format (the whole sync stops: we would misread it);
    ``BadRemoteDataError`` for a batch that is not one, or not the one its key names.
    """
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BadRemoteDataError("not valid JSON") from None
    if not isinstance(document, dict):
        raise BadRemoteDataError("not a JSON object")
    version = document.get("format")
    if isinstance(version, int) and not isinstance(version, bool) and version > PACKED_FORMAT:
        raise SyncFormatError(
            f"the remote holds sync format {version}, newer than this opencode reads "
            f"({PACKED_FORMAT}); upgrade opencode"
        )
    known = type(version) is int and version in (FORMAT_VERSION, PACKED_FORMAT)
    if not known or document.get("kind") != kind:
        raise BadRemoteDataError(f"not a {kind} of sync format {FORMAT_VERSION} or {PACKED_FORMAT}")
    if document.get("device") != device or document.get("seq") != seq:
        raise BadRemoteDataError("its device or sequence number does not match its name")
    raw_entries = document.get("entries")
    if not isinstance(raw_entries, list):
        raise BadRemoteDataError("it has no list of entries")
    entries: list[Entry] = []
    notes: list[str] = []
    for raw in raw_entries:
        try:
            entry = Entry.from_dict(raw)
        except BadRemoteDataError as exc:
            notes.append(str(exc))
            continue
        if entry.device != device:
            notes.append(f"entry for {entry.id} claims another device")
            continue
        entries.append(entry if kind == SNAPSHOT_KIND else entry.with_seq(seq))
    host = document.get("host")
    written_at = document.get("written_at")
    batch = Batch(
        kind,
        device,
        host if isinstance(host, str) else "",
        seq,
        written_at if isinstance(written_at, str) else "",
        tuple(entries),
    )
    return batch, notes


# -- session objects ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodedSession:
    """A session ready to upload: its object bytes and the fingerprints sync compares."""

    session: Session
    sha: str
    data: bytes  # gzip
    content: str
    metadata: Metadata

    @property
    def message_ids(self) -> list[str]:
        return [m.id for m in self.session.messages]


def session_document(session: Session) -> dict[str, Any]:
    """The session's object document: the spec's format with ``journal_seq`` zeroed."""
    document = session.to_dict()
    document["journal_seq"] = 0
    return document


def content_fingerprint(document: Mapping[str, Any]) -> str:
    """SHA-256 of a session document without the separately merged fields and the time
    stamp every change touches: equal for two versions that differ only in those."""
    content = {
        k: v for k, v in document.items() if k not in ("title", "tags", "updated_at", "version")
    }
    metadata = content.get("metadata")
    if isinstance(metadata, dict):
        content["metadata"] = {
            k: v for k, v in metadata.items() if k not in ("pinned", "archived_at")
        }
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def encode_session(session: Session, *, compress: bool = True) -> EncodedSession:
    """The object of ``session``; ``compress=False`` skips the gzip (a dry run)."""
    document = session_document(session)
    body = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    data = gzip.compress(body, compresslevel=6, mtime=0) if compress else b""
    return EncodedSession(
        session=session,
        sha=hashlib.sha256(body).hexdigest(),
        data=data,
        content=content_fingerprint(document),
        metadata=Metadata.of(session),
    )


def decode_object(data: bytes, sha: str, session_id: str) -> Session:
    """The session in a downloaded object after every check: gzip, size, SHA-256, JSON,
    the session schema, and the id the entry named. ``BadRemoteDataError`` otherwise."""
    body = gunzip_capped(data, MAX_OBJECT_BYTES)
    if hashlib.sha256(body).hexdigest() != sha:
        raise BadRemoteDataError("its SHA-256 does not match its name")
    try:
        session = Session.from_dict(orjson.loads(body))
    except orjson.JSONDecodeError:
        raise BadRemoteDataError("not valid JSON") from None
    except SessionCorruptedError as exc:
        raise BadRemoteDataError(f"not a session ({exc})") from None
    if session.id != session_id:
        raise BadRemoteDataError(f"it holds session {session.id[:40]!r}, not {session_id}")
    return session


def gunzip_capped(data: bytes, limit: int) -> bytes:
    """Decompress gzip ``data`` without ever holding more than ``limit`` bytes (a zip bomb
    stops at the cap)."""
    decoder = zlib.decompressobj(wbits=31)
    try:
        body = decoder.decompress(data, limit + 1)
    except zlib.error:
        raise BadRemoteDataError("not gzip data") from None
    if len(body) > limit or decoder.unconsumed_tail:
        raise BadRemoteDataError(f"larger than the {limit:,} bytes a session may have")
    if not decoder.eof:
        raise BadRemoteDataError("truncated gzip data")
    return body
