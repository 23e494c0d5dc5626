"""The legacy strategy inside the attach chain: injection of the staged loader (ptrace, or gdb on request)
and the fallback. Consent rules, which apply to every method, live in policy.py.

Fallback. With `Method.AUTO` on a PEP 768 target, a request that reached no safe point in time
(`timeoutRun`: every thread blocked) is cancelled and withdrawn by the chain, then the chain stages a fresh
loader and injects it (steps `legacyFallback`, `legacyAwait`). The withdrawn request's loader
can never run afterwards: its claim file exists, so a late pickup is a no-op.
"""

from __future__ import annotations

from core.errors import DEFAULT_HINTS, FailureKind, SafeAttachError
from core.records import dataclass
from core.requests import CancelToken, Injector, Method

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:  # the injector (ctypes, ELF readers) is imported only when an injection runs
    from collections.abc import Callable

    from core.inject.injector import Injection
    from core.results import GdbInjectDetail, InjectDetail, PtraceInjectDetail

FALLBACK_KINDS = frozenset({FailureKind.TIMEOUT_RUN})  # safe attach failures injection can overcome
LEGACY_CODE = "exec(compile(open({p!r},'rb').read(),{p!r},'exec'),{{}})"
# how long a legacy loader stays valid: the injector gets `timeout` to reach a safe point, the loader as long
# to report
LEGACY_EXPIRY_FACTOR = 2.0


def may_fall_back(method: Method, error: SafeAttachError) -> bool:
    """After safe attach failed with `error`: may the automatic chain inject? (Policy was checked before.)"""
    return method is Method.AUTO and error.kind in FALLBACK_KINDS


def legacy_code(script_path: str) -> str:
    """The one-line statement that executes the staged loader in a fresh namespace."""
    return LEGACY_CODE.format(p=script_path)


@dataclass(frozen=True)
class Touched:
    """Which thread an injection used, to check afterwards that it is back where it was."""

    pid: int
    tid: int
    syscall_nr: int | None
    injector: Injector
    injection: Injection | None  # ptrace only: to read the stub's progress and to disarm a pending call


def inject_loader(
    pid: int, script_path: str, *, injector: Injector, timeout: float, cancel: CancelToken,
    say: Callable[[str], None], gdb: str | None = None,
) -> tuple[InjectDetail, Touched]:
    """Have `pid` run the staged loader; the step's detail and what was touched. Every failure is a
    SafeAttachError of the taxonomy (ptraceDenied, symbolNotFound, injectFailed, timeoutRun, noSuchProcess,
    processExited, cancelled; with gdb also gdbMissing, gdbUnhealthy) with a hint."""
    from core.inject.injector import guarded, inject

    try:
        if injector is Injector.GDB:
            return _through_gdb(pid, script_path, timeout=timeout, cancel=cancel, say=say, gdb=gdb)
        done = inject(pid, guarded(legacy_code(script_path)), timeout=timeout, cancel=cancel, progress=say)
    except SafeAttachError as exc:
        hint = exc.hint or DEFAULT_HINTS.get(exc.kind, "")
        raise SafeAttachError(exc.kind, exc.message, hint=hint,
                              detail={**exc.detail, "legacy": True, "injector": injector.value}) from None
    detail: PtraceInjectDetail = {
        "message": f"ptrace: {done.safe_point}, thread {done.tid} stopped {done.stop_ms:.1f} ms, "
        f"{done.total_ms:.0f} ms in all",
        "legacy": True, "injector": "ptrace", "safe_point": done.safe_point, "mode": done.mode,
        "thread_id": done.tid, "restart": done.restart, "c_api": done.api,
        "phases_ms": {"stopped": round(done.stop_ms, 3), "total": round(done.total_ms, 3)},
    }
    return detail, Touched(pid, done.tid, done.syscall_nr, injector, done)


def _through_gdb(pid: int, script_path: str, *, timeout: float, cancel: CancelToken, say: Callable[[str], None],
                 gdb: str | None) -> tuple[GdbInjectDetail, Touched]:
    from core.inject.gdb import inject_python
    from core.inject.safe_point import parked_threads

    before = parked_threads(pid)
    done = inject_python(pid, legacy_code(script_path), timeout=timeout, cancel=cancel, gdb=gdb, progress=say)
    nr = next((t.nr for t in before if t.tid == done.thread_id), None)
    detail: GdbInjectDetail = {
        "message": f"gdb: {done.safe_point}, {done.total_ms:.0f} ms",
        "legacy": True, "injector": "gdb", "safe_point": done.safe_point, "thread_id": done.thread_id,
        "gdb": done.gdb_path, "gdb_version": done.gdb_version,
        "phases_ms": {"attach": round(done.attach_ms, 3), "safe_point": round(done.wait_safe_point_ms, 3),
                      "call": round(done.call_ms, 3), "detach": round(done.detach_ms, 3)},
    }
    return detail, Touched(pid, done.thread_id, nr, Injector.GDB, None)


def still_in_stub(touched: Touched) -> str | None:
    """What the ptrace stub is doing right now, if it has not returned yet."""
    if touched.injection is None:
        return None
    from core.inject.injector import STAGES, stub_stage

    stage = stub_stage(touched.injection)
    return STAGES.get(stage) if stage is not None and stage < 4 else None


def withdraw_injection(touched: Touched) -> bool:
    """A pending call that was never taken: blank its code, so it runs nothing when the eval loop gets to it."""
    if touched.injection is None:
        return False
    from core.inject.injector import disarm

    return disarm(touched.injection)
