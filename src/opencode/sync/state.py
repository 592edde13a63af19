"""What this machine remembers between syncs, in ``<data>/sync/``.

``device.json`` names this data folder on every remote (a random id made on first sync).
``<remote>.json`` (0600) holds, per session, the common point: the version both sides had
after the last sync (an ``Entry``), with the identities of the local files it was read from
(so an unchanged session is recognised from the index alone), plus entries received but not
applied yet (their session was open elsewhere, or not selected), and per device the last
batch read. Both files carry a format version and are replaced atomically; a newer one is
refused. ``sync.lock`` serialises syncs of one data folder.
"""

from __future__ import annotations

import gc
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from opencode import fsutil
from opencode.sessions.validate import format_timestamp, utc_now
from opencode.sync.errors import StateFileError, SyncBusyError
from opencode.sync.layout import DEVICE_PATTERN
from opencode.sync.manifest import BadRemoteDataError, Entry
from opencode.sync.remotes import Remote

STATE_FORMAT_VERSION: Final = 1
DEVICE_FILE: Final = "device.json"
LOCK_FILE: Final = "sync.lock"
MAX_STATE_BYTES: Final = 1024 * 1024 * 1024

Stat = tuple[str | None, str | None]


def sync_dir_of(data_root: Path) -> Path:
    """``<data root>/sync``."""
    return data_root / "sync"


@contextmanager
def sync_lock(folder: Path) -> Iterator[None]:
    """Hold the data folder's sync lock; ``SyncBusyError`` when another sync has it."""
    try:
        fsutil.make_private_dir(folder)
        fd = fsutil.flock_exclusive(folder / LOCK_FILE)
    except OSError as exc:
        raise StateFileError(f"cannot lock {folder / LOCK_FILE}: {exc.strerror or exc}") from None
    if fd is None:
        raise SyncBusyError(
            "another 'opencode sync' is running in this data folder; wait for it to finish"
        )
    try:
        yield
    finally:
        os.close(fd)


def device_id(folder: Path, *, create: bool) -> str | None:
    """This data folder's device id; made (and written) on first use when ``create``."""
    path = folder / DEVICE_FILE
    document = _read_json(path)
    if document is None:
        if not create:
            return None
        device = secrets.token_hex(16)
        _write_json(
            path,
            {
                "version": STATE_FORMAT_VERSION,
                "device": device,
                "created_at": format_timestamp(utc_now()),
            },
        )
        return device
    _check_version(document, path)
    found = document.get("device")
    if not isinstance(found, str) or not DEVICE_PATTERN.fullmatch(found):
        raise StateFileError(f"{path} holds no valid device id; remove it to get a new one")
    return found


