"""`info` takes a process's start time from /proc itself; it must be what psutil (which `ps` uses) says."""

from __future__ import annotations

import os

import psutil
import pytest

from core.procfs import start_time_of


@pytest.mark.parametrize("pid", [1, os.getpid(), os.getppid()])
def test_start_time_matches_psutil(pid: int) -> None:
    assert start_time_of(pid) == pytest.approx(psutil.Process(pid).create_time(), abs=0.01)


def test_a_missing_process_has_no_start_time() -> None:
    pid = 4_000_000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    assert start_time_of(pid) == 0.0
