"""Two-way, incremental sync of a sessions folder with one remote.

One run, under the data folder's sync lock:

1. check the remote's ``format.json`` (a newer format is refused) and, once per remote,
   introduce this device and probe whether the store enforces create-only writes;
2. pull: list the devices, read each one's log batches written since the last one seen
   (``StartAfter``; a device seen for the first time from its latest snapshot), download
   the objects the merge needs into a local cache (verified, so an interrupted run resumes
   without fetching them again and never leaves half a session), then apply the entries
   session by session (see ``merge.py``), writing through the sessions library;
3. push: find the sessions changed since they were last synced from the index's file
   identities alone, upload their objects in parallel, and write one log batch listing
   them (with tombstones for deleted ones); every so often, a snapshot of all entries.

Bytes moved are proportional to what changed, not to the size of either store. The local
store is never written before everything a write needs has been downloaded and checked.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import orjson

from opencode import __version__
from opencode.sessions.errors import (
    SessionLockedError,
    SessionNotFoundError,
    SessionStorageError,
)
from opencode.sessions.ids import is_valid_session_id
from opencode.sessions.index import SessionIndex
from opencode.sessions.locks import this_host
from opencode.sessions.storage import SessionStorage
from opencode.sessions.validate import format_timestamp, utc_now
from opencode.sync.errors import StoreError, SyncError, SyncFormatError
from opencode.sync.layout import FORMAT_VERSION, Layout, seq_of_log_key, seq_of_snapshot_key
from opencode.sync.local import (
    ChangedMeanwhileError,
    LocalSession,
    LocalSessions,
    fork_of_incoming,
    with_metadata,
)
from opencode.sync.manifest import (
    BATCH_KIND,
    MAX_BATCH_BYTES,
    MAX_OBJECT_BYTES,
    SNAPSHOT_KIND,
    BadRemoteDataError,
    Batch,
    EncodedSession,
    Entry,
    decode_batch,
    decode_object,
    encode_session,
    gunzip_capped,
)
from opencode.sync.merge import (
    Action,
    LocalVersion,
    common_message_id,
    decide,
    fork_id,
    needs_object,
)
from opencode.sync.remotes import Remote
from opencode.sync.report import PULL, PUSH, Moved, Skipped, SyncReport
from opencode.sync.state import Stat, SyncState, device_id, sync_dir_of, sync_lock
from opencode.sync.store import DEFAULT_WORKERS, ObjectStore

# A snapshot of this device's entries is written after this many batches.
SNAPSHOT_EVERY: Final = 32
MAX_MARKER_BYTES: Final = 64 * 1024
# Cached objects no run used for this long are removed.
CACHE_MAX_AGE_SECONDS: Final = 7 * 86400
# A push of this many sessions or more packs small ones into shared objects: one request
# per pack instead of one per session (a first push of 10,000 sessions is CPU-bound on
# request signing). Fewer keep an object each, so a later pull fetches only what changed.
PACK_FROM: Final = 64
PACK_MAX_SESSIONS: Final = 128
PACK_MAX_BYTES: Final = 4 * 1024 * 1024
# Sessions of one pack closer than this are downloaded in one ranged request.
RUN_GAP_BYTES: Final = 64 * 1024
# A session object larger than this is never packed.
PACK_MEMBER_MAX_BYTES: Final = 256 * 1024
# Candidates are read and packed this many at a time, so memory stays flat.
PACK_CHUNK: Final = 512
# The device id of a dry run in a data folder that never synced (matches no real device).
NO_DEVICE: Final = "0" * 32
CREATE_ONLY_WARNING: Final = (
    "{name}: this store does not enforce create-only writes (If-None-Match); sync is still "
    "safe: every device writes only new keys under its own devices/<id>/ folder, objects "
    "are named by their content, and this folder's syncs are serialised by a local lock"
)

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SyncOptions:
    """What ``run_sync`` does: directions, a dry run, a selection of sessions."""

    pull: bool = True
    push: bool = True
    dry_run: bool = False
    session_ids: tuple[str, ...] = ()
    workers: int = DEFAULT_WORKERS
    progress: ProgressCallback | None = None


def run_sync(
    remote: Remote, options: SyncOptions | None = None, *, storage: SessionStorage | None = None
) -> SyncReport:
    """Sync ``storage`` (default: the data folder's sessions) with ``remote``."""
    run = SyncRun(remote, options or SyncOptions(), storage or SessionStorage())
    return run.run()


class _Progress:
    """Work done and known so far, told to the caller's callback (from any thread)."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.done = 0
        self.total = 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self.total += count
        self._tell()

    def advance(self) -> None:
        with self._lock:
            self.done += 1
        self._tell()

    def _tell(self) -> None:
        if self.callback is not None:
            self.callback(self.done, self.total)


@dataclass
class _Pushed:
    """One session's part in a push: its entry (None when unchanged) and file identities."""

    session_id: str
    stat: Stat
    entry: Entry | None = None
    action: str = ""
    uploaded: int = 0
    # The object, gzip, waiting for ``_upload`` (which points ``entry`` at where it went).
    data: bytes | None = None


class SyncRun:
    """One sync of one sessions folder with one remote."""

    def __init__(self, remote: Remote, options: SyncOptions, storage: SessionStorage) -> None:
        self.remote = remote
        self.options = options
        self.storage = storage
        self.index = SessionIndex(storage)
        self.local = LocalSessions(storage, self.index)
        self.folder = sync_dir_of(storage.storage_dir.parent)
        self.cache = self.folder / "cache"
        self.layout = Layout(remote.prefix)
        self.report = SyncReport(remote.name, dry_run=options.dry_run)
        self.host = this_host()
        self.progress = _Progress(options.progress)
        self.selected: set[str] | None = None
        self.device = NO_DEVICE

    def run(self) -> SyncReport:
        try:
            return self._run()
        finally:
            self.index.close()

    def _run(self) -> SyncReport:
        dry = self.options.dry_run
        with sync_lock(self.folder):
            self.device = device_id(self.folder, create=False) or NO_DEVICE
            self.state = SyncState.load(self.folder, self.remote)
            self.store = ObjectStore.connect(self.remote, workers=self.options.workers)
            self.report.traffic = self.store.traffic
            with ThreadPoolExecutor(self.options.workers, "opencode-sync") as pool:
                self.pool = pool
                self._check_format()
                if not dry:
                    # Made only once the remote answered: a failed first run leaves nothing.
                    self.device = device_id(self.folder, create=True) or NO_DEVICE
                    self._introduce()
                self.index.refresh()
                if self.options.pull:
                    self._pull()
                if self.options.push:
                    self._push()
        self.report.create_only = self.state.create_only
        return self.report

    # -- the remote's marker and this device ---------------------------------------------------

    def _check_format(self) -> None:
        key = self.layout.format_key
        data = self.store.get(key, limit=MAX_MARKER_BYTES)
        if data is None:
            if self.options.dry_run:
                return
            marker = {
                "version": FORMAT_VERSION,
                "created_by": f"opencode {__version__}",
                "created_at": _now(),
            }
            if self.store.put_new(key, orjson.dumps(marker) + b"\n"):
                return
            data = self.store.get(key, limit=MAX_MARKER_BYTES)
        version = _marker_version(data)
        if version is None:
            raise SyncFormatError(
                f"{self.remote.name}: {key} is not an opencode sync marker; "
                "is this prefix used by something else?"
            )
        if version > FORMAT_VERSION:
            raise SyncFormatError(
                f"{self.remote.name} holds sync format version {version}; this opencode "
                f"supports version {FORMAT_VERSION}: upgrade opencode to sync with it"
            )

    def _introduce(self) -> None:
        """Once per remote: say who this device is, and probe create-only writes."""
        if self.state.create_only is not None:
            return
        info = {"device": self.device, "host": self.host, "created_at": _now()}
        self.store.put_new(self.layout.device_info_key(self.device), orjson.dumps(info) + b"\n")
        probe = self.layout.probe_key(self.device)
        self.store.put_new(probe, b"probe\n")
        enforced = not self.store.put_new(probe, b"probe\n")
        self.state.create_only = enforced
        if not enforced:
            self.report.warnings.append(CREATE_ONLY_WARNING.format(name=self.remote.name))

    # -- pull ---------------------------------------------------------------------------------

    def _pull(self) -> None:
        received, seen = self._read_remote()
        waiting = [
            e for st in self.state.sessions.values() if st.pending for e in st.take_pending()
        ]
        entries = _unique([*waiting, *received])
        if self.options.session_ids:
            self._resolve_selection(
                {e.id for e in entries} | set(self.index.ids()) | set(self.state.sessions)
            )
        groups: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            if entry.device == self.device:
                continue
            if self._is_selected(entry.id):
                groups[entry.id].append(entry)
            else:
                self.state.session(entry.id).wait([entry])
        found = dict(zip(groups, self.pool.map(self._read_local, groups), strict=True))
        plans, locals_ = self._plans(groups, found)
        if self.options.dry_run:
            self._preview_pull(plans, locals_)
            return
        self._fetch_objects(plans, locals_)
        # Sessions new here first, in parallel (a first pull writes thousands): a fork made
        # elsewhere must exist before the merge of the session it was forked from looks.
        absent = sorted(sid for sid in plans if locals_[sid] is None)
        self.local.deferred = []
        try:
            for _ in self.pool.map(lambda sid: self._apply_group(sid, plans[sid], None), absent):
                pass
        finally:
            self.local.flush_index()
        for sid in sorted(sid for sid in plans if locals_[sid] is not None):
            self._apply_group(sid, plans[sid], locals_[sid])
        self.state.devices.update(seen)
        self.state.save()
        self._clean_cache(plans.values())

    def _read_local(self, session_id: str) -> LocalSession | _Unreadable | None:
        try:
            return self.local.read(session_id)
        except SessionStorageError as exc:
            return _Unreadable(str(exc))

    def _plans(
        self,
        groups: dict[str, list[Entry]],
        found: dict[str, LocalSession | _Unreadable | None],
    ) -> tuple[dict[str, list[Entry]], dict[str, LocalSession | None]]:
        """Per session, the entries to apply in order (one, the newest, for a session not
        here: the history in between does not matter) and the local session."""
        plans: dict[str, list[Entry]] = {}
        locals_: dict[str, LocalSession | None] = {}
        for sid, group in groups.items():
            local = found[sid]
            if isinstance(local, _Unreadable):
                self.report.warnings.append(
                    f"session {sid} is unreadable here, not synced: {local}"
                )
                self.state.session(sid).wait(group)
                continue
            base = self.state.sessions[sid].base if sid in self.state.sessions else None
            ordered = [e for e in sorted(group, key=Entry.order_key) if not _stale(base, e)]
            if ordered:
                plans[sid] = ordered[-1:] if local is None else ordered
                locals_[sid] = local
        return plans, locals_

    def _read_remote(self) -> tuple[list[Entry], dict[str, int]]:
        """Every entry other devices wrote since this device last looked, and per device
        the last batch read."""
        folders = self.store.list_folders(self.layout.devices_prefix)
        devices = sorted(
            d
            for folder in folders
            if (d := self.layout.device_of_folder(folder)) is not None and d != self.device
        )
        entries: list[Entry] = []
        seen: dict[str, int] = {}
        for device, found, last in self.pool.map(self._read_device, devices):
            entries += found
            seen[device] = last
        return entries, seen

    def _read_device(self, device: str) -> tuple[str, list[Entry], int]:
        start = self.state.devices.get(device)
        entries: list[Entry] = []
        if start is None:
            start, entries = self._read_latest_snapshot(device)
        after = self.layout.log_key(device, start) if start else None
        last = start
        for key in self.store.list_keys(self.layout.log_prefix(device), start_after=after):
            seq = seq_of_log_key(key)
            if seq is None or seq <= last:
                continue
            entries += self._read_batch(key, BATCH_KIND, device, seq)
            last = seq
        return device, entries, last

    def _read_latest_snapshot(self, device: str) -> tuple[int, list[Entry]]:
        keys = self.store.list_keys(self.layout.snapshot_prefix(device))
        seqs = [seq for key in keys if (seq := seq_of_snapshot_key(key)) is not None]
        if not seqs:
            return 0, []
        seq = max(seqs)
        return seq, self._read_batch(
            self.layout.snapshot_key(device, seq), SNAPSHOT_KIND, device, seq
        )

    def _read_batch(self, key: str, kind: str, device: str, seq: int) -> list[Entry]:
        data = self.store.get(key, limit=MAX_BATCH_BYTES)
        if data is None:
            return []
        try:
            batch, notes = decode_batch(data, kind=kind, device=device, seq=seq)
        except BadRemoteDataError as exc:
            self.report.warnings.append(f"skipped {key}: {exc}")
            return []
        if notes:
            self.report.warnings.append(
                f"skipped {len(notes)} malformed entr{'y' if len(notes) == 1 else 'ies'} in "
                f"{key}: {notes[0]}"
            )
        return list(batch.entries)

    def _fetch_objects(
        self, plans: dict[str, list[Entry]], locals_: dict[str, LocalSession | None]
    ) -> None:
        """Download every object the merge will need into the cache, verified."""
        wanted: dict[str, Entry] = {}
        for sid, entries in plans.items():
            local = locals_[sid]
            version = local.version if local is not None else None
            base = self.state.sessions[sid].base if sid in self.state.sessions else None
            for entry in entries:
                name = entry.object_id
                if (
                    name is not None
                    and needs_object(entry, version, base)
                    and not self._is_bad(entry)
                    and not self._cached(entry).exists()
                ):
                    wanted.setdefault(name, entry)
        self.progress.add(len(wanted))
        for _ in self.pool.map(self._fetch_run, _runs(wanted.values())):
            pass

    def _cached(self, entry: Entry) -> Path:
        return self.cache / f"{entry.sha}.gz"

    def _fetch_run(self, entries: list[Entry]) -> None:
        """Download one object, or neighbouring sessions of one pack in a single ranged
        request, and cache each session's object once verified."""
        first, last = entries[0], entries[-1]
        assert first.object_path is not None
        span = None
        if first.object_offset is not None and last.object_offset is not None:
            start = first.object_offset
            span = (start, last.object_offset + last.object_bytes - start)
        data = self.store.get(
            self.layout.absolute(first.object_path),
            limit=MAX_OBJECT_BYTES if span is None else min(span[1], MAX_OBJECT_BYTES),
            payload=True,
            span=span,
        )
        for entry in entries:
            self.progress.advance()
            part = data
            if data is not None and span is not None and entry.object_offset is not None:
                begin = entry.object_offset - span[0]
                part = data[begin : begin + entry.object_bytes]
            try:
                if part is None:
                    raise BadRemoteDataError("it is missing")
                body = gunzip_capped(part, MAX_OBJECT_BYTES)
                if hashlib.sha256(body).hexdigest() != entry.sha:
                    raise BadRemoteDataError("its SHA-256 does not match its name")
            except BadRemoteDataError as exc:
                self._bad_object(entry, str(exc))
                continue
            _write_cache_file(self._cached(entry), part)

    def _bad_object(self, entry: Entry, problem: str, *, claim: bool = False) -> None:
        """Remember (and warn once about) a bad object, or with ``claim`` a good object
        that does not hold what ``entry`` says: only that entry's claim is bad then, and
        another entry naming the same object still gets it."""
        key = _bad_key(entry, claim=claim)
        if key in self.state.bad_objects:
            return
        self.state.bad_objects.add(key)
        host = entry.host or entry.device[:8]
        self.report.warnings.append(
            f"skipped session {entry.id} from {host}: {entry.object_id} is corrupt or foreign "
            f"({problem}); nothing was written"
        )
        self.report.skipped.append(Skipped(entry.id, f"corrupt object from {host}"))

    def _is_bad(self, entry: Entry) -> bool:
        bad = self.state.bad_objects
        return _bad_key(entry, claim=False) in bad or _bad_key(entry, claim=True) in bad

    def _load_object(self, entry: Entry) -> EncodedSession | None:
        """The session in ``entry``'s cached object, after every check; None when bad."""
        assert entry.object_id is not None and entry.sha is not None
        if self._is_bad(entry):
            return None
        cached = self._cached(entry)
        if not cached.exists():
            self._fetch_run([entry])  # not foreseen as needed: fetch it now
            if self._is_bad(entry):
                return None
        data = cached.read_bytes()
        try:
            encoded = encode_session(decode_object(data, entry.sha, entry.id), compress=False)
            if encoded.content != entry.content:
                raise BadRemoteDataError("its content does not match its entry")
        except BadRemoteDataError as exc:
            self._bad_object(entry, str(exc), claim=True)
            return None
        return encoded

    def _clean_cache(self, plans: Iterable[list[Entry]]) -> None:
        for entries in plans:
            for entry in entries:
                if entry.object_path is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(self._cached(entry))
        cutoff = time.time() - CACHE_MAX_AGE_SECONDS
        with contextlib.suppress(OSError), os.scandir(self.cache) as found:
            for item in found:
                with contextlib.suppress(OSError):
                    if item.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(item.path)

    # -- applying -----------------------------------------------------------------------------

    def _apply_group(self, sid: str, entries: list[Entry], local: LocalSession | None) -> None:
        for position, entry in enumerate(entries):
            try:
                local = self._apply(sid, entry, local)
            except (SessionLockedError, ChangedMeanwhileError) as exc:
                self.state.session(sid).wait(entries[position:])
                reason = (
                    "open in another process"
                    if isinstance(exc, SessionLockedError)
                    else "changed while syncing"
                )
                self.report.warnings.append(
                    f"session {sid} is {reason}; its changes from "
                    f"{entry.host or 'another device'} wait for the next sync"
                )
                self.report.skipped.append(Skipped(sid, reason))
                return

    def _apply(self, sid: str, entry: Entry, local: LocalSession | None) -> LocalSession | None:
        state = self.state.session(sid)
        incoming = None
        version = local.version if local is not None else None
        if needs_object(entry, version, state.base):
            incoming = self._load_object(entry)
            if incoming is None:
                return local  # warned once; the common point stays where it was
        decision = decide(
            state.base,
            version,
            entry,
            incoming.message_ids if incoming is not None else None,
            lambda: self._kept_as_fork(sid, local),
        )
        action = decision.action
        if action is Action.FORK:
            assert incoming is not None and local is not None
            self._fork(sid, entry, incoming, local)
        elif action is Action.TRASH:
            assert local is not None
            self.local.trash(sid, expect=local.version)
            self._moved(sid, entry.metadata.title, "trash", entry)
            local = None
        elif action in (Action.CREATE, Action.FAST_FORWARD):
            assert incoming is not None and decision.metadata is not None
            session = with_metadata(incoming.session, decision.metadata, entry.updated_at)
            stat = self.local.write(session, expect=version)
            what = "update" if local is not None else "restore" if state.base else "new"
            self._moved(sid, session.title, what, entry, entry.object_bytes)
            now = LocalVersion(incoming.content, tuple(incoming.message_ids), decision.metadata)
            local = LocalSession(session, now, stat)
        elif action in (Action.NOTHING, Action.KEEP_LOCAL):
            assert local is not None and decision.metadata is not None
            if decision.metadata != local.version.metadata:
                session = with_metadata(local.session, decision.metadata, entry.updated_at)
                stat = self.local.write(session, expect=local.version)
                self._moved(sid, session.title, "metadata", entry)
                now = replace(local.version, metadata=decision.metadata)
                local = LocalSession(session, now, stat)
        elif action is Action.KEEP_DELETED_THERE:
            host = entry.host or "another device"
            self.report.skipped.append(
                Skipped(sid, f"deleted on {host} but changed here: kept, sent again")
            )
        state.base = entry
        state.stat = _stat_if_same(local, entry)
        return local

    def _kept_as_fork(self, sid: str, local: LocalSession | None) -> bool:
        """True when this device's version of ``sid`` is kept as a fork: another device
        superseded it and made the fork (see ``merge.py``)."""
        if local is None:
            return False
        try:
            found = self.local.read(fork_id(sid, local.version.content))
        except SessionStorageError:
            return False
        return found is not None and found.version.message_ids == local.version.message_ids

    def _fork(self, sid: str, entry: Entry, incoming: EncodedSession, local: LocalSession) -> None:
        assert entry.content is not None
        fid = fork_id(sid, entry.content)
        if self.selected is not None:
            self.selected.add(fid)
        if self.local.exists(fid):
            return  # made before (here, or by another device and pulled)
        common = common_message_id(local.version.message_ids, incoming.message_ids)
        fork = fork_of_incoming(incoming.session, entry, fork_session_id=fid, common_message=common)
        self.local.write(fork, expect=None)
        moved = Moved(fid, fork.title, PULL, "fork", entry.object_bytes, entry.host, sid)
        self.report.moved.append(moved)

    def _moved(self, sid: str, title: str, action: str, entry: Entry, size: int = 0) -> None:
        self.report.moved.append(Moved(sid, title, PULL, action, size, entry.host))

    def _preview_pull(
        self, plans: dict[str, list[Entry]], locals_: dict[str, LocalSession | None]
    ) -> None:
        """What a pull would do, from the entries alone (a dry run downloads no object)."""
        for sid, entries in plans.items():
            local = locals_[sid]
            base = self.state.sessions[sid].base if sid in self.state.sessions else None
            entry = entries[-1]
            action = _predicted(base, local, entry)
            if action:
                size = 0 if action in ("trash", "metadata") else entry.object_bytes
                self._moved(sid, entry.metadata.title, action, entry, size)

    # -- push ---------------------------------------------------------------------------------

    def _push(self) -> None:
        self.index.refresh()
        files = self.index.file_states()
        if self.options.session_ids:
            self._resolve_selection(set(files) | set(self.state.sessions))
        candidates = []
        for sid, stat in files.items():
            if not self._is_selected(sid):
                continue
            state = self.state.sessions.get(sid)
            if state is not None and state.pending:
                continue  # the remote's changes land first
            if state is None or state.stat != stat:
                candidates.append(_Pushed(sid, stat))
        deleted = [
            sid
            for sid, state in self.state.sessions.items()
            if sid not in files
            and is_valid_session_id(sid)
            and state.has_live_base
            and not state.pending
            and self._is_selected(sid)
            and not self.local.exists(sid)
        ]
        written_at = _now()
        self.progress.add(len(candidates))
        pushed = self._prepare_all(candidates, written_at)
        pushed += [self._tombstone(sid, written_at) for sid in deleted]
        changes = [p for p in pushed if p.entry is not None]
        if self.options.dry_run:
            self._report_pushed(changes)
            return
        if changes:
            entries = self._write_batch([p.entry for p in changes if p.entry], written_at)
            for item, entry in zip(changes, entries, strict=True):
                item.entry = entry
        for item in pushed:
            state = self.state.session(item.session_id)
            if item.entry is not None:
                state.base = item.entry
            state.stat = None if item.entry is not None and item.entry.is_tombstone else item.stat
        self._report_pushed(changes)
        self._snapshot_if_due()
        self.state.save()

    def _prepare_all(self, candidates: list[_Pushed], written_at: str) -> list[_Pushed]:
        """Read every candidate and upload what changed, a chunk at a time: small objects
        go into packs when a chunk has ``PACK_FROM`` of them, else each into its own."""
        candidates = sorted(candidates, key=lambda p: p.session_id)  # the same packs on a rerun
        prepared: list[_Pushed] = []
        for start in range(0, len(candidates), PACK_CHUNK):
            chunk = candidates[start : start + PACK_CHUNK]
            done = self.pool.map(lambda p: self._prepare(p, written_at), chunk)
            items = [item for item in done if item is not None]
            waiting = [item for item in items if item.data is not None]
            groups = _packs(waiting) if len(waiting) >= PACK_FROM else [[i] for i in waiting]
            for _ in self.pool.map(self._upload, groups):
                pass
            prepared += items
        return prepared

    def _prepare(self, item: _Pushed, written_at: str) -> _Pushed | None:
        """Read one candidate and give it its entry when its content changed, leaving its
        object in ``item.data`` for ``_upload`` (a large one is uploaded here)."""
        try:
            session = self.storage.load(item.session_id)
        except SessionNotFoundError:
            return None  # deleted meanwhile: the next sync sends the deletion
        except SessionStorageError as exc:
            self.report.warnings.append(f"session {item.session_id} is unreadable, not sent: {exc}")
            self.report.skipped.append(Skipped(item.session_id, "unreadable here"))
            return None
        finally:
            self.progress.advance()
        encoded = encode_session(session, compress=not self.options.dry_run)
        state = self.state.sessions.get(item.session_id)
        base = state.base if state is not None else None
        common = base if base is not None and not base.is_tombstone else None
        if common is not None and common.content == encoded.content:
            if common.metadata == encoded.metadata:
                return item  # unchanged: only its file identities are new
            item.entry = self._entry(encoded, written_at, common, None, 0).with_object_of(common)
            item.action = "metadata"
            return item
        item.action = "new" if base is None else "update"
        path = self.layout.object_path(self.device, encoded.sha)
        item.entry = self._entry(encoded, written_at, common, path, len(encoded.data))
        if self.options.dry_run:
            return item
        if len(encoded.data) <= PACK_MEMBER_MAX_BYTES:
            item.data = encoded.data  # the session itself is not kept: memory stays flat
            return item
        if self.store.put_new(self.layout.absolute(path), encoded.data, payload=True):
            item.uploaded = len(encoded.data)
        return item

    def _upload(self, items: list[_Pushed]) -> None:
        """Upload one item's object, or several end to end as one pack named by its
        content (a run cut short packs the same sessions the same way next time), and point
        each item's entry at its byte range in the pack."""
        if len(items) == 1:
            item = items[0]
            assert item.entry is not None and item.entry.object_path is not None
            assert item.data is not None
            key = self.layout.absolute(item.entry.object_path)
            if self.store.put_new(key, item.data, payload=True):
                item.uploaded = len(item.data)
            item.data = None
            return
        data = b"".join(item.data for item in items if item.data is not None)
        path = self.layout.pack_path(self.device, hashlib.sha256(data).hexdigest())
        fresh = self.store.put_new(self.layout.absolute(path), data, payload=True)
        offset = 0
        for item in items:
            assert item.entry is not None and item.entry.sha is not None
            assert item.data is not None
            size = len(item.data)
            item.entry = replace(
                item.entry, object_path=path, object_offset=offset, object_sha=item.entry.sha
            )
            item.uploaded = size if fresh else 0
            item.data = None
            offset += size

    def _entry(
        self,
        encoded: EncodedSession,
        written_at: str,
        common: Entry | None,
        path: str | None,
        size: int,
    ) -> Entry:
        session = encoded.session
        return Entry(
            id=session.id,
            device=self.device,
            host=self.host,
            written_at=written_at,
            metadata=encoded.metadata,
            content=encoded.content,
            object_path=path,
            object_bytes=size,
            message_count=session.message_count,
            last_message_id=session.messages[-1].id if session.messages else None,
            updated_at=format_timestamp(session.updated_at),
            base=common.content if common is not None else None,
        )

    def _tombstone(self, sid: str, written_at: str) -> _Pushed:
        base = self.state.sessions[sid].base
        assert base is not None
        entry = replace(
            base,
            device=self.device,
            host=self.host,
            written_at=written_at,
            content=None,
            deleted_at=written_at,
            base=base.content,
        ).with_object_of(None)
        return _Pushed(sid, (None, None), entry, "delete")

    def _write_batch(self, entries: list[Entry], written_at: str) -> list[Entry]:
        """Write one batch of ``entries`` under this device's next free sequence number."""
        for _ in range(3):
            seq = self.state.next_seq
            if self.state.create_only is False:
                seq = max(seq, self._last_own_seq() + 1)
            numbered = tuple(entry.with_seq(seq) for entry in entries)
            batch = Batch(BATCH_KIND, self.device, self.host, seq, written_at, numbered)
            if self.store.put_new(self.layout.log_key(self.device, seq), batch.encode()):
                self.state.next_seq = seq + 1
                return list(numbered)
            # A run that wrote this batch was cut before it could remember doing so.
            self.state.next_seq = self._last_own_seq() + 1
        raise StoreError(f"{self.remote.name}: could not find a free batch number to write")

    def _last_own_seq(self) -> int:
        after = self.layout.log_key(self.device, self.state.next_seq - 1)
        last = self.state.next_seq - 1
        for key in self.store.list_keys(self.layout.log_prefix(self.device), start_after=after):
            seq = seq_of_log_key(key)
            if seq is not None:
                last = max(last, seq)
        return last

    def _snapshot_if_due(self) -> None:
        last = self.state.next_seq - 1
        if last - self.state.snapshot_seq < SNAPSHOT_EVERY:
            return
        own = tuple(
            state.base
            for state in self.state.sessions.values()
            if state.base is not None and state.base.device == self.device
        )
        batch = Batch(SNAPSHOT_KIND, self.device, self.host, last, _now(), own)
        self.store.put_new(self.layout.snapshot_key(self.device, last), batch.encode())
        self.state.snapshot_seq = last

    def _report_pushed(self, changes: list[_Pushed]) -> None:
        for item in changes:
            assert item.entry is not None
            self.report.moved.append(
                Moved(item.session_id, item.entry.metadata.title, PUSH, item.action, item.uploaded)
            )

    # -- selection ----------------------------------------------------------------------------

    def _resolve_selection(self, known: set[str]) -> None:
        """Turn the ids or id prefixes the user gave into session ids (once)."""
        if not self.options.session_ids or self.selected is not None:
            return
        chosen: set[str] = set()
        for text in self.options.session_ids:
            if text in known:
                chosen.add(text)
                continue
            matches = [sid for sid in known if sid.startswith(text)]
            if not matches:
                raise SyncError(f"no session matches {text[:40]!r} here or on the remote")
            if len(matches) > 1:
                raise SyncError(
                    f"{text[:40]!r} matches {len(matches)} sessions; use more of the id"
                )
            chosen.add(matches[0])
        self.selected = chosen

    def _is_selected(self, session_id: str) -> bool:
        return self.selected is None or session_id in self.selected


@dataclass(frozen=True)
class _Unreadable:
    """A local session whose files do not load (damaged): left alone."""

    problem: str

    def __str__(self) -> str:
        return self.problem


def _bad_key(entry: Entry, *, claim: bool) -> str:
    """What ``state.bad_objects`` remembers: an object, or one entry's claim on it."""
    assert entry.object_id is not None
    return f"{entry.object_id}|{entry.id}" if claim else entry.object_id


def _runs(entries: Iterable[Entry]) -> list[list[Entry]]:
    """Entries to download, grouped into requests: each object of its own alone, and
    sessions of one pack lying close together (gaps under ``RUN_GAP_BYTES``, a pack's
    size at most) as one run."""
    runs: list[list[Entry]] = []
    packed: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.object_offset is None or entry.object_path is None:
            runs.append([entry])
        else:
            packed.setdefault(entry.object_path, []).append(entry)
    for members in packed.values():
        members.sort(key=lambda e: e.object_offset or 0)
        run = [members[0]]
        for entry in members[1:]:
            start, end = run[0].object_offset or 0, (run[-1].object_offset or 0)
            end += run[-1].object_bytes
            offset = entry.object_offset or 0
            if offset - end > RUN_GAP_BYTES or offset + entry.object_bytes - start > PACK_MAX_BYTES:
                runs.append(run)
                run = []
            run.append(entry)
        runs.append(run)
    return runs


def _packs(items: list[_Pushed]) -> list[list[_Pushed]]:
    """``items`` in order, cut into packs of at most ``PACK_MAX_SESSIONS`` sessions and
    ``PACK_MAX_BYTES`` bytes."""
    packs: list[list[_Pushed]] = []
    size = 0
    for item in items:
        assert item.data is not None
        grows = len(item.data)
        if not packs or len(packs[-1]) >= PACK_MAX_SESSIONS or size + grows > PACK_MAX_BYTES:
            packs.append([])
            size = 0
        packs[-1].append(item)
        size += grows
    return packs


def _unique(entries: list[Entry]) -> list[Entry]:
    """Each (device, batch, session) once: a snapshot and a batch may repeat an entry."""
    found: dict[tuple[str, int, str], Entry] = {}
    for entry in entries:
        found.setdefault((entry.device, entry.seq, entry.id), entry)
    return list(found.values())


def _stale(base: Entry | None, entry: Entry) -> bool:
    """An entry older than the common point from the same device: already superseded."""
    return (
        base is not None and base.device == entry.device and entry.seq <= base.seq and base.seq > 0
    )


def _stat_if_same(local: LocalSession | None, entry: Entry) -> Stat | None:
    """The local files' identities when the session is exactly ``entry`` (so the next push
    knows it unchanged without reading it); None when it differs (the push reads it)."""
    if local is None or entry.is_tombstone:
        return None
    same = local.version.content == entry.content and local.version.metadata == entry.metadata
    return local.stat if same else None


def _predicted(base: Entry | None, local: LocalSession | None, entry: Entry) -> str:
    """The pull action a dry run reports for ``entry``."""
    common = base if base is not None and not base.is_tombstone else None
    if entry.is_tombstone:
        if local is None:
            return ""
        unchanged = common is not None and common.content == local.version.content
        return "trash" if unchanged else ""
    if local is None:
        return "restore" if base is not None else "new"
    if local.version.content == entry.content:
        merged = local.version.metadata.merged(common.metadata if common else None, entry.metadata)
        return "metadata" if merged != local.version.metadata else ""
    if common is not None and common.content == local.version.content:
        return "update"
    if common is not None and common.content == entry.content:
        return ""
    return "fork"


def _marker_version(data: bytes | None) -> int | None:
    if data is None:
        return None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    version = document.get("version") if isinstance(document, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def _write_cache_file(path: Path, data: bytes) -> None:
    """A cached object: complete or absent (temp file and rename; no fsync: a cache)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _now() -> str:
    return format_timestamp(utc_now())


__all__ = ["SyncOptions", "SyncRun", "run_sync"]