class SessionState:
    """One session's common point with the remote, and what is waiting to be applied.

    The common point is parsed on first use only, and a state nobody changed is not even
    re-encoded: a sync of 10,000 unchanged sessions reads and writes none of them.
    """

    __slots__ = ("_base", "_pending", "_raw", "_raw_base", "_stat", "changed")

    def __init__(
        self,
        base: Entry | None = None,
        stat: Stat | None = None,
        pending: list[Entry] | None = None,
        *,
        raw: dict[str, Any] | None = None,
    ) -> None:
        self._base = base
        self._raw = raw  # the dict it was read from, reused while nothing changes
        self._raw_base = raw.get("base") if raw is not None else None
        self._stat = stat
        self._pending = pending if pending is not None else []
        self.changed = False

    @property
    def base(self) -> Entry | None:
        if self._raw_base is not None:
            try:
                self._base = Entry.from_dict(self._raw_base)
            except BadRemoteDataError as exc:
                raise StateFileError(f"a sync state file is damaged ({exc}); remove it") from None
            self._raw_base = None
        return self._base

    @base.setter
    def base(self, value: Entry | None) -> None:
        self._base, self._raw_base = value, None
        self._changed()

    @property
    def stat(self) -> Stat | None:
        """The local files' identities when they were last known to match ``base``."""
        return self._stat

    @stat.setter
    def stat(self, value: Stat | None) -> None:
        if value != self._stat:
            self._stat = value
            self._changed()

    @property
    def pending(self) -> tuple[Entry, ...]:
        """Entries received but not applied yet, oldest first."""
        return tuple(self._pending)

    def wait(self, entries: list[Entry]) -> None:
        """Keep ``entries`` to apply at a later sync."""
        if entries:
            self._pending.extend(entries)
            self._changed()

    def take_pending(self) -> list[Entry]:
        """The waiting entries, no longer waiting (they are applied now, or wait again)."""
        taken, self._pending = self._pending, []
        if taken:
            self._changed()
        return taken

    def _changed(self) -> None:
        self.changed = True
        self._raw = None

    @property
    def has_live_base(self) -> bool:
        """True when the common point is a version (not a deletion), without parsing it."""
        if self._raw_base is not None:
            return self._raw_base.get("deleted_at") is None
        return self._base is not None and not self._base.is_tombstone

    def to_dict(self) -> dict[str, Any]:
        if self._raw is not None:
            return self._raw
        data: dict[str, Any] = {}
        if self._raw_base is not None:
            data["base"] = self._raw_base
        elif self._base is not None:
            data["base"] = self._base.to_dict()
        if self._stat is not None:
            data["stat"] = list(self._stat)
        if self._pending:
            data["pending"] = [entry.to_dict() for entry in self._pending]
        return data

    @classmethod
    def from_dict(cls, data: object) -> SessionState:
        """Read one session's state; the common point stays raw until used (this runs
        10,000 times for a store of 10,000 sessions, so it checks only shapes)."""
        if type(data) is not dict:
            raise BadRemoteDataError("not an object")
        raw_base = data.get("base")
        if raw_base is not None and type(raw_base) is not dict:
            raise BadRemoteDataError("base is not an object")
        stat = data.get("stat")
        pending = data.get("pending")
        if pending is not None and type(pending) is not list:
            raise BadRemoteDataError("pending is not a list")
        return cls(
            stat=None if stat is None else _stat(stat),
            pending=[Entry.from_dict(raw) for raw in pending] if pending else None,
            raw=data,
        )


def _stat(value: object) -> Stat:
    if type(value) is list and len(value) == 2:
        snapshot, journal = value
        if (snapshot is None or type(snapshot) is str) and (
            journal is None or type(journal) is str
        ):
            return (snapshot, journal)
    raise BadRemoteDataError("stat is not a pair")


def _str_or_none(value: object) -> bool:
    return value is None or type(value) is str


