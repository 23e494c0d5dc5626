"""After an injection: is the target alive, not stopped, and is the thread we used back where it was?

Nothing is assumed. Every injection ends with this check, and its verdict, not a hint, says whether the
target survived. The PID's start time guards against a reused PID.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from core.errors import FailureKind, SafeAttachError
from core.inject.stub import NR_RESTART_SYSCALL
from core.procfs import SYSCALL_NAMES, read_stat, status_field
from core.records import dataclass


@dataclass(frozen=True)
class Survival:
    alive: bool
    stopped: bool
    state: str  # the process's state letter ("" when gone)
    thread: str  # what the thread we used is doing now

    @property
    def ok(self) -> bool:
        return self.alive and not self.stopped

    def describe(self) -> str:
        if not self.alive:
            return "the target is gone"
        if self.stopped:
            return f"the target is stopped (state {self.state})"
        return f"target alive and running (state {self.state}); {self.thread}"

    def detail(self) -> dict[str, object]:
        return {"alive": self.alive, "stopped": self.stopped, "state": self.state, "thread": self.thread}


def _thread_now(pid: int, tid: int) -> tuple[int | None, int] | None:
    """(syscall number or None when running, a count that grows whenever the thread runs) of one thread, or
    None when it is gone. The count is its CPU ticks plus its context switches: a thread that wakes briefly
    and sleeps again (a heartbeat: 20 wake-ups a second, under a millisecond of CPU) may not add a 10 ms tick
    for seconds, but every time it blocks again it adds a switch."""
    task = f"/proc/{pid}/task/{tid}"
    try:
        fields = Path(f"{task}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        raw = Path(f"{task}/syscall").read_text().split()
        for line in Path(f"{task}/status").read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                ticks += int(line.split()[1])
    except (OSError, IndexError, ValueError):
        return None
    nr = int(raw[0]) if raw and raw[0].lstrip("-").isdigit() and int(raw[0]) >= 0 else None
    return nr, ticks


def check_survival(pid: int, start_ticks: int, tid: int, syscall_nr: int | None, budget: float = 1.0,
                   idle: float = 0.05) -> Survival:
    """Poll (bounded by `budget`) until the thread is back in `syscall_nr` (or its restart), or has run since
    the first look (CPU time or a context switch), or is running; report what was seen. A thread that was
    stopped in a short call (a heartbeat's `write`) is back in its loop's sleep most of the time, where the
    first test never matches: the second sees it run. It says only that: a thread that wakes to retry a
    wait it never wins (a GIL it never gets) counts too; the verdict (alive, not stopped) is the same."""
    end = time.monotonic() + budget
    first: tuple[int | None, int] | None = None
    while True:
        seen = check_alive(pid, start_ticks)
        if not seen.alive:
            return seen
        if seen.stopped:
            if time.monotonic() >= end:
                return seen
            time.sleep(idle)
            continue
        state = seen.state
        now = _thread_now(pid, tid)
        if now is None:
            return Survival(True, False, state, f"thread {tid} has exited")
        nr, ticks = now
        if syscall_nr is not None and nr in (syscall_nr, NR_RESTART_SYSCALL):
            name = SYSCALL_NAMES.get(syscall_nr, f"syscall {syscall_nr}")
            return Survival(True, False, state, f"thread {tid} is back in {name}")
        if first is None:
            first = now
        elif ticks > first[1] or nr is None:
            return Survival(True, False, state, f"thread {tid} is making progress")
        if time.monotonic() >= end:
            return Survival(True, False, state, f"thread {tid} is alive (blocked, state unchanged)")
        time.sleep(idle)


def check_alive(pid: int, start_ticks: int) -> Survival:
    """One look: the same process is still there and not stopped."""
    try:
        stat = read_stat(pid)
    except SafeAttachError:
        return Survival(False, False, "", "")
    if stat.start_ticks != start_ticks or stat.state in ("Z", "X"):
        return Survival(False, False, stat.state, "")
    tracer = _foreign_tracer(pid) if stat.state == "t" else None
    if tracer is not None:  # a tracing stop its own tracer holds (strace stops it at every syscall): not ours
        return Survival(True, False, stat.state, f"held in a tracing stop by its tracer, PID {tracer}")
    stopped = stat.state in ("t", "T")
    return Survival(True, stopped, stat.state, "" if stopped else "the injected call returns on its own")


def _foreign_tracer(pid: int) -> int | None:
    """The tracer of `pid` when it is not a thread of this process (we never stay attached after a check)."""
    tracer = status_field(pid, "TracerPid")
    if tracer is None or not tracer.isdigit() or tracer == "0":
        return None
    try:
        ours = set(os.listdir("/proc/self/task"))
    except OSError:
        return None  # cannot tell: report the stop as it is
    return None if tracer in ours else int(tracer)


def died(pid: int, what: str) -> SafeAttachError:
    return SafeAttachError(
        FailureKind.TARGET_DIED, f"Process {pid} died {what}",
        hint="The target did not survive. This is logged; safeattach will not retry on it. Please report it "
        "with `safeattach log --json`.",
        detail={"pid": pid},
    )
