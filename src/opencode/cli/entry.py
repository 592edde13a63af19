"""Console-script entry point (placeholder until the CLI lands)."""

from __future__ import annotations


def main() -> None:
    """Run the opencode command line."""
    raise SystemExit("opencode: the command line is not built yet")
