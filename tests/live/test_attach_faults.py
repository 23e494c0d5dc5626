"""Every step failed on purpose (and every write corrupted or half done) against live targets: the target
must be left exactly as it was — pending 0, the eval-breaker bit clear, the path buffer unchanged — and the
script must never run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from attach_helpers import Marker, attach, make_marker, request_state, wait_parked
from live_targets import TargetPool, require

from core.attach import WRITE_STEPS, FaultPlan, plan_steps
from core.errors import FailureKind
from core.requests import CancelToken, Method

STEPS = [s for s in plan_steps(Method.SAFE)]
KINDS = {
    "openProcess": FailureKind.OPEN_PROCESS,
    "offsetsResolve": FailureKind.OFFSETS_RESOLVE,
    "parse": FailureKind.PARSE,
    "policy": FailureKind.INTERNAL,  # no FailureKind named "policy": reported as internal
    "threadState": FailureKind.THREAD_STATE,
    "writeScript": FailureKind.WRITE_SCRIPT,
    "writePending": FailureKind.WRITE_PENDING,
    "writeBreaker": FailureKind.WRITE_BREAKER,
    "awaitRun": FailureKind.INTERNAL,
}


@pytest.fixture
def marker() -> Iterator[Marker]:
    yield from make_marker()


def _check_untouched(targets: TargetPool, marker: Marker, faults: FaultPlan, step: str, name: str = "3.14") -> None:
    # blocked.py never reaches the eval loop, so a half request left behind would stay visible
    target = targets.spawn_script(require(name), "blocked.py")
    wait_parked(target.pid)
    before = request_state(target.pid)
    assert before.pending == 0 and not before.please_stop_set
    _, outcome = attach(target.pid, marker.script(), faults=faults, timeout=2)
    assert not outcome.ok
    assert outcome.failed_step == step, outcome
    assert outcome.result["ran"] is False
    after = request_state(target.pid)
    assert after.pending == 0
    assert not after.please_stop_set
    assert after.path_buffer == before.path_buffer
    assert not marker.host_file.exists()
    assert target.alive()


@pytest.mark.parametrize("step", STEPS)
def test_failing_step_leaves_target_untouched(targets: TargetPool, marker: Marker, step: str) -> None:
    _check_untouched(targets, marker, FaultPlan.failing(step), step)


@pytest.mark.parametrize("step", WRITE_STEPS)
@pytest.mark.parametrize("mode", ["corrupt", "partial"])
@pytest.mark.parametrize("name", ["3.14", "3.15"])
def test_bad_write_is_rolled_back(targets: TargetPool, marker: Marker, step: str, mode: str, name: str) -> None:
    faults = FaultPlan.corrupting(step) if mode == "corrupt" else FaultPlan.partial_write(step)
    _check_untouched(targets, marker, faults, step, name)


def test_failing_step_reports_kind(targets: TargetPool, marker: Marker) -> None:
    target = targets.spawn_script(require("3.14"), "blocked.py")
    for step in ("writeScript", "writePending", "writeBreaker", "threadState"):
        _, outcome = attach(target.pid, marker.script(), faults=FaultPlan.failing(step), timeout=2)
        assert outcome.kind is KINDS[step]
        assert "injected fault" in outcome.message


def test_cancel_while_waiting_withdraws(targets: TargetPool, marker: Marker) -> None:
    import threading

    target = targets.spawn_script(require("3.14"), "blocked.py")
    wait_parked(target.pid)
    before = request_state(target.pid)
    cancel = CancelToken()
    timer = threading.Timer(0.5, cancel.cancel)
    timer.start()
    try:
        _, outcome = attach(target.pid, marker.script(), timeout=30, cancel=cancel)
    finally:
        timer.cancel()
    assert outcome.kind is FailureKind.CANCELLED
    assert outcome.failed_step == "awaitRun"
    after = request_state(target.pid)
    assert after.pending == 0 and not after.please_stop_set and after.path_buffer == before.path_buffer
    assert target.alive()


def test_cancel_before_start(targets: TargetPool, marker: Marker) -> None:
    target = targets.spawn_script(require("3.14"), "blocked.py")
    cancel = CancelToken()
    cancel.cancel()
    _, outcome = attach(target.pid, marker.script(), cancel=cancel)
    assert outcome.kind is FailureKind.CANCELLED
    assert outcome.failed_step == "openProcess"


def test_target_exiting_while_waiting(targets: TargetPool, marker: Marker) -> None:
    import threading

    from core.attach import run_attach
    from core.events import Outcome, StepStarted
    from core.requests import AttachRequest

    target = targets.spawn_script(require("3.14"), "blocked.py")
    wait_parked(target.pid)
    waiting = threading.Event()
    outcomes: list[Outcome] = []

    def run() -> None:
        request = AttachRequest(target.pid, script=str(marker.script()), timeout=60)
        for event in run_attach(request, CancelToken()):
            if isinstance(event, StepStarted) and event.step == "awaitRun":
                waiting.set()  # handshake: every write is done and the engine waits for the target
            if isinstance(event, Outcome):
                outcomes.append(event)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        assert waiting.wait(20), "the engine never started waiting"
        assert request_state(target.pid).pending == 1
    finally:
        target.stop()  # we started it: kill and reap
        worker.join(30)
    assert not worker.is_alive()
    (outcome,) = outcomes
    assert outcome.kind is FailureKind.PROCESS_EXITED
    assert outcome.failed_step == "awaitRun"
