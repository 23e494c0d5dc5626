"""One request at a time: a second safeattach client waits (then reports busy), another debugger's armed
request is never overwritten, and a stale request of our own is replaced."""

from __future__ import annotations

import threading

import pytest
from attach_helpers import Marker, attach, make_marker, request_state, wait_parked
from live_targets import SID, TargetPool, require

from core.attach.guard import TargetLock
from core.errors import FailureKind
from core.events import StepFinished, StepOutput
from core.remote_exec import remote_exec
from core.requests import Method
from core.target import open_target


@pytest.fixture
def marker() -> Marker:
    yield from make_marker()  # type: ignore[misc]


def test_another_debuggers_armed_request_is_not_overwritten(targets: TargetPool, marker: Marker) -> None:
    target = targets.spawn_script(require("3.14"), "blocked.py")
    wait_parked(target.pid)
    foreign = SID / "tmp" / "foreign-request.py"
    foreign.write_text("pass\n")
    try:
        remote_exec(target.pid, str(foreign))  # like sys.remote_exec / pdb -p: armed, not yet run
        before = request_state(target.pid)
        assert before.pending == 1
        _, outcome = attach(target.pid, marker.script(), method=Method.SAFE, timeout=2)
    finally:
        foreign.unlink()
    assert outcome.kind is FailureKind.BUSY and outcome.failed_step == "writeScript"
    assert str(foreign) in outcome.message
    after = request_state(target.pid)
    assert after == before  # nothing written: the other request is intact
    assert not marker.host_file.exists()
    assert target.alive()


def test_a_second_safeattach_client_waits_then_reports_busy(targets: TargetPool, marker: Marker) -> None:
    target = targets.spawn_script(require("3.14"), "sleepy.py")
    with open_target(target.pid) as t:
        held = TargetLock(t.root, t.uid, t.gid, t.pid, t.start_ticks)
    held.acquire(5, None, lambda line: None)  # another client holds the target
    try:
        events, outcome = attach(target.pid, marker.script(), timeout=1)
    finally:
        held.release()
    assert outcome.kind is FailureKind.BUSY and outcome.failed_step == "writeScript"
    assert any(isinstance(e, StepOutput) and "waiting for it" in e.text for e in events)
    assert request_state(target.pid).pending == 0
    # once the other client is done, the attach goes through and the lock file is gone
    _, outcome = attach(target.pid, marker.script())
    assert outcome.ok and marker.host_file.exists()
    assert not list((SID / "tmp" / "safeattach-0").glob(f"attach-{target.pid}-*.lock"))


def test_concurrent_clients_both_succeed_one_after_the_other(targets: TargetPool, marker: Marker) -> None:
    target = targets.spawn_script(require("3.15"), "sleepy.py")
    results: list[object] = []
    workers = [threading.Thread(target=lambda: results.append(attach(target.pid, marker.script(), timeout=10)))
               for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    outcomes = [r[1] for r in results]  # type: ignore[index]
    assert len(outcomes) == 3 and all(o.ok for o in outcomes), [o.message for o in outcomes]
    assert request_state(target.pid).pending == 0


def test_a_stale_request_of_our_own_is_replaced(targets: TargetPool, marker: Marker) -> None:
    target = targets.spawn_script(require("3.14"), "blocked.py")
    wait_parked(target.pid)
    with open_target(target.pid) as t:  # what a safeattach client killed mid-attach leaves behind
        off = t.offsets
        assert off is not None
        interp = next(i for i in t.interpreters() if i.is_main)
        base = interp.threads_main + off.remote_debugger_support
        t.mem.write(base + off.debugger_script_path, b"/tmp/safeattach-0/0123456789abcdef/loader.py\0")
        t.mem.write_u32(base + off.debugger_pending_call, 1)
    events, outcome = attach(target.pid, marker.script(), method=Method.SAFE, timeout=1)
    replaced = [e.text for e in events if isinstance(e, StepOutput) and "stale safeattach request" in e.text]
    assert replaced
    write = next(e for e in events if isinstance(e, StepFinished) and e.step == "writeScript")
    assert write.kind is None
    # the blocked target cannot run it in time: cancelled cleanly, and nothing stays armed
    assert outcome.kind is FailureKind.TIMEOUT_RUN
    assert request_state(target.pid).pending == 0
