"""The object store: the few S3 calls sync makes, through one boto3 client.

boto3 is imported here, inside ``connect``, and nowhere else: nothing that does not sync pays
for it. boto3 clients are thread-safe, so one client serves the whole thread pool. Every
botocore error is turned into one of ours here: wrong credentials, a missing bucket, an
endpoint that refuses, times out or cuts a transfer. Timeouts are short and retries bounded
(``OPENCODE_SYNC_TIMEOUT`` sets the timeout in seconds), so a dead endpoint fails in seconds,
not minutes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from opencode.sync.errors import (
    BucketNotFoundError,
    StoreAuthError,
    StoreError,
    StoreUnreachableError,
)

if TYPE_CHECKING:
    from opencode.sync.remotes import Remote

TIMEOUT_ENV: Final = "OPENCODE_SYNC_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT: Final = 5.0
DEFAULT_READ_TIMEOUT: Final = 20.0
TOTAL_ATTEMPTS: Final = 3
DEFAULT_WORKERS: Final = 16
DEFAULT_REGION: Final = "us-east-1"
_AUTH_CODES: Final = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "InvalidToken",
        "ExpiredToken",
        "InvalidClientTokenId",
        "AuthorizationHeaderMalformed",
        "403",
    }
)
_MISSING_CODES: Final = frozenset({"NoSuchKey", "404", "NotFound"})
# A range outside the object: the entry that names it is bad, not the sync.
_RANGE_CODES: Final = frozenset({"InvalidRange", "416"})
_EXISTS_CODES: Final = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})


@dataclass
class Traffic:
    """What went over the wire: payload bytes and requests, by direction. An object
    transfer is one session object or pack written, or one object or ranged read of a pack
    (neighbouring sessions of a pack come in one)."""

    bytes_up: int = 0
    bytes_down: int = 0
    objects_up: int = 0
    objects_down: int = 0
    requests: int = 0


class ObjectStore:
    """One bucket through one boto3 client; every method may raise a ``StoreError``."""

    def __init__(self, client: Any, bucket: str, *, label: str) -> None:
        self.client = client
        self.bucket = bucket
        self.label = label
        self.traffic = Traffic()
        self._lock = threading.Lock()
        self._errors = _botocore_errors()

    @classmethod
    def connect(cls, remote: Remote, *, workers: int = DEFAULT_WORKERS) -> ObjectStore:
        """A store for ``remote``; credentials come from the standard AWS chain only."""
        import boto3  # type: ignore[import-untyped]
        import botocore.config  # type: ignore[import-untyped]
        import botocore.exceptions  # type: ignore[import-untyped]

        connect_timeout, read_timeout = _timeouts()
        config = botocore.config.Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": TOTAL_ATTEMPTS, "mode": "standard"},
            max_pool_connections=workers,
            signature_version="s3v4",
            s3={"addressing_style": "path"} if remote.endpoint_url else {},
            # S3-compatible stores (older MinIO, rclone) do not all take the newer checksums.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            user_agent_extra="opencode-sync",
            parameter_validation=False,  # our few calls are built here; saves CPU per request
        )
        try:
            session = boto3.session.Session(profile_name=remote.profile)
            client = session.client(
                "s3",
                endpoint_url=remote.endpoint_url,
                region_name=remote.region or session.region_name or DEFAULT_REGION,
                config=config,
            )
        except botocore.exceptions.ProfileNotFound as exc:
            raise StoreAuthError(f"{remote.name}: {exc}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise StoreError(f"{remote.name}: {exc}") from None
        return cls(client, remote.bucket, label=remote.name)

    # -- calls --------------------------------------------------------------------------------

    def get(
        self,
        key: str,
        *,
        limit: int,
        payload: bool = False,
        span: tuple[int, int] | None = None,
    ) -> bytes | None:
        """The object at ``key`` (at most ``limit`` bytes); None when there is none.
        ``span`` (offset, length) asks for that byte range only (a session in a pack).

        A body cut off mid-transfer is fetched again (``TOTAL_ATTEMPTS`` in all).
        """
        for attempt in range(1, TOTAL_ATTEMPTS + 1):
            try:
                return self._get_once(key, limit, payload, span)
            except StoreUnreachableError:
                if attempt == TOTAL_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _get_once(
        self, key: str, limit: int, payload: bool, span: tuple[int, int] | None
    ) -> bytes | None:
        if span is not None and (span[0] < 0 or span[1] < 1):
            return None  # no such range: as if missing (the entry naming it is bad)
        ranged = {} if span is None else {"Range": f"bytes={span[0]}-{span[0] + span[1] - 1}"}
        try:
            response = self._call("get_object", Bucket=self.bucket, Key=key, **ranged)
        except _MissingKeyError:
            return None
        whole = span is not None and not response.get("ContentRange")
        if whole:
            # A store that ignores Range sends the whole object: read up to the span's end
            # (what arrives beyond it is dropped with the connection), then cut the span out.
            assert span is not None
            limit = min(span[0] + span[1], span[0] + limit)
        body = response["Body"]
        try:
            size = int(response.get("ContentLength") or 0)
            if size > limit and not whole:
                raise StoreError(f"{self.label}: {key} is {size:,} bytes, over the {limit:,} cap")
            data: bytes = body.read(limit if whole else limit + 1)
            if len(data) > limit:
                raise StoreError(f"{self.label}: {key} is over the {limit:,} bytes cap")
            if size and len(data) != min(size, limit):
                raise StoreUnreachableError(self._cut(key))
        except self._errors.transfer as exc:
            raise StoreUnreachableError(f"{self._cut(key)} ({exc})") from None
        finally:
            body.close()
        self._count(down=len(data), objects_down=1 if payload else 0)
        if whole:
            assert span is not None
            return data[span[0] : span[0] + span[1]]
        return data

    def _cut(self, key: str) -> str:
        return f"{self.label}: the connection was cut while downloading {key}"

    def put_new(self, key: str, data: bytes, *, payload: bool = False) -> bool:
        """Create ``key`` with ``data`` unless it exists; False when it already did."""
        try:
            self._call(
                "put_object",
                Bucket=self.bucket,
                Key=key,
                Body=data,
                IfNoneMatch="*",
                ContentType="application/gzip" if payload else "application/json",
            )
        except _KeyExistsError:
            return False
        self._count(up=len(data), objects_up=1 if payload else 0)
        return True

    def list_keys(self, prefix: str, *, start_after: str | None = None) -> Iterator[str]:
        """Keys under ``prefix`` in order, after ``start_after`` when given."""
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if start_after:
            args["StartAfter"] = start_after
        while True:
            page = self._call("list_objects_v2", **args)
            for item in page.get("Contents", ()):
                yield str(item["Key"])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            args = {"Bucket": self.bucket, "Prefix": prefix, "ContinuationToken": token}

    def list_folders(self, prefix: str) -> list[str]:
        """The "folders" directly under ``prefix`` (``CommonPrefixes``)."""
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "Delimiter": "/"}
        folders: list[str] = []
        while True:
            page = self._call("list_objects_v2", **args)
            folders += [str(item["Prefix"]) for item in page.get("CommonPrefixes", ())]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return folders
            args = {**args, "ContinuationToken": token}

    def presigned_get(self, key: str, expires_seconds: int) -> str:
        """A URL anyone can GET ``key`` with until it expires."""
        try:
            url: str = self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=expires_seconds,
            )
        except self._errors.all as exc:
            raise self._translate(exc, "presign", key) from None
        return url

    # -- errors -------------------------------------------------------------------------------

    def _call(self, operation: str, **args: Any) -> Any:
        self._count()
        try:
            return getattr(self.client, operation)(**args)
        except self._errors.client as exc:
            code = _code(exc)
            # A range past a pack's end is a bad entry, not a failed sync.
            missing = code in _MISSING_CODES or (code in _RANGE_CODES and "Range" in args)
            if missing and operation == "get_object":
                raise _MissingKeyError from None
            if code in _EXISTS_CODES and operation == "put_object":
                raise _KeyExistsError from None
            raise self._translate(exc, operation, args.get("Key")) from None
        except self._errors.all as exc:
            raise self._translate(exc, operation, args.get("Key")) from None

    def _translate(self, exc: BaseException, operation: str, key: str | None) -> StoreError:
        errors = self._errors
        where = f"{self.label} (s3://{self.bucket})"
        if isinstance(exc, errors.credentials):
            return StoreAuthError(f"{where}: no usable AWS credentials ({exc})")
        if isinstance(exc, errors.client):
            code = _code(exc)
            message = getattr(exc, "response", {}).get("Error", {}).get("Message") or code
            if code in _AUTH_CODES:
                return StoreAuthError(f"{where}: access refused ({code}: {message})")
            if code == "NoSuchBucket":
                return BucketNotFoundError(f"{where}: the bucket {self.bucket!r} does not exist")
            return StoreError(f"{where}: {operation} {key or ''} failed ({code}: {message})")
        if isinstance(exc, errors.timeout):
            return StoreUnreachableError(f"{where}: the endpoint timed out ({exc})")
        if isinstance(exc, errors.unreachable):
            return StoreUnreachableError(f"{where}: cannot reach the endpoint ({exc})")
        if isinstance(exc, errors.transfer):
            return StoreUnreachableError(f"{where}: the connection was cut ({exc})")
        return StoreError(f"{where}: {operation} failed ({exc})")

    def _count(
        self, *, up: int = 0, down: int = 0, objects_up: int = 0, objects_down: int = 0
    ) -> None:
        with self._lock:
            traffic = self.traffic
            if not (up or down or objects_up or objects_down):
                traffic.requests += 1
            traffic.bytes_up += up
            traffic.bytes_down += down
            traffic.objects_up += objects_up
            traffic.objects_down += objects_down


class _MissingKeyError(Exception):
    """A GET of a key that does not exist."""


class _KeyExistsError(Exception):
    """A create-only PUT of a key that exists."""


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    if code:
        return str(code)
    return str(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "")


@dataclass(frozen=True)
class _Errors:
    """The botocore and urllib3 exception classes, imported with boto3."""

    client: type[Exception]
    credentials: tuple[type[Exception], ...]
    timeout: tuple[type[Exception], ...]
    unreachable: tuple[type[Exception], ...]
    transfer: tuple[type[Exception], ...]
    all: tuple[type[Exception], ...]


def _botocore_errors() -> _Errors:
    import botocore.exceptions as be
    import urllib3.exceptions as ue

    transfer = (
        be.ResponseStreamingError,
        be.IncompleteReadError,
        be.ConnectionClosedError,
        be.ReadTimeoutError,
        ue.ProtocolError,
        ue.ReadTimeoutError,
        ConnectionError,
    )
    return _Errors(
        client=be.ClientError,
        credentials=(be.NoCredentialsError, be.PartialCredentialsError, be.ProfileNotFound),
        timeout=(be.ConnectTimeoutError, be.ReadTimeoutError),
        unreachable=(be.EndpointConnectionError, be.ConnectionError, be.HTTPClientError),
        transfer=transfer,
        all=(be.BotoCoreError, be.ClientError, ue.HTTPError, ConnectionError),
    )


def _timeouts() -> tuple[float, float]:
    raw = os.environ.get(TIMEOUT_ENV)
    if not raw:
        return DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        raise StoreError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw[:20]!r}") from None
    if not 0 < seconds <= 600:
        raise StoreError(f"{TIMEOUT_ENV} must be between 0 and 600 seconds, got {raw[:20]!r}")
    return seconds, seconds
