"""Injection through gdb: optional (`--injector gdb`), and only after a health probe of that gdb passed."""

from core.inject.gdb.inject import LegacyInjection, gdb_available, inject_python

__all__ = ["LegacyInjection", "gdb_available", "inject_python"]
