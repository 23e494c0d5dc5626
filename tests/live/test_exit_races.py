"""A target that exits while the chain works on it is reported as processExited, whatever step it hit
(before: staging into its vanished /proc/PID/root showed up as writeScript)."""

from __future__ import annotations

import collections
import random
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from attach_helpers import attach
from live_targets import Target, TargetPool, require

from core.attach import chain
from core.errors import FailureKind
from core.events import StepFinished, StepStatus
from core.requests import Method


@pytest.fixture
def script() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="sa-exit-"))
    d.chmod(0o755)
    path = d / "s.py"
    path.write_text("x = 1\n")
    path.chmod(0o644)
    try:
        yield path
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_exit_during_staging_is_process_exited(targets: TargetPool, script: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    target = targets.spawn_script(require("3.14"), "sleepy.py")
    real_stage = chain.stage

    def stage_after_exit(*args: Any, **kwargs: Any) -> Any:
        target.stop()  # SIGKILL and reap: the process is gone right before its /tmp is written
        return real_stage(*args, **kwargs)

    monkeypatch.setattr(chain, "stage", stage_after_exit)
    events, outcome = attach(target.pid, script, method=Method.SAFE)
    assert outcome.kind is FailureKind.PROCESS_EXITED, outcome
    assert outcome.failed_step == "writeScript"
    assert outcome.result["failure_seen"] == "writeScript"
    assert "the target exited during this step" in outcome.message
    failed = [e for e in events if isinstance(e, StepFinished) and e.status is StepStatus.FAILED]
    assert [e.kind for e in failed] == [FailureKind.PROCESS_EXITED]


def test_random_exits_are_always_process_exited(targets: TargetPool, script: Path) -> None:
    """30 attempts, each target SIGKILLed (by us, its parent) at a random moment of the attempt."""
    rng = random.Random(1234)
    seen: collections.Counter[str] = collections.Counter()
    for _ in range(30):
        target: Target = targets.spawn_script(require("3.14"), "busy.py")
        timer = threading.Timer(rng.uniform(0.0, 0.05), target.stop)
        timer.start()
        try:
            _, outcome = attach(target.pid, script, method=Method.SAFE, timeout=5)
        finally:
            timer.join(timeout=15)
        seen["ok" if outcome.ok else f"{outcome.kind.value if outcome.kind else '?'}@{outcome.failed_step}"] += 1
        if not outcome.ok:
            assert outcome.kind in (FailureKind.PROCESS_EXITED, FailureKind.NO_SUCH_PROCESS), (outcome, seen)
        targets.close()
    print(f"exit races: {dict(seen)}")
