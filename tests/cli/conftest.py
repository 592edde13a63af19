"""Fixtures for CLI tests (helpers live in ``cli_helpers.py``)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The suite runs with --import-mode=importlib, which leaves sys.path alone; the test modules
# here import their helpers as ``cli_helpers``.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import stub_chat_server
from cli_helpers import CliRunnerHelper


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI adds a stderr handler to the "opencode" logger; other tests must not see it."""
    logger = logging.getLogger("opencode")
    handlers = list(logger.handlers)
    yield
    logger.handlers[:] = handlers


@pytest.fixture
def cli() -> CliRunnerHelper:
    return CliRunnerHelper()


@pytest.fixture
def stub() -> Iterator[stub_chat_server.StubChatServer]:
    """A chat-completions server on 127.0.0.1 that answers what each test queues."""
    with stub_chat_server.StubChatServer() as server:
        yield server
