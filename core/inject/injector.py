"""Run Python code in a live CPython (3.9+) with ptrace alone: no gdb, no inferior calls, no XSAVE access.

One thread is stopped (PTRACE_SEIZE + PTRACE_INTERRUPT: no signal is sent, the rest of the process keeps
running), its registers are read, a frame is written below its red zone and its registers are pointed at the
self-restoring stub (stub.py), then it is detached at once. The stub calls into libpython and returns the
thread to exactly where it was, redoing an interrupted system call the way the kernel would. Nothing waits
on this process after the detach: a client killed at any moment leaves a target that carries on.

Two safe points, as with the gdb route:

- parked: a thread blocked in a wait that malloc and the loader never hold a lock across (safe_point.py),
  re-checked once stopped (orig_rax is still that syscall and rip follows a `syscall` instruction). The stub
  calls PyGILState_Ensure(); PyRun_SimpleString(code); PyGILState_Release(state) on it.
- pending: no thread is parked (the main thread runs bytecode). The stub calls
  Py_AddPendingCall(PyRun_SimpleString, code) on one thread (a non-main one first, so a main thread that
  happens to hold the pending-calls lock is never made to wait on itself). Py_AddPendingCall is built to be
  called from any thread without the GIL, and touches only that lock; the eval loop then runs the code
  between two bytecodes in the main thread with the GIL held, where CPython runs signal handlers. The code
  string lives after the stub, and `disarm` blanks it, so a call that was never taken runs nothing later.

The code passed in must never raise: a pending call returning -1 would surface as a SystemError in the
target's own code (see `guarded`).
"""

from __future__ import annotations

import errno
import secrets
import time

from core.errors import FailureKind, SafeAttachError
from core.inject import ptrace
from core.inject.cave import StubPlacer
from core.inject.safe_point import ParkedThread, parked_threads, process_state
from core.inject.stub import NONCE_OFFSET, STAGE_OFFSET, STUB_IMAGE, SYSCALL_INSN, Calls, build_frame, resume_point
from core.inject.symbols import CApi, resolve_c_api
from core.memory import ProcessMemory
from core.procfs import access_reason, gone_or_exiting, read_stat, status_field, thread_ids
from core.records import dataclass, replace
from core.requests import CancelToken

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

MAX_CODE_BYTES = 8192
# After the stub: a use counter, then string slots for pending calls, used in turn. A slot is blanked once its
# call was taken or given up, so a call still queued reads an empty statement; rotating keeps the next write
# away from a slot whose call may be running right then.
_SLOT = 384  # the legacy loader's guarded one-liner needs about 250 bytes
_SLOTS = 4
_STRING_ROOM = 16 + _SLOTS * _SLOT
_STOP_BUDGET = 1.0  # seconds for one thread to reach its interrupt stop
_PARKED_TRIES = 6  # a parked thread may wake (e.g. to wait for the GIL) before it stops: choose again, then
# fall back to a pending call

STAGES = {1: "waiting for the GIL (PyGILState_Ensure)", 2: "running the code", 3: "releasing the GIL",
          4: "returning to the interrupted code"}


@dataclass(frozen=True)
class Injection:
    pid: int
    tid: int
    mode: str  # "parked" or "pending"
    safe_point: str
    syscall_nr: int | None  # the syscall the thread was stopped in, if any (to see it return there)
    restart: str
    stub_address: int
    frame_address: int
    nonce: int
    string_address: int  # pending mode: the code string's slot after the stub (disarm blanks it)
    stop_ms: float
    total_ms: float
    api: str  # the binary whose C API is called


def guarded(statement: str) -> str:
    """Wrap `statement` so that PyRun_SimpleString never sees an exception (and so never prints one)."""
    return f"try:\n    {statement}\nexcept BaseException:\n    pass\n"


