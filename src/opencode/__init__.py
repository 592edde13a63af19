"""opencode: an AI coding assistant whose conversations survive anything."""

__version__ = "0.1.0"
