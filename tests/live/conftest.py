"""Fixtures shared by the live debugger tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from debugpy_attach import Session
from live_targets import TargetPool


@pytest.fixture
def session(targets: TargetPool) -> Iterator[Session]:
    """Debug sessions on live targets: every CLI, listener and adapter they started is stopped at the end."""
    s = Session(targets)
    try:
        yield s
    finally:
        s.close()