def _denied(pid: int, exc: OSError) -> SafeAttachError:
    if exc.errno == errno.ESRCH:
        return SafeAttachError(FailureKind.PROCESS_EXITED, f"Process {pid} exited during the injection",
                               detail={"pid": pid})
    if exc.errno not in (errno.EPERM, errno.EACCES):
        return SafeAttachError(FailureKind.INJECT_FAILED, f"Injection into process {pid} failed: {exc}",
                               hint="Nothing ran: the thread's registers were not changed.",
                               detail={"pid": pid, "errno": exc.errno})
    return _ptrace_denied(pid, f"ptrace was refused for process {pid}: {exc.strerror}", exc.errno)


def _ptrace_denied(pid: int, message: str, err: int) -> SafeAttachError:
    return SafeAttachError(
        FailureKind.PTRACE_DENIED, message,
        hint=f"ptrace was denied: {access_reason(pid)}. Run as the target's user or as root with CAP_SYS_PTRACE.",
        detail={"pid": pid, "errno": err},
    )


class _Stopped:
    """One seized thread; `release()` always detaches it (with a signal that was held back, if any)."""

    def __init__(self, pid: int, tid: int, deadline: float) -> None:
        self.pid, self.tid = pid, tid
        self.held_signal = 0
        self.attached = False
        try:
            ptrace.seize(tid)
            self.attached = True
            ptrace.interrupt(tid)
        except OSError as exc:
            self.release()
            raise _denied(pid, exc) from None
        while True:
            stop = ptrace.wait_stop(tid, min(deadline, time.monotonic() + _STOP_BUDGET))
            if stop is None:
                self.release()
                raise SafeAttachError(FailureKind.TIMEOUT_RUN, f"thread {tid} of process {pid} did not stop",
                                      hint="Nothing was changed in the target.", detail={"pid": pid, "tid": tid})
            if stop.exited:
                self.attached = False
                raise SafeAttachError(FailureKind.PROCESS_EXITED, f"Process {pid} exited during the injection",
                                      detail={"pid": pid})
            if stop.interrupt_stop:
                return
            if stop.group_stop:
                self.release()
                raise SafeAttachError(
                    FailureKind.INJECT_FAILED, f"Process {pid} is stopped by job control (SIGSTOP)",
                    hint="Nothing was changed. Continue it first (kill -CONT PID) if that was not intended.",
                    detail={"pid": pid})
            # a signal on its way to the thread: let it be delivered, then wait for our interrupt stop
            try:
                ptrace.cont(tid, stop.signal)
            except OSError as exc:
                self.release()
                raise _denied(pid, exc) from None

    def release(self) -> None:
        if self.attached:
            self.attached = False
            try:
                ptrace.detach(self.tid, self.held_signal)
            except OSError:
                pass  # gone; the kernel has let it go


def _pending_thread(pid: int) -> int:
    """The thread that queues the pending call: a non-main thread if there is one, else the main thread."""
    others = [tid for tid in thread_ids(pid) if tid != pid]
    for tid in others:
        try:
            if read_stat(pid, tid).state in ("S", "R", "D"):
                return tid
        except SafeAttachError:
            continue
    return pid


def shadow_stack_enabled(pid: int, tid: int, status: str | None = None) -> bool:
    """x86 user shadow stacks (CET, Linux 6.6+) check every `ret` against a copy the stub cannot write, so
    its final `ret` would fault. /proc says per thread whether one is on ("x86_Thread_features: shstk")."""
    if status is None:
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                status = f.read(1 << 16)
        except OSError:
            return False
    for line in status.splitlines():
        if line.startswith("x86_Thread_features:"):
            return "shstk" in line.split(":", 1)[1].split()
    return False


def _check_code(code: str) -> bytes:
    data = code.encode("utf-8")
    if not code.strip() or b"\0" in data:
        raise SafeAttachError(FailureKind.INJECT_FAILED, "Nothing injected: the code is empty or contains NUL")
    if len(data) > MAX_CODE_BYTES:
        raise SafeAttachError(FailureKind.INJECT_FAILED,
                              f"Nothing injected: the code is longer than {MAX_CODE_BYTES} bytes; inject a loader")
    return data


