"""The cycle collector's threshold while a CLI process starts, and back to what it was once a command runs long.

Importing what a command needs allocates tens of thousands of objects that live as long as the process; at
the default young-generation threshold (700) the collector runs some 15 times during an `exec` (1.2-1.6 ms
of ~35). A higher one only makes collections rarer. The console, a debug bridge and the DAP relay run for
hours: they put the threshold back before they start."""

from __future__ import annotations

import gc

START_THRESHOLD = 20_000  # objects allocated between young collections while the process starts
_found: tuple[int, int, int] | None = None


def raise_for_startup() -> None:
    global _found
    if _found is None:
        _found = gc.get_threshold()
        gc.set_threshold(START_THRESHOLD, *_found[1:])


def restore() -> None:
    """The threshold the process started with (a no-op when it was never raised)."""
    global _found
    if _found is not None:
        gc.set_threshold(*_found)
        _found = None
