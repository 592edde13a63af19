"""Building the index from scratch: every session file read once, in parallel, in bulk.

The session files are parsed and validated by worker processes (one per core), which send
back only what the index stores: the session's row and its messages' searchable text. The
parent writes rows and text in large transactions, and builds the full-text index once at the
end from the stored text (FTS5's ``rebuild``), which is several times faster than indexing
message by message. A small folder is read in-process: starting workers would cost more.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, Final

    from opencode.sessions.storage import SessionStorage

# Below this many sessions, worker processes cost more than they save.
PARALLEL_FROM: Final = 2000
CHUNK: Final = 200


class FileState:
    """What the folder scan saw of one session: its files' identities and bytes.

    A plain class, as ``ReadResult``: every command that lists imports this module, and a
    frozen dataclass costs a millisecond of start-up to build."""

    __slots__ = ("journal", "size", "snapshot")

    def __init__(self, snapshot: str | None, journal: str | None, size: int = 0) -> None:
        self.snapshot = snapshot
        self.journal = journal
        self.size = size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FileState):
            return NotImplemented
        return (self.snapshot, self.journal, self.size) == (
            other.snapshot,
            other.journal,
            other.size,
        )

    def __hash__(self) -> int:
        return hash((self.snapshot, self.journal, self.size))

    def __repr__(self) -> str:
        return f"FileState({self.snapshot!r}, {self.journal!r}, {self.size!r})"


class ReadResult:
    """One session as the index stores it: a row, or why the files do not load."""

    __slots__ = ("files", "missing", "problem", "row", "session_id", "texts")

    def __init__(
        self,
        session_id: str,
        files: FileState,
        row: tuple[Any, ...] | None,
        texts: list[tuple[str, str, str, str]],
        problem: str | None,
        missing: bool = False,
    ) -> None:
        self.session_id = session_id
        self.files = files
        self.row = row
        self.texts = texts
        self.problem = problem
        self.missing = missing


def read_for_index(storage: SessionStorage, session_id: str, files: FileState) -> ReadResult:
    """Load one session and turn it into its index row and searchable text."""
    from opencode.sessions.errors import SessionNotFoundError, SessionStorageError
    from opencode.sessions.index import index_row, searchable_texts

    try:
        session = storage.load(session_id)
    except SessionNotFoundError:
        return ReadResult(session_id, files, None, [], None, missing=True)
    except SessionStorageError as exc:
        return ReadResult(session_id, files, None, [], str(exc))
    row = index_row(session, files.snapshot, files.journal, files.size)
    texts = [(text.message_id, text.role, text.at, text.text) for text in searchable_texts(session)]
    return ReadResult(session_id, files, row, texts, None)


Job = tuple["SessionStorage", list[tuple[str, FileState]]]


def _read_chunk(job: Job) -> list[ReadResult]:
    storage, items = job
    return [read_for_index(storage, sid, files) for sid, files in items]


def read_all(
    storage: SessionStorage,
    found: dict[str, FileState],
    progress: Callable[[int], None] | None = None,
) -> Iterator[ReadResult]:
    """Every session of ``found`` read for the index, in id order, each file once."""
    ids = sorted(found)
    jobs: list[Job] = [
        (storage, [(sid, found[sid]) for sid in ids[start : start + CHUNK]])
        for start in range(0, len(ids), CHUNK)
    ]
    done = 0
    for chunk in _map(jobs, parallel=len(ids) >= PARALLEL_FROM):
        done += len(chunk)
        yield from chunk
        if progress is not None:
            progress(done)


def _map(jobs: Sequence[Job], *, parallel: bool) -> Iterator[list[ReadResult]]:
    workers = min(os.cpu_count() or 1, 4)
    if not parallel or workers < 2 or not _fork_is_safe():
        yield from map(_read_chunk, jobs)
        return
    import multiprocessing

    # fork, not spawn: a spawned worker would re-run the caller's __main__ (a library must
    # not ask its users for an ``if __name__ == "__main__"`` guard); forking is safe while
    # this process runs no other thread, which is checked above.
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        yield from pool.imap(_read_chunk, jobs)


def _fork_is_safe() -> bool:
    """A forked child of a process with other threads may inherit a lock held forever."""
    import threading

    return hasattr(os, "fork") and threading.active_count() == 1
