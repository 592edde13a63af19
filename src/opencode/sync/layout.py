"""Where sync data lives in a bucket: every key name, in one place.

Under ``<prefix>/opencode-sync/v1/``::

    format.json                          {"version": 1}: readers refuse a newer version
    devices/<device>/device.json         the device's host name, written once
    devices/<device>/probe               written twice on first contact (create-only check)
    devices/<device>/objects/<sha256>    a session snapshot, gzip JSON, content-addressed
    devices/<device>/packs/<sha256>      many small session objects end to end (a big push);
                                         entries name their byte range, read with Range GETs
    devices/<device>/log/<seq>.json      one batch of changes per sync, seq zero-padded
    devices/<device>/snapshot-<seq>.json every entry of the device's view up to batch <seq>
    shared/<token>.json                  a session shared by link (``session share``)

Only the device itself writes under ``devices/<device>/``, and every key is written once
(``If-None-Match: *``): no device ever overwrites another's data. Sequence numbers are
zero-padded so that S3's lexicographic listing order is numeric order and ``StartAfter``
lists exactly the batches a reader has not seen.
"""

from __future__ import annotations

import re
from typing import Final

FORMAT_VERSION: Final = 1
ROOT_FOLDER: Final = f"opencode-sync/v{FORMAT_VERSION}/"
SEQ_DIGITS: Final = 12
DEVICE_PATTERN: Final = re.compile(r"[0-9a-f]{32}")
SHA_PATTERN: Final = re.compile(r"[0-9a-f]{64}")
TOKEN_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")
_LOG_NAME: Final = re.compile(rf"(\d{{{SEQ_DIGITS}}})\.json")
_SNAPSHOT_NAME: Final = re.compile(rf"snapshot-(\d{{{SEQ_DIGITS}}})\.json")


class Layout:
    """Key names under one remote's prefix."""

    def __init__(self, prefix: str) -> None:
        self.root = f"{prefix}/{ROOT_FOLDER}" if prefix else ROOT_FOLDER

    @property
    def format_key(self) -> str:
        return f"{self.root}format.json"

    @property
    def devices_prefix(self) -> str:
        return f"{self.root}devices/"

    def device_prefix(self, device: str) -> str:
        return f"{self.devices_prefix}{device}/"

    def device_info_key(self, device: str) -> str:
        return f"{self.device_prefix(device)}device.json"

    def probe_key(self, device: str) -> str:
        return f"{self.device_prefix(device)}probe"

    def object_path(self, device: str, sha: str) -> str:
        """An object's key relative to the root: what batch entries record."""
        return f"devices/{device}/objects/{sha}"

    def pack_path(self, device: str, sha: str) -> str:
        """A pack's key relative to the root; ``sha`` is that of the pack's bytes."""
        return f"devices/{device}/packs/{sha}"

    def log_prefix(self, device: str) -> str:
        return f"{self.device_prefix(device)}log/"

    def log_key(self, device: str, seq: int) -> str:
        return f"{self.log_prefix(device)}{seq:0{SEQ_DIGITS}d}.json"

    def snapshot_prefix(self, device: str) -> str:
        return f"{self.device_prefix(device)}snapshot-"

    def snapshot_key(self, device: str, seq: int) -> str:
        return f"{self.snapshot_prefix(device)}{seq:0{SEQ_DIGITS}d}.json"

    def shared_key(self, token: str) -> str:
        return f"{self.root}shared/{token}.json"

    def absolute(self, relative: str) -> str:
        """The full key of a path relative to the root."""
        return f"{self.root}{relative}"

    def device_of_folder(self, folder: str) -> str | None:
        """``devices/<device>/`` (as listed) to its device id; None for anything else."""
        name = folder[len(self.devices_prefix) :].rstrip("/")
        return name if DEVICE_PATTERN.fullmatch(name) else None


def seq_of_log_key(key: str) -> int | None:
    """The sequence number of a log batch key; None for keys that are not batches."""
    found = _LOG_NAME.fullmatch(key.rsplit("/", 1)[-1])
    return int(found.group(1)) if found else None


def seq_of_snapshot_key(key: str) -> int | None:
    """The sequence number of a snapshot key; None for other keys."""
    found = _SNAPSHOT_NAME.fullmatch(key.rsplit("/", 1)[-1])
    return int(found.group(1)) if found else None


def is_object_path(path: str) -> bool:
    """True for ``devices/<device>/objects/<sha256>`` and ``devices/<device>/packs/<sha256>``:
    what an entry may point at."""
    parts = path.split("/")
    return (
        len(parts) == 4
        and parts[0] == "devices"
        and DEVICE_PATTERN.fullmatch(parts[1]) is not None
        and parts[2] in ("objects", "packs")
        and SHA_PATTERN.fullmatch(parts[3]) is not None
    )


def is_pack_path(path: str) -> bool:
    """True for a pack's path (``is_object_path`` holds for it too)."""
    return path.split("/")[2:3] == ["packs"]
