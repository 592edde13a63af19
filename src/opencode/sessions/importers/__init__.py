"""Importing conversations: our own JSON, Claude Code, Codex CLI and sst/opencode sessions.

``import_source(manager, "file.jsonl")`` reads one input (a file, ``-`` for a stream, later
a URL), detects or takes its format, builds and checks the whole session in memory, and only
then writes it through the storage and index of ``manager``. A file that fails any check is
one ``SessionImportError`` and nothing is written. Each imported session records where it
came from in ``metadata["imported_from"]`` (``{"tool", "id", "path"}``); the index keeps
that, so importing the same source again finds the earlier session instead of writing a
second one. ``import_all`` does the same for every session in a tool's own folder.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from opencode.logs import get_logger
from opencode.sessions.errors import (
    InvalidSessionIdError,
    InvalidSessionValueError,
    SessionCorruptedError,
    SessionError,
    SessionExistsError,
    SessionLockedError,
)
from opencode.sessions.importers import registry
from opencode.sessions.importers.errors import (
    ImportFormatError,
    ImportSourceError,
    NothingToImportError,
    SessionImportError,
)
from opencode.sessions.importers.sources import ImportInput, read_file, read_source
from opencode.sessions.importers.transcript import ParsedSession

if TYPE_CHECKING:
    from opencode.sessions.manager import SessionManager
    from opencode.sessions.models import Session

__all__ = [
    "IMPORTED_FROM",
    "ImportFailure",
    "ImportFormatError",
    "ImportInput",
    "ImportOutcome",
    "ImportSourceError",
    "ImportSummary",
    "NothingToImportError",
    "SessionImportError",
    "SourceRef",
    "import_all",
    "import_input",
    "import_source",
]

logger = get_logger(__name__)

IMPORTED_FROM: Final = "imported_from"
IMPORTED: Final = "imported"
ALREADY_IMPORTED: Final = "already_imported"


@dataclass(frozen=True)
class SourceRef:
    """Where an imported session came from: the tool, its session id there, the file."""

    tool: str
    id: str | None
    path: str | None

    def to_dict(self) -> dict[str, str | None]:
        """The ``imported_from`` metadata entry."""
        return {"tool": self.tool, "id": self.id, "path": self.path}


@dataclass(frozen=True)
class ImportOutcome:
    """One input's fate: imported as ``session_id``, or found imported before as it."""

    status: str
    session_id: str
    source: SourceRef
    title: str
    message_count: int
    unknown_records: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def imported(self) -> bool:
        """True when this call wrote the session."""
        return self.status == IMPORTED

    def to_dict(self) -> dict[str, Any]:
        """What ``session import --json`` prints for one input."""
        return {
            "status": self.status,
            "id": self.session_id,
            "title": self.title,
            "message_count": self.message_count,
            "source": self.source.to_dict(),
            "unknown_records": dict(self.unknown_records),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class ImportFailure:
    """An input ``import_all`` could not import, and why."""

    path: str
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "error": self.error}


@dataclass
class ImportSummary:
    """What ``import_all`` did with each file of a tool's folder."""

    tool: str
    folder: str
    imported: list[ImportOutcome] = field(default_factory=list)
    already_imported: list[ImportOutcome] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    failed: list[ImportFailure] = field(default_factory=list)

    @property
    def found(self) -> int:
        """How many session files the folder held."""
        return len(self.imported) + len(self.already_imported) + len(self.empty) + len(self.failed)

    def to_dict(self) -> dict[str, Any]:
        """What ``session import --all --json`` prints."""
        return {
            "tool": self.tool,
            "folder": self.folder,
            "found": self.found,
            "imported": [o.to_dict() for o in self.imported],
            "already_imported": [o.to_dict() for o in self.already_imported],
            "empty": list(self.empty),
            "failed": [f.to_dict() for f in self.failed],
        }


# -- one input --------------------------------------------------------------------------------


def import_source(
    manager: SessionManager,
    text: str,
    *,
    stdin: BinaryIO | None = None,
    fmt: str | None = None,
    keep_id: bool = False,
) -> ImportOutcome:
    """Import what ``text`` names: a file path, ``-`` (read ``stdin``) or a URL."""
    return import_input(manager, read_source(text, stdin), fmt=fmt, keep_id=keep_id)


def import_input(
    manager: SessionManager,
    source: ImportInput,
    *,
    fmt: str | None = None,
    keep_id: bool = False,
    known: dict[str, str] | None = None,
) -> ImportOutcome:
    """Parse, check and write one input; nothing is written unless every check passes.

    ``fmt`` names the format (detected from the content when None); ``keep_id`` keeps the
    source's session id (``SessionExistsError`` when taken, ``InvalidSessionIdError`` when
    it cannot be an id here); ``known`` maps source ids of the format's tool to sessions
    imported before (looked up in the index when None).
    """
    name = fmt or registry.detect(source)
    parsed = registry.parser_for(name)(source)
    origin = SourceRef(parsed.tool, parsed.source_id, source.path)
    if known is None:
        manager.index.refresh()
        known = manager.index.imports_from(parsed.tool)
    earlier = known.get(origin.id) if origin.id is not None else None
    if earlier is not None:
        return _outcome(ALREADY_IMPORTED, earlier, origin, parsed, manager)
    session = _prepared(parsed, origin, keep_id)
    _check(session, source.label)
    _write(manager, session)
    if origin.id is not None:
        known[origin.id] = session.id
    return _outcome(IMPORTED, session.id, origin, parsed, manager)


