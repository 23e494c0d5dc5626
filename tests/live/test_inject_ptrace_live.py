"""The built-in ptrace injector against real CPython processes: it runs code, and the target survives.

Every live test proves survival the way a user would: the target is alive, not stopped, not traced, and its
heartbeat (a line it prints every ~50 ms) keeps advancing after the injection.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from attach_helpers import SharedDir
from live_targets import Interpreter, Target, TargetPool, chroot_command, require
from repo_paths import REPO

from core.attach import run_attach
from core.errors import FailureKind, SafeAttachError
from core.events import Outcome, StepFinished, StepOutput
from core.inject.injector import guarded, inject, stub_stage
from core.inject.safe_point import process_state
from core.inject.survival import check_survival
from core.procfs import read_stat, status_field
from core.requests import AttachRequest, CancelToken, Method

# the heartbeat thread sleeps 10 ms at a time: the check sees it back in its sleep, or running between sleeps
BACK_OR_PROGRESSING = re.compile(r"thread \d+ (is back in clock_nanosleep|is making progress)")
LEGACY = ["3.9", "3.11", "3.13", "3.13d"]
ALL = [*LEGACY, "3.14", "3.15"]


def heartbeat_of(target: Target) -> int:
    return int(target.wait_for("tick", 5.0).split()[1])


def assert_alive_and_progressing(target: Target) -> None:
    assert target.alive(), f"target exited with {target.proc.poll()}"
    assert process_state(target.pid) not in ("t", "T", "Z", None)
    assert status_field(target.pid, "TracerPid") == "0"
    first = heartbeat_of(target)
    later = [heartbeat_of(target) for _ in range(3)]
    assert later[-1] > first, f"heartbeat did not advance: {first} then {later}"


class Marker(SharedDir):
    def code(self) -> str:
        return guarded(f"open({self.target_dir + '/ran'!r}, 'a').write('ran\\n')")

    def count(self) -> int:
        try:
            return (self.host_dir / "ran").read_text().count("ran")
        except FileNotFoundError:
            return 0

    def wait(self, want: int, timeout: float = 10.0) -> int:
        end = time.monotonic() + timeout
        while self.count() < want and time.monotonic() < end:
            time.sleep(0.005)
        return self.count()


@pytest.fixture
def marker_in() -> object:
    made: list[Path] = []

    def make(interp: Interpreter) -> Marker:
        m = Marker.create(interp.root, "sa-ptrace")
        made.append(m.host_dir)
        return m

    yield make
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


def _inject_and_prove(target: Target, marker: Marker, want_mode: str, attempts: int = 5) -> None:
    """Inject until the injector took `want_mode` (a heartbeat thread is runnable for a moment every tick, and on
    a loaded machine a debug build can be caught there, so the injector rightly queues a pending call instead);
    every injection, whichever mode, must run exactly once and leave the target alive and progressing."""
    start = read_stat(target.pid).start_ticks
    modes = []
    for n in range(1, attempts + 1):
        done = inject(target.pid, marker.code(), timeout=10)
        modes.append(done.mode)
        assert marker.wait(n) == n
        seen = check_survival(target.pid, start, done.tid, done.syscall_nr)
        assert seen.ok, seen.describe()
        assert_alive_and_progressing(target)
        assert marker.count() == n  # exactly once each
        if done.mode == want_mode:
            return
    raise AssertionError(f"never injected in {want_mode} mode in {attempts} tries: {modes}")


@pytest.mark.parametrize("name", ALL)
def test_parked_thread_runs_code_and_target_survives(targets: TargetPool, marker_in: object, name: str) -> None:
    interp = require(name)
    target = targets.spawn_script(interp, "heartbeat.py")
    heartbeat_of(target)
    _inject_and_prove(target, marker_in(interp), "parked")  # type: ignore[operator]


@pytest.mark.parametrize("name", ALL)
def test_busy_target_takes_a_pending_call_and_survives(targets: TargetPool, marker_in: object, name: str) -> None:
    interp = require(name)
    target = targets.spawn_script(interp, "busy_heartbeat.py")
    heartbeat_of(target)
    _inject_and_prove(target, marker_in(interp), "pending")  # type: ignore[operator]


@pytest.mark.parametrize("name", ["3.11", "3.13"])
def test_many_threads(targets: TargetPool, marker_in: object, name: str) -> None:
    interp = require(name)
    target = targets.spawn_script(interp, "many_threads.py")
    marker: Marker = marker_in(interp)  # type: ignore[operator]
    done = inject(target.pid, marker.code(), timeout=10)
    assert marker.wait(1) == 1
    assert check_survival(target.pid, read_stat(target.pid).start_ticks, done.tid, done.syscall_nr).ok
    assert target.alive() and process_state(target.pid) not in ("t", "T")


def test_thirty_legacy_execs_in_a_row_on_one_313_target(targets: TargetPool, marker_in: object) -> None:
    """The whole chain (exec --method legacy), 30 times: each runs exactly once, each ends with a survival
    check that saw the thread back in its wait, and one stub copy serves them all."""
    interp = require("3.13")
    target = targets.spawn_script(interp, "heartbeat.py")
    marker: Marker = marker_in(interp)  # type: ignore[operator]
    script = marker.write_script(f"open({marker.target_dir + '/ran'!r}, 'a').write('ran\\n')\n")
    stubs = set()
    for i in range(30):
        events = list(run_attach(AttachRequest(target.pid, script=str(script), method=Method.LEGACY, timeout=10),
                                 CancelToken()))
        outcome = events[-1]
        assert isinstance(outcome, Outcome) and outcome.ok, (i, outcome.message, outcome.hint)
        awaited = next(e for e in events if isinstance(e, StepFinished) and e.step == "awaitRun")
        assert BACK_OR_PROGRESSING.search(awaited.message), awaited.message
        inject_step = next(e for e in events if isinstance(e, StepFinished) and e.step == "legacyInject")
        stubs.add(next(line for line in (e.text for e in events if isinstance(e, StepOutput))
                       if "stub at" in line).split("stub at ")[1].split(",")[0])
        assert inject_step.detail["injector"] == "ptrace"
        assert marker.count() == i + 1, f"exec {i + 1} did not run exactly once"
    assert len(stubs) == 1  # nothing accumulates in the target
    assert_alive_and_progressing(target)


@pytest.mark.parametrize("name", ["3.11", "3.13", "3.13d"])
def test_cli_exec_method_legacy_reports_survival(targets: TargetPool, marker_in: object, name: str) -> None:
    interp = require(name)
    target = targets.spawn_script(interp, "heartbeat.py")
    marker: Marker = marker_in(interp)  # type: ignore[operator]
    script = marker.write_script(f"open({marker.target_dir + '/ran'!r}, 'a').write('ran\\n')\n")
    out = subprocess.run([sys.executable, "-m", "app.cli", "exec", "--method", "legacy", str(target.pid),
                          str(script)], cwd=REPO, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "COLUMNS": "80"}, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    flat = " ".join(out.stdout.split())  # lines wrap at 80 columns
    assert "target alive and running" in flat and BACK_OR_PROGRESSING.search(flat), out.stdout
    assert marker.count() == 1
    assert_alive_and_progressing(target)


def test_target_exiting_mid_injection_is_a_typed_error_never_a_hang(targets: TargetPool) -> None:
    interp = require("3.13")
    kinds = set()
    for delay in (0.0, 0.002, 0.005, 0.01, 0.02):
        source = f"import time\nprint('ready', flush=True)\ntime.sleep({delay})\n"
        target = targets.spawn(chroot_command(interp.root, [interp.argv0, "-c", source]), interp)
        started = time.monotonic()
        while target.alive() and time.monotonic() - started < 5:
            try:
                inject(target.pid, guarded("pass"), timeout=2)
            except SafeAttachError as exc:
                kinds.add(exc.kind)
        assert time.monotonic() - started < 6
    assert kinds <= {FailureKind.PROCESS_EXITED, FailureKind.NO_SUCH_PROCESS, FailureKind.SYMBOL_NOT_FOUND,
                     FailureKind.PTRACE_DENIED, FailureKind.OPEN_PROCESS, FailureKind.TIMEOUT_RUN}, kinds


def settles(marker: Marker, quiet: float, within: float) -> bool:
    """The marker count stops changing for `quiet` seconds before `within` has passed."""
    end = time.monotonic() + within
    last, since = marker.count(), time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.05)
        now = marker.count()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
    return False


KILLED_CLIENT = """
import sys
from core.inject.injector import inject
pid, code = int(sys.argv[1]), sys.argv[2]
print("go", flush=True)
while True:
    inject(pid, code, timeout=10)
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_client_killed_at_random_moments_never_harms_the_target(targets: TargetPool, marker_in: object,
                                                                 how: signal.Signals) -> None:
    """A client injecting in a loop is killed 12 times at random points (mid-seize, mid-frame, mid-detach):
    the target is never left stopped, traced or crashed, and keeps its heartbeat."""
    rng = random.Random(20261201)
    for name, script in (("3.13", "heartbeat.py"), ("3.11", "busy_heartbeat.py")):
        interp = require(name)
        target = targets.spawn_script(interp, script)
        marker: Marker = marker_in(interp)  # type: ignore[operator]
        for _ in range(6):
            client = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, str(target.pid), marker.code()],
                                      cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            assert client.stdout is not None and client.stdout.readline() == b"go\n"
            time.sleep(rng.uniform(0.0, 0.15))
            client.send_signal(how)
            client.wait(timeout=10)
            client.stdout.close()
        assert_alive_and_progressing(target)
        # what the killed clients managed to queue runs soon, and then nothing more: no request fires later
        assert settles(marker, quiet=1.0, within=10.0), "injected code kept running after the clients died"
        assert_alive_and_progressing(target)


