"""Limits the CLI shows in `--help` before anything else is imported (so this module imports nothing)."""

MAX_TIMEOUT = 3600.0  # seconds; documented in README and `--help`
