"""The CLI raises the collector's threshold while it starts and puts back what it found before a command
that runs long (console, debug bridge, DAP relay); a caller's main(argv) leaves it alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.cli import startup_gc


@pytest.fixture(autouse=True)
def _keep_threshold() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    startup_gc._found = None
    gc.set_threshold(*before)


def test_raise_then_restore_puts_back_what_was_found() -> None:
    gc.set_threshold(555, 7, 9)
    startup_gc.raise_for_startup()
    assert gc.get_threshold() == (startup_gc.START_THRESHOLD, 7, 9)
    startup_gc.raise_for_startup()  # twice: still restores the first value found
    startup_gc.restore()
    assert gc.get_threshold() == (555, 7, 9)
    startup_gc.restore()  # a no-op now
    assert gc.get_threshold() == (555, 7, 9)


def test_main_with_arguments_leaves_the_collector_alone(capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli.main import main

    gc.set_threshold(444, 10, 10)
    assert main(["log", "--json"]) in (0, 1)
    assert gc.get_threshold() == (444, 10, 10)
