"""The formats ``session import`` reads, and how it tells them apart.

Each format is a module with ``NAME``, ``DESCRIPTION``, ``looks_like(value)`` and
``parse(ImportInput) -> ParsedSession``; the tools whose folders ``--all`` scans also have
``default_folder()`` and ``find_files(folder)``. Adding a format is one module and one line
in ``FORMATS``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Final

from opencode.sessions.importers import claude, codex, opencode_json, records, sst
from opencode.sessions.importers.errors import ImportFormatError
from opencode.sessions.importers.sources import ImportInput
from opencode.sessions.importers.transcript import ParsedSession

FORMATS: Final[dict[str, ModuleType]] = {
    module.NAME: module for module in (opencode_json, claude, codex, sst)
}
# Tools with a folder of their own that ``import --all`` can scan.
FOLDER_TOOLS: Final[dict[str, ModuleType]] = {module.NAME: module for module in (claude, codex)}
# JSON Lines formats are recognised from their first lines; this many are looked at.
SNIFF_LINES: Final = 20


def format_names() -> list[str]:
    """Every format name, as ``--from`` accepts them."""
    return list(FORMATS)


def parser_for(name: str) -> Callable[[ImportInput], ParsedSession]:
    """The reader of format ``name``; ``ImportFormatError`` for a name we do not know."""
    module = FORMATS.get(name)
    if module is None:
        choices = ", ".join(FORMATS)
        raise ImportFormatError(f"unknown format {name!r}; choose one of {choices}")
    parse: Callable[[ImportInput], ParsedSession] = module.parse
    return parse


def detect(source: ImportInput) -> str:
    """The name of the format ``source`` is in, from its content alone."""
    document = _whole_document(source.data)
    for module in (opencode_json, sst):
        if module.looks_like(document):
            return str(module.NAME)
    for value in records.first_lines(source.data, SNIFF_LINES):
        for module in (claude, codex):
            if module.looks_like(value):
                return str(module.NAME)
    expected = "; ".join(f"{m.NAME}: {m.DESCRIPTION}" for m in FORMATS.values())
    raise ImportFormatError(
        f"not in a format opencode can import (use --from to name one: {expected})",
        source.label,
    )


def default_folder(tool: str) -> Path:
    """Where ``tool`` keeps its sessions (for ``--all``)."""
    module = FOLDER_TOOLS.get(tool)
    if module is None:
        choices = " or ".join(FOLDER_TOOLS)
        raise ImportFormatError(f"--all imports from {choices}, not {tool!r}")
    folder: Path = module.default_folder()
    return folder


def find_files(tool: str, folder: Path) -> list[Path]:
    """Every session file of ``tool`` below ``folder``."""
    files: list[Path] = FOLDER_TOOLS[tool].find_files(folder)
    return files


def _whole_document(data: bytes) -> object:
    import orjson

    try:
        return orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError:
        return None
