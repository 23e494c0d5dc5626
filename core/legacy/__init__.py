"""Legacy injection into CPython 3.9+ through gdb (for targets where safe attach cannot run)."""

from core.legacy.gdb_inject import LegacyInjection, gdb_available, inject_python

__all__ = ["LegacyInjection", "gdb_available", "inject_python"]
