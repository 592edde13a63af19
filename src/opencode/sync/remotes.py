"""Remotes: named S3-compatible locations to sync with, kept in ``<config>/remotes.json``.

A remote is a bucket and an optional key prefix, plus how to reach it (endpoint URL, region,
AWS profile). Credentials are never stored here: boto3 finds them in the standard AWS chain
(environment, shared credentials and config files, the profile named here). The file is
0600, carries a format version, is written atomically, and a file from a newer opencode is
refused rather than overwritten.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson

from opencode import fsutil, paths
from opencode.sync.errors import RemoteError, RemoteExistsError, RemoteNotFoundError

REMOTES_FILE: Final = "remotes.json"
REMOTES_FORMAT_VERSION: Final = 1
MAX_REMOTES_FILE_BYTES: Final = 1024 * 1024
# Names become file names (``<data>/sync/<name>.json``): keep them tame.
REMOTE_NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
# S3's bucket naming rules (R2 and MinIO follow them too).
BUCKET_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
LOCK_WAIT_SECONDS: Final = 5.0


@dataclass(frozen=True)
class Remote:
    """One remote: where it is and how to reach it; no secrets."""

    name: str
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None

    @property
    def url(self) -> str:
        """``s3://bucket/prefix`` as the user gave it (normalised)."""
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def to_dict(self) -> dict[str, Any]:
        """The remote as ``remote list --json`` prints it and ``remotes.json`` stores it."""
        return {
            "name": self.name,
            "url": self.url,
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "profile": self.profile,
        }


def check_remote_name(name: str) -> str:
    """``name`` unchanged, or ``RemoteError`` saying what a name may hold."""
    if not REMOTE_NAME_PATTERN.fullmatch(name):
        raise RemoteError(
            f"invalid remote name {name[:40]!r}: use letters, digits, '_' or '-' "
            "(at most 63, starting with a letter or digit)"
        )
    return name


