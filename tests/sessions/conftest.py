"""The suite runs with --import-mode=importlib, which leaves sys.path alone; the test modules
here import their helper ``worker_child`` from this folder."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