@dataclass
class SyncState:
    """Everything this data folder remembers about one remote."""

    path: Path
    remote_url: str
    endpoint_url: str | None
    next_seq: int = 1
    snapshot_seq: int = 0
    create_only: bool | None = None
    devices: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, SessionState] = field(default_factory=dict)
    bad_objects: set[str] = field(default_factory=set)
    # What the file holds, to tell whether anything changed since it was read or written.
    saved_fields: tuple[Any, ...] = ()

    @classmethod
    def load(cls, folder: Path, remote: Remote) -> SyncState:
        """The state of ``remote``; a fresh one when there is none or it was made for a
        different bucket or endpoint (the remote was removed and added again elsewhere)."""
        path = state_path(folder, remote.name)
        fresh = cls(path, remote.url, remote.endpoint_url)
        data = _read_file(path)
        if data is None:
            return fresh
        with _collection_paused():  # 10,000 small objects: the cycle collector only slows it
            document = _parse_json(data, path)
            _check_version(document, path)
            if document.get("remote_url") != remote.url or (
                document.get("endpoint_url") != remote.endpoint_url
            ):
                return fresh
            try:
                state = cls._from_document(path, remote, document)
            except (BadRemoteDataError, KeyError, TypeError, ValueError) as exc:
                raise StateFileError(
                    f"{path} is damaged ({exc}); remove it to sync from scratch (nothing is lost)"
                ) from None
        state.saved_fields = state._fields()
        return state

    @classmethod
    def _from_document(cls, path: Path, remote: Remote, document: dict[str, Any]) -> SyncState:
        # Ids are checked where one names a file (the sessions library refuses unsafe ones).
        sessions = {
            str(sid): SessionState.from_dict(raw)
            for sid, raw in document.get("sessions", {}).items()
        }
        devices = {
            str(d): int(seq)
            for d, seq in document.get("devices", {}).items()
            if DEVICE_PATTERN.fullmatch(str(d))
        }
        create_only = document.get("create_only")
        return cls(
            path=path,
            remote_url=remote.url,
            endpoint_url=remote.endpoint_url,
            next_seq=int(document.get("next_seq", 1)),
            snapshot_seq=int(document.get("snapshot_seq", 0)),
            create_only=create_only if isinstance(create_only, bool) else None,
            devices=devices,
            sessions=sessions,
            bad_objects={str(k) for k in document.get("bad_objects", [])},
        )

    def session(self, session_id: str) -> SessionState:
        """The state of ``session_id`` (created empty on first use)."""
        found = self.sessions.get(session_id)
        if found is None:
            found = self.sessions[session_id] = SessionState()
        return found

    def save(self) -> None:
        """Write the state atomically (0600), unless nothing changed since it was read."""
        fields = self._fields()
        changed = [state for state in self.sessions.values() if state.changed]
        if fields == self.saved_fields and not changed:
            return
        _write_bytes(self.path, _encode(self.document()))
        self.saved_fields = fields
        for state in changed:
            state.changed = False

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.next_seq,
            self.snapshot_seq,
            self.create_only,
            tuple(sorted(self.devices.items())),
            tuple(sorted(self.bad_objects)),
        )

    def document(self) -> dict[str, Any]:
        """The state as its file holds it."""
        return {
            "version": STATE_FORMAT_VERSION,
            "remote_url": self.remote_url,
            "endpoint_url": self.endpoint_url,
            "next_seq": self.next_seq,
            "snapshot_seq": self.snapshot_seq,
            "create_only": self.create_only,
            "devices": self.devices,
            "sessions": {
                sid: data for sid, state in self.sessions.items() if (data := state.to_dict())
            },
            "bad_objects": sorted(self.bad_objects),
        }


@contextmanager
def _collection_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def state_path(folder: Path, remote_name: str) -> Path:
    """``<data>/sync/<remote>.json``."""
    return folder / f"{remote_name}.json"


def forget_remote(folder: Path, remote_name: str) -> bool:
    """Remove what this data folder remembers of a remote; False when there was nothing."""
    try:
        return fsutil.unlink_if_present(state_path(folder, remote_name))
    except OSError as exc:
        raise StateFileError(f"cannot remove {state_path(folder, remote_name)}: {exc}") from None


def _read_json(path: Path) -> dict[str, Any] | None:
    data = _read_file(path)
    return None if data is None else _parse_json(data, path)


def _read_file(path: Path) -> bytes | None:
    try:
        return fsutil.read_regular(path, MAX_STATE_BYTES)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def _parse_json(data: bytes, path: Path) -> dict[str, Any]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise StateFileError(f"{path} is not valid JSON; remove it (nothing is lost)") from None
    if not isinstance(document, dict):
        raise StateFileError(f"{path} is not a sync state file; remove it (nothing is lost)")
    return document


def _check_version(document: dict[str, Any], path: Path) -> None:
    version = document.get("version")
    if not isinstance(version, int) or version > STATE_FORMAT_VERSION:
        raise StateFileError(
            f"{path} is format version {version}, newer than this opencode supports "
            f"({STATE_FORMAT_VERSION}); upgrade opencode"
        )


def _encode(document: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(document) + b"\n"
    except TypeError as exc:  # orjson: a value it cannot encode (never expected)
        raise StateFileError(f"cannot encode the sync state: {exc}") from None


def _write_json(path: Path, document: dict[str, Any]) -> None:
    _write_bytes(path, _encode(document))


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        fsutil.make_private_dir(path.parent)
        fsutil.atomic_write(path, data)
    except OSError as exc:
        raise StateFileError(f"cannot write {path}: {exc.strerror or exc}") from None