def parse_s3_url(url: str) -> tuple[str, str]:
    """``(bucket, prefix)`` of ``s3://BUCKET[/PREFIX]``; the prefix without outer slashes."""
    if not url.startswith("s3://"):
        raise RemoteError(f"expected s3://BUCKET[/PREFIX], got {url[:80]!r}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not BUCKET_PATTERN.fullmatch(bucket) or ".." in bucket:
        raise RemoteError(
            f"invalid bucket name {bucket[:70]!r}: 3-63 lowercase letters, digits, '.' or '-'"
        )
    prefix = prefix.strip("/")
    parts = prefix.split("/") if prefix else []
    if any(part in ("", ".", "..") for part in parts) or len(prefix) > 512:
        raise RemoteError(f"invalid key prefix {prefix[:80]!r}: no empty, '.' or '..' parts")
    return bucket, prefix


def check_endpoint_url(url: str | None) -> str | None:
    """An ``http(s)://host[:port]`` endpoint, or None for AWS's own."""
    if url is None:
        return None
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
        raise RemoteError(f"invalid endpoint URL {url[:80]!r}: expected http(s)://HOST[:PORT]")
    return url.rstrip("/")


def new_remote(
    name: str,
    url: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
) -> Remote:
    """A checked ``Remote`` from what the user typed."""
    bucket, prefix = parse_s3_url(url)
    return Remote(
        name=check_remote_name(name),
        bucket=bucket,
        prefix=prefix,
        endpoint_url=check_endpoint_url(endpoint_url),
        region=_optional_word(region, "region"),
        profile=_optional_word(profile, "profile"),
    )


def _optional_word(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"[A-Za-z0-9._@+=,-]{1,128}", value):
        raise RemoteError(f"invalid {what} {value[:40]!r}")
    return value


def remotes_path() -> Path:
    """``<config dir>/remotes.json``."""
    return paths.config_dir() / REMOTES_FILE


class RemoteStore:
    """The remotes file: read on demand, changed under a lock, written atomically."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else remotes_path()

    def remotes(self) -> list[Remote]:
        """Every remote, in the order they were added."""
        return list(self._read().values())

    def get(self, name: str) -> Remote:
        """The remote called ``name``; ``RemoteNotFoundError`` when there is none."""
        remotes = self._read()
        if name not in remotes:
            raise RemoteNotFoundError(name, list(remotes))
        return remotes[name]

    def default(self) -> Remote:
        """The only remote; an error when there are none or several (name one then)."""
        remotes = self.remotes()
        if len(remotes) == 1:
            return remotes[0]
        if not remotes:
            raise RemoteError("no remote yet: add one with 'opencode remote add NAME s3://BUCKET'")
        names = ", ".join(r.name for r in remotes)
        raise RemoteError(f"several remotes ({names}): name the one to use")

    def names(self) -> list[str]:
        """Names of every remote."""
        return list(self._read())

    def add(self, remote: Remote) -> None:
        """Add ``remote``; ``RemoteExistsError`` when the name is taken."""
        with self._locked():
            remotes = self._read()
            if remote.name in remotes:
                raise RemoteExistsError(remote.name)
            remotes[remote.name] = remote
            self._write(remotes)

    def remove(self, name: str) -> Remote:
        """Forget the remote called ``name`` and return it."""
        with self._locked():
            remotes = self._read()
            if name not in remotes:
                raise RemoteNotFoundError(name, list(remotes))
            removed = remotes.pop(name)
            self._write(remotes)
        return removed

    # -- the file -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            fsutil.make_private_dir(self.path.parent)
            fd = fsutil.flock_exclusive(
                self.path.with_name(f".{self.path.name}.lock"), wait=LOCK_WAIT_SECONDS
            )
        except OSError as exc:
            raise RemoteError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
        if fd is None:
            raise RemoteError(f"{self.path} is being changed by another opencode; try again")
        try:
            yield
        finally:
            os.close(fd)

    def _read(self) -> dict[str, Remote]:
        try:
            data = fsutil.read_regular(self.path, MAX_REMOTES_FILE_BYTES)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise RemoteError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise RemoteError(f"{self.path} is not valid JSON; fix or remove it") from None
        return _remotes_from(document, self.path)

    def _write(self, remotes: dict[str, Remote]) -> None:
        document = {
            "version": REMOTES_FORMAT_VERSION,
            "remotes": {
                name: {k: v for k, v in r.to_dict().items() if k != "name"}
                for name, r in remotes.items()
            },
        }
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
        try:
            fsutil.atomic_write(self.path, data)
        except OSError as exc:
            raise RemoteError(f"cannot write {self.path}: {exc.strerror or exc}") from None


def _remotes_from(document: object, path: Path) -> dict[str, Remote]:
    if not isinstance(document, dict) or not isinstance(document.get("remotes", {}), dict):
        raise RemoteError(f"{path} is not a remotes file; fix or remove it")
    version = document.get("version", REMOTES_FORMAT_VERSION)
    if not isinstance(version, int) or version > REMOTES_FORMAT_VERSION:
        raise RemoteError(
            f"{path} is format version {version}, newer than this opencode supports "
            f"({REMOTES_FORMAT_VERSION}); upgrade opencode"
        )
    remotes: dict[str, Remote] = {}
    for name, fields in document.get("remotes", {}).items():
        try:
            if not isinstance(fields, dict) or not isinstance(fields.get("url"), str):
                raise RemoteError("no url")
            remotes[name] = new_remote(
                name,
                fields["url"],
                endpoint_url=_str_or_none(fields.get("endpoint_url")),
                region=_str_or_none(fields.get("region")),
                profile=_str_or_none(fields.get("profile")),
            )
        except RemoteError as exc:
            raise RemoteError(f"{path}: remote {name[:40]!r}: {exc}") from None
    return remotes


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
