"""``python -m opencode.cli``: the same as the ``opencode`` command."""

from __future__ import annotations

from opencode.cli.entry import main

if __name__ == "__main__":
    main()