def _prepared(parsed: ParsedSession, origin: SourceRef, keep_id: bool) -> Session:
    """The parsed session with its id here and its ``imported_from`` record."""
    from opencode.sessions.ids import new_session_id, validate_session_id

    session = parsed.session
    if keep_id:
        if origin.id is None:
            raise InvalidSessionIdError("--keep-id: the source records no session id")
        try:
            session.id = validate_session_id(origin.id)
        except InvalidSessionIdError as exc:
            raise InvalidSessionIdError(f"--keep-id: {exc}") from None
    else:
        session.id = new_session_id()
    session.metadata[IMPORTED_FROM] = origin.to_dict()
    return session


def _check(session: Session, label: str) -> None:
    """Everything a later load checks, now: encode the file and read it back."""
    import orjson

    from opencode.sessions.fileio import dumps_json
    from opencode.sessions.models import Session as SessionModel

    try:
        SessionModel.from_dict(orjson.loads(dumps_json(session.to_dict())))
    except (InvalidSessionValueError, SessionCorruptedError) as exc:
        raise ImportFormatError(str(exc), label) from None


def _write(manager: SessionManager, session: Session) -> None:
    """Write the new session under its writer lock and index it; an id whose files exist
    (even leftovers of a crash) is taken."""
    storage, index = manager.storage, manager.index
    if _taken(manager, session.id):
        raise SessionExistsError(session.id)
    with storage.writer_lock(session.id, "short"):
        if _taken(manager, session.id):
            raise SessionExistsError(session.id)
        before = index.folder_state()
        storage.save(session)
        try:
            index.add(session, folder_before=before)
        except (SessionError, OSError, sqlite3.Error) as exc:
            # The file is written; the index heals from it on the next read.
            logger.warning("could not index imported session %s: %s", session.id, exc)


def _taken(manager: SessionManager, session_id: str) -> bool:
    storage = manager.storage
    return any(
        os.path.lexists(path)
        for path in (
            storage.get_path(session_id),
            storage.get_journal_path(session_id),
            storage.get_backup_path(session_id),
        )
    )


def _outcome(
    status: str, session_id: str, origin: SourceRef, parsed: ParsedSession, manager: SessionManager
) -> ImportOutcome:
    if status == IMPORTED:
        title, count = parsed.session.title, parsed.session.message_count
    else:
        summary = manager.index.get(session_id)
        title = summary.title if summary is not None else ""
        count = summary.message_count if summary is not None else 0
    return ImportOutcome(
        status, session_id, origin, title, count, dict(parsed.unknown), tuple(parsed.notes)
    )


# -- a whole folder ---------------------------------------------------------------------------


def import_all(
    manager: SessionManager,
    tool: str,
    *,
    keep_id: bool = False,
    folder: str | os.PathLike[str] | None = None,
) -> ImportSummary:
    """Import every session ``tool`` (``claude`` or ``codex``) keeps in its folder (its
    default one, which follows ``HOME``, unless ``folder`` is given). A file that cannot be
    imported is listed in ``failed`` and the others go on; one with no messages in
    ``empty``."""
    where = Path(folder) if folder is not None else registry.default_folder(tool)
    summary = ImportSummary(tool, str(where))
    files = registry.find_files(tool, where)
    if not files:
        return summary
    manager.index.refresh()
    known = manager.index.imports_from(tool)
    for path in files:
        _import_one(manager, tool, path, keep_id, known, summary)
    return summary


def _import_one(
    manager: SessionManager,
    tool: str,
    path: Path,
    keep_id: bool,
    known: dict[str, str],
    summary: ImportSummary,
) -> None:
    try:
        outcome = import_input(manager, read_file(path), fmt=tool, keep_id=keep_id, known=known)
    except NothingToImportError:
        summary.empty.append(str(path))
        return
    except (
        SessionImportError,
        SessionExistsError,
        InvalidSessionIdError,
        SessionLockedError,
    ) as exc:
        summary.failed.append(ImportFailure(str(path), _without_label(exc, path)))
        return
    found = summary.imported if outcome.imported else summary.already_imported
    found.append(outcome)


def _without_label(exc: Exception, path: Path) -> str:
    """The problem alone: the failure already names the file."""
    if isinstance(exc, SessionImportError):
        return exc.problem
    return str(exc)