def test_stub_waiting_for_the_gil_is_reported_and_the_target_keeps_running(targets: TargetPool) -> None:
    """The main thread holds the GIL in one long C call; the only parked thread waits for it in the stub."""
    interp = require("3.11")
    source = ("import threading, time\n"
              "def nap():\n"
              "    while True:\n"
              "        time.sleep(3600)\n"
              "threading.Thread(target=nap, daemon=True).start()\n"
              "time.sleep(0.2)\n"
              "print('ready', flush=True)\n"
              "sum(range(10**15))\n")
    target = targets.spawn(chroot_command(interp.root, [interp.argv0, "-c", source]), interp)
    done = inject(target.pid, guarded("pass"), timeout=5)
    assert done.mode == "parked" and done.tid != target.pid
    end = time.monotonic() + 5
    while stub_stage(done) != 1 and time.monotonic() < end:
        time.sleep(0.01)
    assert stub_stage(done) == 1  # waiting in PyGILState_Ensure
    assert target.alive() and process_state(target.pid) == "R"


def test_non_python_process_is_symbol_not_found(targets: TargetPool) -> None:
    sleeper = targets.spawn(["sleep", "60"], ready=None)
    assert _settles_in_sleep(sleeper.pid)  # a just-spawned sleep may still be exec'ing (R) on a loaded machine
    with pytest.raises(SafeAttachError) as exc:
        inject(sleeper.pid, guarded("pass"), timeout=5)
    assert exc.value.kind is FailureKind.SYMBOL_NOT_FOUND
    assert sleeper.alive() and process_state(sleeper.pid) not in ("t", "T")  # never left stopped
    assert _settles_in_sleep(sleeper.pid)  # and back in its sleep


