"""Limits the CLI shows in `--help` before anything else is imported (so this module imports nothing)."""

MAX_TIMEOUT = 3600.0  # seconds; documented in README and `--help`
MAX_IDLE_TIMEOUT = 7 * 24 * 3600.0  # how long a debug server may wait for its next client
