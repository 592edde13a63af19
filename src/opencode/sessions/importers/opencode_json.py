"""Our own JSON: ``opencode session export --format json`` (or ``show --json``) output, or a
session file itself; both are the spec's session object that ``Session.from_dict`` reads.

What belonged to the other store goes: its pin, archive mark, fork parent and earlier import
record; title, tags, model, folder, messages, tool runs, usage and other metadata stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from opencode.sessions.errors import SessionCorruptedError
from opencode.sessions.importers import records as rec
from opencode.sessions.importers.errors import ImportFormatError
from opencode.sessions.importers.sources import ImportInput
from opencode.sessions.importers.transcript import ParsedSession, foreign_dir
from opencode.sessions.models import Session

NAME: Final = "opencode"
DESCRIPTION: Final = "opencode session JSON (session export --format json)"
# Metadata that describes the session's place in the store it came from, not the session.
STORE_METADATA: Final = ("pinned", "archived_at", "forked_from", "imported_from")


def looks_like(document: object) -> bool:
    """True for the spec's session object."""
    return (
        isinstance(document, Mapping)
        and isinstance(document.get("id"), str)
        and "created_at" in document
        and isinstance(document.get("messages", []), list)
    )


def parse(source: ImportInput) -> ParsedSession:
    """The session in an export; ``SessionCorruptedError`` problems become format errors."""
    document = rec.parse_json(source.data, source.label, "an opencode session")
    if not looks_like(document):
        raise ImportFormatError(
            "not an opencode session (expected 'id', 'created_at' and 'messages')", source.label
        )
    try:
        session = Session.from_dict(document)
    except SessionCorruptedError as exc:
        raise ImportFormatError(exc.problem, source.label) from None
    source_id = session.id
    for key in STORE_METADATA:
        session.metadata.pop(key, None)
    session.working_dir = foreign_dir(session.working_dir)
    session.journal_seq = 0
    return ParsedSession(session, NAME, source_id)
