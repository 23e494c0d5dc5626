from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_targets import TargetPool
from other_user import searchable_dir

pytest_plugins = ["async_tests", "layout_rule", "pytester"]  # async tests; the folder is the kind; tree checks


@pytest.fixture
def shared() -> Iterator[Path]:
    """A 0755 directory every uid may search, for files a target of another user must read; removed after."""
    with searchable_dir() as d:
        yield d


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
