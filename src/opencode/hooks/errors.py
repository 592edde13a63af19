"""Errors the hooks library raises on purpose.

Running a hook never raises (failures are logged and reported in ``HookResult``); these cover
the calls a user makes directly: building an invalid ``Hook`` and trusting a project.
"""

from __future__ import annotations

from opencode.errors import OpencodeError


class HookError(OpencodeError):
    """Base class for every hooks error."""


class InvalidHookError(HookError, ValueError):
    """A hook definition is malformed (empty pattern or command, bad timeout, wrong types)."""


class NoProjectHooksError(HookError):
    """There is no ``.opencode/hooks.json`` to trust at or above the given folder."""


class TrustStoreError(HookError):
    """The trusted-projects file is unreadable, corrupt, or written by a newer opencode."""


class CorruptTrustStoreError(TrustStoreError):
    """The trusted-projects file is damaged: not JSON, the wrong shape, not a file at all."""