def _settles_in_sleep(pid: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while process_state(pid) != "S":
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def test_unprivileged_client_is_ptrace_denied_and_target_untouched(targets: TargetPool) -> None:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv is provisioned by tests/provision.sh")
    target = targets.spawn_script(require("3.11"), "heartbeat.py")
    code = ("import json, sys\nfrom core.errors import SafeAttachError\nfrom core.inject.injector import inject\n"
            "try:\n    inject(int(sys.argv[1]), 'pass', timeout=5)\n    print('{}')\n"
            "except SafeAttachError as exc:\n    print(json.dumps(exc.to_dict()))\n")
    out = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                          sys.executable, "-c", code, str(target.pid)], cwd=REPO, capture_output=True, text=True,
                         timeout=60, check=False)
    assert '"kind": "ptraceDenied"' in out.stdout or '"kind": "openProcess"' in out.stdout, out.stdout + out.stderr
    assert_alive_and_progressing(target)


def test_pending_calls_rotate_their_string_slots_and_blanked_slots_run_nothing(targets: TargetPool,
                                                                              marker_in: object) -> None:
    from core.inject.cave import StubPlacer
    from core.inject.injector import disarm

    interp = require("3.13")
    target = targets.spawn_script(interp, "busy_heartbeat.py")
    marker: Marker = marker_in(interp)  # type: ignore[operator]
    slots = []
    for i in range(8):
        code = guarded(f"open({marker.target_dir + '/ran'!r}, 'a').write('ran {i}\\n')")
        done = inject(target.pid, code, timeout=10)
        assert done.mode == "pending"
        assert marker.wait(i + 1) == i + 1
        assert (marker.host_dir / "ran").read_text().splitlines()[-1] == f"ran {i}"
        assert disarm(done)
        slots.append(done.string_address)
    assert len(set(slots)) == 4 and slots[:4] == slots[4:]  # four slots, used in turn
    placer = StubPlacer(target.pid)
    try:
        assert all(placer.read(slot, 1) == b"\0" for slot in slots)  # every taken call's slot is blank
    finally:
        placer.close()
    assert marker.count() == 8
    assert_alive_and_progressing(target)


def test_survival_sees_a_mostly_sleeping_thread_run(targets: TargetPool) -> None:
    """A thread stopped in a short syscall (here: one it never makes again) is back in its loop's sleep when
    the check looks; it runs 20 times a second but adds a 10 ms CPU tick only every few seconds. The check
    must see it run (its context switches) rather than report it blocked after the whole budget."""
    target = targets.spawn_script(require("3.14"), "heartbeat.py")
    heartbeat_of(target)
    start = time.monotonic()
    seen = check_survival(target.pid, read_stat(target.pid).start_ticks, target.pid, syscall_nr=0, budget=3.0)
    assert seen.ok and "making progress" in seen.thread, seen.describe()
    assert time.monotonic() - start < 1.0  # a few heartbeats, not the budget