def inject(pid: int, code: str, *, timeout: float, cancel: CancelToken | None = None,
           progress: Callable[[str], None] | None = None, allow_pending: bool = True) -> Injection:
    """Have process `pid` run `code` (wrapped by `guarded` first, or equally safe) at a safe point."""
    try:
        start = read_stat(pid).start_ticks
    except SafeAttachError as exc:
        raise SafeAttachError(FailureKind.NO_SUCH_PROCESS, f"Process {pid} does not exist",
                              detail={"pid": pid}) from exc
    try:
        return _inject(pid, code, timeout, cancel, progress, allow_pending)
    except SafeAttachError as exc:
        if exc.kind in (FailureKind.PROCESS_EXITED, FailureKind.CANCELLED):
            raise
        gone = gone_or_exiting(pid, start)
        if gone:  # whatever failed, the reason is that the process went away meanwhile
            raise SafeAttachError(FailureKind.PROCESS_EXITED, f"Process {pid} exited during the injection",
                                  detail={"pid": pid, "while": exc.message}) from None
        raise


def _inject(pid: int, code: str, timeout: float, cancel: CancelToken | None,
            progress: Callable[[str], None] | None, allow_pending: bool) -> Injection:
    data = _check_code(code)
    say = progress or (lambda _line: None)
    t0 = time.monotonic()
    deadline = t0 + timeout
    state = process_state(pid)
    if state is None or state in ("Z", "X"):
        raise SafeAttachError(FailureKind.NO_SUCH_PROCESS, f"Process {pid} does not exist", detail={"pid": pid})
    if state == "t" and status_field(pid, "TracerPid") not in (None, "0"):
        # held in a tracing stop by another tracer (strace stops it at every syscall): a seize would be refused
        raise _ptrace_denied(pid, f"process {pid} is held by its tracer; only one tracer is allowed", errno.EPERM)
    if state in ("t", "T"):
        raise SafeAttachError(FailureKind.INJECT_FAILED, f"Process {pid} is stopped ({state}); nothing injected",
                              hint="Continue it first (kill -CONT PID), or wait for its debugger to let it go.",
                              detail={"pid": pid})
    api = resolve_c_api(pid)
    try:
        placer = StubPlacer(pid)
    except OSError as exc:
        raise _denied(pid, exc) from None
    try:
        with ProcessMemory(pid) as mem:
            for attempt in range(_PARKED_TRIES + (3 if allow_pending else 0)):
                if cancel is not None and cancel.cancelled:
                    raise SafeAttachError(FailureKind.CANCELLED, "Injection cancelled before the code ran",
                                          detail={"pid": pid})
                parked = parked_threads(pid) if attempt < _PARKED_TRIES else []
                if not parked and not allow_pending:
                    raise SafeAttachError(FailureKind.TIMEOUT_RUN,
                                          f"No thread of process {pid} is parked at a safe point",
                                          detail={"pid": pid})
                pick = parked[attempt % len(parked)] if parked else None
                done = _try_once(pid, api, data, placer, mem, deadline, say, pick)
                if done is not None:
                    stop_ms, injection = done
                    total = (time.monotonic() - t0) * 1000
                    return replace(injection, stop_ms=stop_ms, total_ms=total)
                if time.monotonic() >= deadline:
                    break
    finally:
        placer.close()
    raise SafeAttachError(
        FailureKind.TIMEOUT_RUN,
        f"Process {pid} offered no safe point: its threads kept leaving the waits they were parked in",
        hint="Nothing was changed in the target. Retry.", detail={"pid": pid})


def _fill_slot(placer: StubPlacer, stub: int, data: bytes) -> int:
    """Write `data` into the next string slot, its first byte last: a reader sees "" or the whole string."""
    counter_at = (stub + len(STUB_IMAGE) + 15) & ~15
    used = int.from_bytes(placer.read(counter_at, 8).ljust(8, b"\0"), "little")
    slot = counter_at + 16 + (used % _SLOTS) * _SLOT
    placer.write(counter_at, (used + 1).to_bytes(8, "little"))
    placer.write(slot, b"\0")
    placer.write(slot + 1, data[1:] + b"\0")
    placer.write(slot, data[:1])
    return slot


