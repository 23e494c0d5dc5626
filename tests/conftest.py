from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from live_targets import TargetPool


@pytest.fixture
def targets() -> Iterator[TargetPool]:
    """Spawn live targets; every one is killed and reaped when the test ends."""
    pool = TargetPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never write to the user's real attempt log or reattach cache."""
    monkeypatch.setenv("SAFEATTACH_STATE_DIR", str(tmp_path_factory.mktemp("state")))
