"""What can go wrong while syncing or sharing: each is one ``error:`` line in the CLI.

Every error here is raised before the local store changes, or after a step that left it
consistent (a pulled session is written whole or not at all), so a failed run can simply be
run again.
"""

from __future__ import annotations

from opencode.errors import OpencodeError


class SyncError(OpencodeError):
    """Base class of every sync and share error."""


class RemoteError(SyncError):
    """A remote's configuration is wrong: an unknown name, a bad URL, a newer file."""


class RemoteNotFoundError(RemoteError):
    """No remote has that name."""

    def __init__(self, name: str, known: list[str]) -> None:
        hint = f" (remotes: {', '.join(known)})" if known else " (add one with 'remote add')"
        super().__init__(f"no remote named {name!r}{hint}")
        self.name = name


class RemoteExistsError(RemoteError):
    """``remote add`` of a name that is taken."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a remote named {name!r} already exists; remove it first")
        self.name = name


class StoreError(SyncError):
    """The object store could not be used: credentials, bucket, network."""


class StoreAuthError(StoreError):
    """The store refused our credentials (or we have none)."""


class BucketNotFoundError(StoreError):
    """The bucket the remote names does not exist."""


class StoreUnreachableError(StoreError):
    """The endpoint refused the connection, timed out, or cut it mid-transfer."""


class SyncFormatError(SyncError):
    """The remote holds data of a newer sync format (or data we cannot read at all)."""


class SyncBusyError(SyncError):
    """Another sync is running in this data folder."""


class StateFileError(SyncError):
    """A local sync file (device id, sync state) is unreadable or from a newer opencode."""


class ShareError(SyncError):
    """A share could not be made, or a shared session could not be fetched or read."""
