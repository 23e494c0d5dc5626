"""The tests' FakeEngine: the fixed-data EngineSource that also drives `python -m app.tui.screenshots`.

It lives in app/tui/fake.py because app must not import tests; this module is the tests' entry point to it.
"""

from app.tui.fake import (
    BLOCKED_PID,
    BUSY_PID,
    CONTAINER_PID,
    DENIED_PID,
    DISABLED_PID,
    LEGACY_PID,
    MARKUP_CMDLINE,
    MARKUP_PID,
    FakeEngine,
    fake_processes,
)

__all__ = [
    "BLOCKED_PID",
    "BUSY_PID",
    "CONTAINER_PID",
    "DENIED_PID",
    "DISABLED_PID",
    "LEGACY_PID",
    "MARKUP_CMDLINE",
    "MARKUP_PID",
    "FakeEngine",
    "fake_processes",
]