def _try_once(pid: int, api: CApi, data: bytes, placer: StubPlacer, mem: ProcessMemory, deadline: float,
              say: Callable[[str], None], parked: ParkedThread | None) -> tuple[float, Injection] | None:
    """One try on one thread: the parked one given, or (None) a pending call. None: try again."""
    string_in_cave = parked is None
    if string_in_cave and len(data) >= _SLOT:
        raise SafeAttachError(FailureKind.INJECT_FAILED,
                              f"Nothing injected: a pending call's code must be under {_SLOT} bytes; inject a loader")
    # room for the pending calls' strings is asked for either way, so parked and pending use one stub copy
    stub = placer.place(STUB_IMAGE, _STRING_ROOM, api.binary)
    string_address = 0
    if string_in_cave:
        try:
            string_address = _fill_slot(placer, stub, data)
        except OSError as exc:
            raise _denied(pid, exc) from None
    tid = parked.tid if parked else _pending_thread(pid)
    if shadow_stack_enabled(pid, tid):
        raise SafeAttachError(
            FailureKind.INJECT_FAILED,
            f"Thread {tid} of process {pid} runs with a CET shadow stack: the stub could not return to it",
            hint="Nothing was changed in the target. Use safe attach (3.14+), or --injector gdb with a gdb that "
            "supports shadow stacks.", detail={"pid": pid, "tid": tid})
    t_stop = time.monotonic()
    stopped = _Stopped(pid, tid, deadline)
    try:
        stop_ms = (time.monotonic() - t_stop) * 1000
        regs = ptrace.get_regs(tid)
        nr = regs.signed("orig_rax")
        in_syscall = nr >= 0
        if in_syscall and mem.read(int(regs.rip) - 2, 2) != SYSCALL_INSN:
            return None  # stopped on a syscall we cannot rewind (not the 64-bit `syscall` instruction)
        if parked and nr != parked.nr:
            say(f"thread {tid} left {parked.syscall} before it stopped; choosing again")
            return None
        resume, restart = resume_point(regs)
        nonce = secrets.randbits(63)
        if parked:
            calls = Calls(api.ensure, api.run, 0, 0, api.release)
            frame = build_frame(regs, resume, stub, calls, nonce, string=data)
            safe_point = f"thread parked in {parked.syscall}"
        else:
            calls = Calls(0, api.add_pending_call, api.run, string_address, 0)
            frame = build_frame(regs, resume, stub, calls, nonce)
            safe_point = "pending call from the eval loop"
        mem.write(frame.address, frame.data)
        ptrace.set_regs(tid, frame.regs)  # from here on the thread runs the stub, with or without us
    except OSError as exc:
        raise _denied(pid, exc) from None
    finally:
        stopped.release()
    say(f"{safe_point}: thread {tid} stopped in {stop_ms:.1f} ms, {restart}; stub at 0x{stub:x}, detached")
    return stop_ms, Injection(
        pid=pid, tid=tid, mode="parked" if parked else "pending", safe_point=safe_point,
        syscall_nr=nr if in_syscall else None, restart=restart, stub_address=stub,
        frame_address=frame.address, nonce=nonce, string_address=string_address, stop_ms=stop_ms,
        total_ms=0.0, api=f"{api.binary} ({api.run_name})",
    )


def stub_stage(injection: Injection) -> int | None:
    """How far the stub got (1-4, see STAGES), while its frame is intact; None once the thread has reused
    that stack (the stub returned long ago) or the process is gone."""
    try:
        with ProcessMemory(injection.pid) as mem:
            raw_nonce = mem.read_u64(injection.frame_address + NONCE_OFFSET)
            stage = mem.read_u64(injection.frame_address + STAGE_OFFSET)
    except SafeAttachError:
        return None
    return stage if raw_nonce == injection.nonce and 0 <= stage <= 4 else None


def disarm(injection: Injection) -> bool:
    """Pending mode: blank the code string's slot once its call was taken or given up, so a call still queued
    runs an empty statement."""
    if not injection.string_address:
        return False
    try:
        placer = StubPlacer(injection.pid)
    except OSError:
        return False
    try:
        placer.write(injection.string_address, b"\0")
        return True
    except OSError:
        return False
    finally:
        placer.close()


