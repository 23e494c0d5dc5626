"""The safe attach chain: read the target, check policy, choose a thread, arm the PEP 768 request, and
wait for the loader's confirmation — yielding events, never raising, every wait bounded.

Steps: openProcess → offsetsResolve → parse → policy → threadState → writeScript → writePending →
writeBreaker → [legacyInject] → awaitRun [→ legacyFallback → legacyAwait]. Any failure after the first write
rolls the writes back, and a request that is not confirmed in time is cancelled (pending cleared, bit
cleared, loader withdrawn). The legacy strategy (core/inject: ptrace by default, gdb on request), its consent
rules (policy.py) and the automatic fallback after a safe-attach timeout (legacy_step.py). After every injection the
target is checked (alive, not stopped, the thread used back where it was) before anything claims it survived.
"""

from __future__ import annotations

import os
import time

from core.attach.guard import TargetLock, check_no_foreign_request
from core.attach.policy import check_consent
from core.attach.script import check_script, exec_spec
from core.attach.steps import FALLBACK_STEPS, SAFE_STEPS, WRITE_STEPS, Step
from core.attach.threads import ThreadChoice, select_thread
from core.attach.writes import RequestWriter
from core.attemptlog import AttemptLog, AttemptRecord
from core.errors import DEFAULT_HINTS, FailureKind, SafeAttachError
from core.events import Event, Outcome, Plan, StepFinished, StepOutput, StepSpec, StepStarted, StepStatus
from core.loader import LOADER_NAME, StagedRequest, stage
from core.model import InterpreterInfo
from core.payloads.contract import PayloadResult, PayloadSpec
from core.privdir import base_dir_name, open_base_dir, remove_base_if_empty, target_dir
from core.procfs import gone_or_exiting, start_ticks_of
from core.records import dataclass, field
from core.requests import AttachRequest, CancelToken, Method, Payload
from core.stale_requests import Collected, collect_stale, request_name
from core.target import Phase, Target, main_interpreter

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:  # debugpy sessions (sockets, bridges, the reattach cache) load only for Payload.DEBUGPY
    from collections.abc import Callable, Iterator

    from core.attach.faults import FaultPlan
    from core.attach.legacy_step import Touched
    from core.dap.session import DebugSession
    from core.results import (
        AttemptLine,
        AttemptResult,
        AwaitDetail,
        BaseResult,
        DebugpyAttemptResult,
        DebugpyRanResult,
        ExecAttemptResult,
        FallbackDetail,
        LegacyDetail,
        OpenDetail,
        ParseDetail,
        PolicyDetail,
        PolicyEnabled,
        PolicyFacts,
        PolicyNotCapable,
        ResolveDetail,
        ScriptRaisedResult,
        StepDetail,
        SurvivedDetail,
        ThreadStateDetail,
        WriteBreakerDetail,
        WritePendingDetail,
        WriteScriptDetail,
    )

# the read path's phases are the chain's first steps
PHASE_STEPS = {Phase.OPEN: Step.OPEN_PROCESS, Phase.RESOLVE: Step.OFFSETS_RESOLVE, Phase.PARSE: Step.PARSE}
_EXIT_KINDS = frozenset({FailureKind.PROCESS_EXITED, FailureKind.NO_SUCH_PROCESS, FailureKind.CANCELLED,
                         FailureKind.TARGET_DIED})  # already the verdict on a target that is gone
GRACE_AFTER_CLAIM = 5.0  # the loader already started when we gave up: let it finish and report


class _Cached(Exception):
    """A cached debugpy server still listens: the injection steps are skipped."""


class _Stop(Exception):
    """Ends the attempt with this outcome after the current step was reported."""

    def __init__(self, error: SafeAttachError, step: Step) -> None:
        super().__init__(error.message)
        self.error = error
        self.step = step


def plan_steps(method: Method, payload: Payload = Payload.EXEC) -> tuple[Step, ...]:
    if payload is Payload.DEBUGPY:
        return (Step.REATTACH_CACHE, *plan_steps(method), Step.DEBUGPY_READY)
    head = (*PHASE_STEPS.values(), Step.POLICY)
    if method is Method.SAFE:
        return (*head, *SAFE_STEPS, Step.AWAIT_RUN)
    if method is Method.LEGACY:
        return (*head, Step.LEGACY_INJECT, Step.AWAIT_RUN)
    return (*head, *SAFE_STEPS, Step.LEGACY_INJECT, Step.AWAIT_RUN, *FALLBACK_STEPS)


@dataclass
class _Attempt:
    request: AttachRequest
    cancel: CancelToken
    log: AttemptLog | None
    faults: FaultPlan | None  # tests only
    record: AttemptRecord = field(init=False)
    elapsed: dict[Step, float] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    opened: Target | None = None  # set by openProcess; `target` for the steps after it
    interp: InterpreterInfo | None = None
    choice: ThreadChoice | None = None
    staged: StagedRequest | None = None
    writer: RequestWriter | None = None
    lock: TargetLock | None = None
    use_legacy: bool = False
    started: float = field(default_factory=time.monotonic)
    session: DebugSession | None = None  # Payload.DEBUGPY only
    retired: list[StagedRequest] = field(default_factory=list)  # withdrawn before a fallback; cleaned at the end
    touched: Touched | None = None  # the thread a legacy injection used, checked after the run

    def __post_init__(self) -> None:
        self.record = AttemptRecord(
            pid=self.request.pid, method=self.request.method.value, payload=self.request.payload.value
        )
        if self.request.payload is Payload.DEBUGPY:
            from core.dap.session import DebugSession

            self.session = DebugSession(self.request)

    @property
    def target(self) -> Target:
        assert self.opened is not None, "a step ran before openProcess"
        return self.opened

    # -- step plumbing ----------------------------------------------------------------------------------
    def _run_step(self, name: Step, body: Callable[[], StepDetail]) -> Iterator[Event]:
        yield StepStarted(name)
        t0 = time.monotonic()
        self.outputs = []
        try:
            if self.cancel.cancelled:
                raise SafeAttachError(FailureKind.CANCELLED, f"{self._cancelled()} before this step")
            if self.faults is not None and name not in WRITE_STEPS:
                self.faults.check_step(name)
            detail = body()
        except SafeAttachError as exc:
            exc = self._exit_race(exc)
            ms = (time.monotonic() - t0) * 1000
            yield from self._flush(name)
            self._finish_record(name, "failed", ms)
            yield StepFinished(name, StepStatus.FAILED, ms, exc.message, exc.kind, exc.hint, dict(exc.detail))
            raise _Stop(exc, name) from None
        except Exception as exc:  # turned into an INTERNAL failure, never a traceback
            ms = (time.monotonic() - t0) * 1000
            err = self._exit_race(SafeAttachError(FailureKind.INTERNAL, f"{type(exc).__name__}: {exc}"))
            yield from self._flush(name)
            self._finish_record(name, "failed", ms)
            yield StepFinished(name, StepStatus.FAILED, ms, err.message, err.kind, err.hint)
            raise _Stop(err, name) from None
        ms = (time.monotonic() - t0) * 1000
        yield from self._flush(name)
        self._finish_record(name, "ok", ms)
        message = str(detail.pop("message", ""))
        yield StepFinished(name, StepStatus.OK, ms, message, detail=detail)

    def _exit_race(self, exc: SafeAttachError) -> SafeAttachError:
        """A step that failed because the target exited under it (its /proc/PID/root vanished while staging,
        a memory write hit a dead process) is reported as processExited, not as the step's own failure."""
        target = self.opened
        if exc.kind in _EXIT_KINDS or target is None or not target.start_ticks:
            return exc
        if not gone_or_exiting(self.request.pid, target.start_ticks):
            return exc
        return SafeAttachError(FailureKind.PROCESS_EXITED, f"the target exited during this step ({exc.message})",
                               detail={**exc.detail, "failure_seen": exc.kind.value})

    def _flush(self, name: Step) -> Iterator[Event]:
        for line in self.outputs:
            yield StepOutput(name, line)
        self.outputs = []

    def _say(self, line: str) -> None:
        self.outputs.append(line)

    def _finish_record(self, name: Step, status: str, ms: float) -> None:
        self.elapsed[name] = round(ms, 3)
        self.record.add_step(name, status, ms)

    def _skip(self, name: Step, why: str) -> Iterator[Event]:
        self.record.add_step(name, "skipped", 0.0)
        yield StepFinished(name, StepStatus.SKIPPED, 0.0, why)

    # -- steps ------------------------------------------------------------------------------------------
    def _open_steps(self) -> Iterator[Event]:
        self.opened = Target(self.request.pid)
        phases = self.target.phases()
        for name in PHASE_STEPS.values():

            def body(name: Step = name) -> OpenDetail | ResolveDetail | ParseDetail:
                next(phases)
                if name is Step.OFFSETS_RESOLVE:
                    return {"message": f"runtime at 0x{self.target.runtime_address:x}",
                            "runtime_address": self.target.runtime_address}
                if name is Step.PARSE:
                    version = self.target.version
                    assert version is not None  # the parse phase recognised it
                    self.record.target_version = f"0x{version.hexversion:x}"
                    return {"message": f"CPython {version}", "version": str(version)}
                return {"message": f"uid {self.target.uid}", "uid": self.target.uid}

            yield from self._run_step(name, body)

    def _policy(self) -> PolicyDetail:
        target, req = self.target, self.request
        off = target.offsets
        capable = off is not None and off.pep768_capable
        interps = target.interpreters() if off is not None else []
        self.interp = main_interpreter(interps)
        enabled = self.interp.remote_debugging_enabled if self.interp is not None else None
        consent = check_consent(req.pid, capable=capable, enabled=enabled, method=req.method,
                                allow_override=req.allow_opted_out_legacy, say=self._say)
        detail: PolicyFacts = {"pep768_capable": capable, "remote_debugging_enabled": enabled, **consent.detail()}
        if consent.override_used:
            self.record.flags.append("override_used")
            self.use_legacy = True
            return {"message": "opted out — overridden by explicit consent", **detail}
        if req.method is Method.LEGACY:
            self.use_legacy = True
            return {"message": "legacy injection requested", **detail}
        if not capable:
            version = target.version
            if req.method is Method.SAFE:
                raise SafeAttachError(
                    FailureKind.NOT_CAPABLE, f"CPython {version} has no PEP 768 support", detail=detail
                )
            self._say(f"notCapable: CPython {version} has no PEP 768 support; falling back to legacy injection")
            self.use_legacy = True
            not_capable: PolicyNotCapable = {"message": "not PEP 768 capable — legacy injection (method auto)",
                                            **detail, "kind": FailureKind.NOT_CAPABLE.value}
            return not_capable
        if self.interp is None:
            raise SafeAttachError(FailureKind.THREAD_STATE, "the target has no interpreter")
        known: PolicyEnabled = {"message": "remote debugging enabled", **detail, "interpreter": self.interp.id}
        return known

    def _thread_state(self) -> ThreadStateDetail:
        assert self.interp is not None
        self._start_adapter()
        self.choice = select_thread(self.target, self.interp, self._say)
        self.record.thread_selection = self.choice.method
        return {"message": f"{self.choice.method}: {self.choice.describe()}", "method": self.choice.method,
                "tstate": self.choice.tstate, "native_thread_id": self.choice.native_thread_id}

    def _payload_spec(self, private_dir: str) -> PayloadSpec:
        req, target = self.request, self.target
        if req.payload is Payload.EXEC:
            if not req.script:
                raise SafeAttachError(FailureKind.SCRIPT_UNREADABLE, "no script given")
            plan = check_script(req.script, target.pid, target.root, target.uid, target.gid)
            where = "copied into the private directory" if plan.copied else "read by the target in place"
            self._say(f"script {where}")
            return exec_spec(plan, private_dir)
        assert self.session is not None and target.version is not None
        return self.session.payload_spec(target, (target.version.major, target.version.minor), self._say)

    def _stage(self, expires_in: float | None = None) -> StagedRequest:
        target = self.target
        expires = expires_in or self.request.timeout
        rid = request_name(expires, target.pid, target.start_ticks)
        if self.faults is not None:
            rid += "p" * self.faults.pad_script_path
        private_dir = target_dir(target.uid, rid)
        path_len = len(f"{private_dir}/{LOADER_NAME}".encode())
        if target.offsets is not None and target.offsets.pep768_capable and not self.use_legacy:
            limit = target.offsets.debugger_script_path_size
            if path_len >= limit:
                self.record.truncation = True
                raise SafeAttachError(
                    FailureKind.WRITE_SCRIPT,
                    f"the loader path would be {path_len} bytes; the target's buffer holds {limit - 1} plus NUL",
                    detail={"truncated": True, "path_bytes": path_len, "limit": limit - 1},
                )
        spec = self._payload_spec(private_dir)
        staged = stage(target.root, target.uid, target.gid, spec, expires_in=expires, request_id=rid)
        self.staged = staged
        self._say(f"staged loader at {staged.script_path} ({staged.script_path_len} bytes)")
        return staged

    def _write_script(self) -> WriteScriptDetail:
        from core.offsets import please_stop_mask

        assert self.choice is not None
        target = self.target
        assert target.offsets is not None and target.version is not None  # policy let only PEP 768 targets here
        self.lock = TargetLock(target.root, target.uid, target.gid, target.pid, target.start_ticks)
        self.lock.acquire(self.request.timeout, self.cancel, self._say)
        collected = self._collect_stale()
        self.writer = RequestWriter(
            target.mem, target.offsets, self.choice.tstate, please_stop_mask(target.version),
            self.faults, picked_up=lambda: self.staged is not None and self.staged.claimed,
        )
        check_no_foreign_request(target.mem, self.writer.pending_address, self.writer.path_address,
                                 self.writer.path_size, target.uid, self._say)
        staged = self._stage()
        detail = self.writer.write_script(staged.script_path_bytes)
        return {"message": f"{detail['bytes']} bytes at 0x{detail['address']:x}", **detail, **collected.detail()}

    def _write_pending(self) -> WritePendingDetail:
        assert self.writer is not None
        return {"message": "pending = 1", **self.writer.write_pending()}

    def _write_breaker(self) -> WriteBreakerDetail:
        assert self.writer is not None
        detail = self.writer.write_breaker()
        return {"message": f"eval_breaker |= 0x{detail['mask']:x}", **detail}

    def _collect_stale(self) -> Collected:
        """Once per attempt, before staging: collect what killed clients left (see core.stale_requests)."""
        if self.collected is not None:
            return Collected()
        target = self.target
        ident = (target.pid, target.start_ticks)
        if self.lock is not None:
            self.collected = collect_stale(self.lock.base_fd, target.uid, ident, self.lock.name, self._say)
            return self.collected
        base_fd = open_base_dir(target.root, base_dir_name(target.uid), target.uid, target.gid)
        try:  # without our lock: only entries whose client is gone are touched, which is safe all the same
            self.collected = collect_stale(base_fd, target.uid, ident, "", self._say)
        finally:
            os.close(base_fd)
        return self.collected

    def _legacy(self) -> LegacyDetail:
        from core.attach.legacy_step import LEGACY_EXPIRY_FACTOR, inject_loader  # legacy attempts only

        if "legacy" not in self.record.flags:
            self.record.flags.append("legacy")
        collected = self._collect_stale()
        staged = self._stage(self.request.timeout * LEGACY_EXPIRY_FACTOR)
        if self.request.injector.value not in self.record.flags:
            self.record.flags.append(self.request.injector.value)
        try:
            detail, self.touched = inject_loader(self.request.pid, staged.script_path,
                                                 injector=self.request.injector, timeout=self.request.timeout,
                                                 cancel=self.cancel, say=self._say)
        except SafeAttachError as exc:
            if exc.kind not in (FailureKind.NO_SUCH_PROCESS, FailureKind.PROCESS_EXITED):
                self._verify_after(f"after a failed injection ({exc.kind.value})", tid=None)
            raise
        self._verify_after("during the injection", tid=None)
        return {**detail, **collected.detail()}

    def _verify_after(self, when: str, tid: int | None) -> str:
        """Prove the target survived what we did: alive and not stopped (and the thread we used back in its
        wait or making progress, when `tid` is given). A dead target ends the attempt as targetDied."""
        from core.inject.survival import check_alive, check_survival, died  # after injections only

        touched = self.touched
        if tid is None or touched is None:
            seen = check_alive(self.request.pid, self.target.start_ticks)
        else:
            seen = check_survival(self.request.pid, self.target.start_ticks, tid, touched.syscall_nr)
        self._say(f"check: {seen.describe()}")
        if not seen.alive:
            self.record.flags.append("target_died")
            raise died(self.request.pid, when)
        if seen.stopped:
            raise SafeAttachError(FailureKind.INJECT_FAILED, f"process {self.request.pid} is stopped {when}",
                                  hint="Resume it with kill -CONT PID; it was not stopped before.",
                                  detail=seen.detail())
        return seen.describe()

    def _fallback(self, failed: SafeAttachError) -> FallbackDetail:
        """awaitRun failed (the request was cancelled and withdrawn): undo the writes, inject instead."""
        self._say(f"safe attach failed ({failed.kind.value}); its request was withdrawn, so it can never run")
        if self.writer is not None:
            for line in self.writer.rollback():
                self._say(f"rollback: {line}")
            self.writer = None
        if self.staged is not None:
            self.retired.append(self.staged)
            self.staged = None
        self.use_legacy = True
        self.record.flags.append("legacy_fallback")
        detail: FallbackDetail = {**self._legacy(), "fallback_from": failed.kind.value}
        return detail

    def _await(self) -> PayloadResult:
        assert self.staged is not None
        staged = self.staged
        try:
            return staged.wait(self.request.timeout, self.cancel, alive=self._alive)
        except SafeAttachError as exc:
            if self.touched is not None:
                return self._legacy_unconfirmed(exc)
            if exc.kind not in (FailureKind.TIMEOUT_RUN, FailureKind.CANCELLED):
                raise
            pending = self._cancel_request(exc.kind)
            if pending is not None:
                return pending
            if exc.kind is FailureKind.TIMEOUT_RUN:
                raise self._timeout_error() from None
            raise SafeAttachError(FailureKind.CANCELLED, f"{self._cancelled()}; the request was withdrawn") from None

    def _cancelled(self) -> str:
        reason = self.cancel.reason
        return f"cancelled ({reason})" if reason else "cancelled"

    def _legacy_unconfirmed(self, exc: SafeAttachError) -> PayloadResult:
        """The injected loader did not report: say what the target is doing, make sure nothing fires later, and
        raise (or return the report, if it arrived meanwhile)."""
        assert self.staged is not None and self.touched is not None
        if exc.kind is FailureKind.PROCESS_EXITED:
            from core.inject.survival import died

            self.record.flags.append("target_died")
            raise died(self.request.pid, "after the injection, before the loader reported") from None
        if exc.kind not in (FailureKind.TIMEOUT_RUN, FailureKind.CANCELLED):
            raise exc
        from core.attach.legacy_step import still_in_stub, withdraw_injection

        doing = still_in_stub(self.touched)
        if withdraw_injection(self.touched):
            self._say("cancel: the queued pending call was blanked (it runs an empty statement if ever taken)")
        if not self.staged.withdraw():  # the loader claimed it: the script runs, and is never interrupted
            self.loader_started = True
            self._say("the loader had already started; it is not interrupted")
            if not self.staged.abandon():
                result = self.staged.poll()
                if result is not None:
                    return result
            raise self._still_running_error(exc.kind) from None
        self._say("cancel: loader withdrawn (a late start is a no-op)")
        where = f"thread {self.touched.tid} is {doing}" if doing else "the loader did not report"
        if exc.kind is FailureKind.CANCELLED:
            raise SafeAttachError(FailureKind.CANCELLED, f"cancelled; {where}; the loader was withdrawn") from None
        stacks, _ = self._waited_stacks({self.touched.tid})
        raise SafeAttachError(
            FailureKind.TIMEOUT_RUN,
            f"the injected loader did not report within {self.request.timeout:g}s: {where}",
            hint="Nothing more will run: the loader was withdrawn (it does nothing if it starts later) and the "
            "target resumes its own code when the injected call returns. Retry with a longer --timeout.",
            detail={"pid": self.request.pid, "tid": self.touched.tid, "stub": doing or "", "stacks": stacks},
        ) from None

    def _alive(self) -> bool:
        return bool(start_ticks_of(self.request.pid) == self.target.start_ticks)

    def _cancel_request(self, why: FailureKind) -> PayloadResult | None:
        """Disarm and withdraw. Returns the report if the loader had already started and finished; raises
        STILL_RUNNING if it started and has not finished (it is never stopped or removed from under)."""
        assert self.staged is not None
        staged = self.staged
        if self.writer is not None:
            for line in self.writer.disarm():
                self._say(f"cancel: {line}")
        if staged.withdraw():
            self._say("cancel: loader withdrawn (a late pickup is a no-op)")
            return None
        self.loader_started = True
        self._say("the loader had already started; it is not interrupted")
        try:  # after Ctrl-C, give a running script a moment to report; a timeout is the user's bound
            return staged.wait(GRACE_AFTER_CLAIM if why is FailureKind.CANCELLED else 0.0, None)
        except SafeAttachError:
            pass
        if not staged.abandon():
            result = staged.poll()  # it finished just now
            if result is not None:
                return result
        raise self._still_running_error(why)

    def _thread_lines(self) -> list[str]:
        lines, chosen = [], self.choice
        try:
            for t in self.target.threads():
                mark = " (chosen)" if chosen is not None and t.tstate_address == chosen.tstate else ""
                func = f" in {t.current_function}()" if t.current_function else ""
                detail = f" [{t.os_state_detail}]" if t.os_state_detail else ""
                lines.append(f"thread {t.native_thread_id}{mark}: state {t.os_state}{detail}{func}")
        except SafeAttachError as exc:
            lines.append(f"threads could not be read: {exc.message}")
        for line in lines:
            self._say(line)
        return lines

    def _waited_stacks(self, tids: set[int]) -> tuple[list[dict[str, object]], str]:
        """The Python stacks of the threads an attempt waited on (read-only), and where the first one is."""
        from core.walk import snapshot_target  # only a timeout reads stacks (start-up of every exec)

        try:
            stacks = snapshot_target(self.target)
        except SafeAttachError as exc:
            self._say(f"stacks could not be read: {exc.message}")
            return [], ""
        waited = [t for t in stacks.threads if t.native_thread_id in tids]
        where = ""
        if waited and waited[0].frames:
            f = waited[0].frames[0]
            where = f"; it is in {f.qualname or f.function} at {f.filename}:{f.line or '?'}"
        for t in waited:
            for f in t.frames:
                self._say(f"thread {t.native_thread_id}: {f.qualname or f.function} ({f.filename}:{f.line or '?'})")
        return [t.to_dict() for t in waited], where

    def _timeout_error(self) -> SafeAttachError:
        lines, chosen = self._thread_lines(), self.choice
        who = chosen.describe() if chosen is not None else "the target"
        stacks, where = self._waited_stacks({chosen.native_thread_id} if chosen is not None else set())
        return SafeAttachError(
            FailureKind.TIMEOUT_RUN,
            f"{who} did not reach a safe point within {self.request.timeout:g}s{where}; the request was cancelled",
            detail={"threads": lines, "stacks": stacks},
        )

    def _still_running_error(self, why: FailureKind) -> SafeAttachError:
        assert self.staged is not None
        since = self.staged.running_since()
        tid = since.get("native_thread_id")
        started = since.get("started")
        where = f" in thread {tid}" if isinstance(tid, int) else ""
        age = f" {time.time() - started:.1f}s ago" if isinstance(started, (int, float)) else ""
        lines = self._thread_lines()
        self.record.flags.append("still_running")
        first = "cancelled, but the script" if why is FailureKind.CANCELLED else "the script"
        return SafeAttachError(
            FailureKind.STILL_RUNNING,
            f"{first} started{where}{age} and was still running after {self.request.timeout:g}s; it keeps "
            "running in the target",
            detail={"still_running": True, "threads": lines, "native_thread_id": tid, "started": started,
                    "private_dir": self.staged.pdir.target_path},
        )

    def _await_step(self) -> AwaitDetail:
        result = self._await()
        self.payload_result = result
        message = f"ran in thread {result.thread_name or '?'} ({result.native_thread_id})"
        if self.touched is None:
            return {"message": message, "thread_name": result.thread_name, "native_thread_id": result.native_thread_id}
        from core.attach.legacy_step import withdraw_injection

        withdraw_injection(self.touched)  # the call was taken: blank its string slot
        seen = self._verify_after("after the loader ran", tid=self.touched.tid)
        survived: SurvivedDetail = {"message": f"{message}; {seen}", "thread_name": result.thread_name,
                                    "native_thread_id": result.native_thread_id, "survival": seen}
        return survived

    payload_result: PayloadResult | None = None
    loader_started = False  # the target ran our loader: its payload is (or was) running there
    collected: Collected | None = None  # what this attempt collected of killed clients' leftovers

    def _reattach_cache(self, steps: tuple[Step, ...]) -> Iterator[Event]:
        """debugpy: a cached server that still listens ends the chain here (raises _Cached)."""
        if self.session is None:
            return
        yield from self._run_step(Step.REATTACH_CACHE, self.session.check_cache)
        if self.session.hit:
            self.record.reuse = True
            self.record.flags.append("reattach_cache")
            for name in steps[1:-1]:
                yield from self._skip(name, "not needed: a debugpy server already listens")
            raise _Cached()

    def _start_adapter(self) -> None:
        """debugpy over safe attach: the client starts the adapter now, while the injection goes on (its lines
        are reported with the threadState step)."""
        target = self.target
        if self.session is None or self.use_legacy or target.version is None:
            return
        try:
            self.session.start_adapter(target, (target.version.major, target.version.minor), self._say)
        except (SafeAttachError, OSError) as exc:  # the payload starts it instead, as before
            why = exc.message if isinstance(exc, SafeAttachError) else str(exc)
            self._say(f"debug adapter: started by the target (safeattach could not start it: {why})")

    def _debugpy_ready(self) -> Iterator[Event]:
        if self.session is not None:
            session = self.session
            yield from self._run_step(Step.DEBUGPY_READY, lambda: session.ready(self.payload_result, self._say))
            self.record.reuse = bool(session.info.get("reused"))

    # -- the attempt ------------------------------------------------------------------------------------
    def run(self) -> Iterator[Event]:
        steps = plan_steps(self.request.method, self.request.payload)
        yield Plan(self.request.pid, self.request.method.value, self.request.payload.value,
                   tuple(StepSpec(s, s.title) for s in steps))
        self._log(self.record.started())  # left alone if this client dies: read back as abandoned
        outcome: Outcome | None = None
        try:
            yield from self._reattach_cache(steps)
            yield from self._open_steps()
            yield from self._run_step(Step.POLICY, self._policy)
            if self.use_legacy:
                for name in SAFE_STEPS:
                    if name in steps:
                        yield from self._skip(name, "not used by legacy injection")
                yield from self._run_step(Step.LEGACY_INJECT, self._legacy)
                yield from self._run_step(Step.AWAIT_RUN, self._await_step)
                yield from self._skip_fallback(steps, "not needed: legacy injection was the method")
            else:
                yield from self._run_step(Step.THREAD_STATE, self._thread_state)
                yield from self._run_step(Step.WRITE_SCRIPT, self._write_script)
                yield from self._run_step(Step.WRITE_PENDING, self._write_pending)
                yield from self._run_step(Step.WRITE_BREAKER, self._write_breaker)
                if Step.LEGACY_INJECT in steps:
                    yield from self._skip(Step.LEGACY_INJECT, "safe attach armed the request")
                yield from self._await_or_fall_back(steps)
            yield from self._debugpy_ready()
            outcome = self._success()
        except _Cached:
            try:
                yield from self._debugpy_ready()
                outcome = self._success()
            except _Stop as stop:
                outcome = self._failure(stop.error, stop.step)
        except _Stop as stop:
            yield from self._undo(stop.step)
            outcome = self._failure(stop.error, stop.step)
        except Exception as exc:  # the chain never raises
            yield from self._undo(Step.INTERNAL)
            outcome = self._failure(SafeAttachError(FailureKind.INTERNAL, f"{type(exc).__name__}: {exc}"), None)
        finally:
            if self.session is not None:
                self.session.close(outcome is not None and outcome.ok)
            self._close()
        self.record.elapsed_ms = round(outcome.elapsed_ms, 3)
        self._log(self.record.to_dict())
        yield outcome

    def _log(self, line: AttemptLine) -> None:
        if self.log is not None:
            try:
                self.log.append(line)
            except OSError:
                pass

    def _skip_fallback(self, steps: tuple[Step, ...], why: str) -> Iterator[Event]:
        for name in FALLBACK_STEPS:
            if name in steps:
                yield from self._skip(name, why)

    def _await_or_fall_back(self, steps: tuple[Step, ...]) -> Iterator[Event]:
        try:
            yield from self._run_step(Step.AWAIT_RUN, self._await_step)
        except _Stop as stop:
            if Step.LEGACY_FALLBACK in steps and self.loader_started:
                # the payload runs in the target already (stillRunning, or it reported late): never inject twice
                yield from self._skip_fallback(steps, "not used: the target already started our loader")
                raise
            if Step.LEGACY_FALLBACK not in steps:
                raise
            from core.attach.legacy_step import may_fall_back  # a safe attempt that failed: may it inject?

            if not may_fall_back(self.request.method, stop.error):
                raise
            failed = stop.error
            yield from self._run_step(Step.LEGACY_FALLBACK, lambda: self._fallback(failed))
            yield from self._run_step(Step.LEGACY_AWAIT, self._await_step)
            return
        yield from self._skip_fallback(steps, "not needed: safe attach ran it")

    def _undo(self, step: Step) -> Iterator[Event]:
        """Leave the target as it was: withdraw the loader, then undo our writes."""
        lines: list[str] = []
        try:
            withdrawn = self.staged.withdraw() if self.staged is not None else True
            if self.writer is not None and not self._alive():
                lines.append("the target exited; nothing to roll back")
            elif self.writer is not None:
                # if the loader already ran, the target consumed the request: only make sure it is disarmed
                lines += self.writer.rollback() if withdrawn else self.writer.disarm()
        except SafeAttachError as exc:
            lines.append(f"rollback failed: {exc.message}")
        for line in lines:
            yield StepOutput(step, f"rollback: {line}")

    def _close(self) -> None:
        for staged in (*self.retired, self.staged):
            if staged is not None:
                staged.cleanup()
        if self.lock is not None:
            self.lock.release()
        if self.opened is not None and (self.staged is not None or self.retired or self.lock is not None):
            remove_base_if_empty(self.target.root, base_dir_name(self.target.uid))
        if self.opened is not None:
            try:
                self.target.close()
            except Exception:  # closing must not mask the outcome
                pass

    def _base_result(self) -> BaseResult:
        return {
            "thread_selection": self.choice.method if self.choice else None,
            "steps_ms": {step.value: ms for step, ms in self.elapsed.items()},
            "legacy": self.use_legacy,
            "flags": list(self.record.flags),
        }

    def _success(self) -> Outcome:
        r = self.payload_result
        total = (time.monotonic() - self.started) * 1000
        if self.session is not None:  # debugpyReady checked the payload's report
            self.record.result = "ok"
            served: DebugpyAttemptResult = {**self._base_result(), "ran": r is not None, **self.session.result()}
            if r is not None:
                ran: DebugpyRanResult = {**served, "thread_name": r.thread_name, "native_thread_id": r.native_thread_id,
                                         "payload": dict(r.result)}
                served = ran
            return Outcome(True, self.request.pid, total, self.session.message(), result=served)
        assert r is not None
        result: ExecAttemptResult = {**self._base_result(), "ran": True, "thread_name": r.thread_name,
                                     "native_thread_id": r.native_thread_id, "payload": dict(r.result)}
        if r.ok:
            self.record.result = "ok"
            return Outcome(True, self.request.pid, total, f"ran in thread {r.thread_name or r.native_thread_id}",
                           result=result)
        report = self.staged.report if self.staged is not None else {}
        exc_type = str(report.get("exc_type", "Error"))
        kind = FailureKind.SCRIPT_FAILED
        if exc_type in ("PermissionError", "FileNotFoundError", "IsADirectoryError") and "cannot read script" in str(
            report.get("exc_message", "")
        ):
            kind = FailureKind.SCRIPT_UNREADABLE
        raised: ScriptRaisedResult = {**result, "exc_type": exc_type, "exc_message": str(report.get("exc_message", "")),
                                      "traceback": r.traceback}
        self.record.failure_site, self.record.failure_kind = Step.AWAIT_RUN.value, kind.value
        return Outcome(False, self.request.pid, total, f"the script raised {r.error}", kind,
                       DEFAULT_HINTS[kind], Step.AWAIT_RUN, raised)

    def _failure(self, error: SafeAttachError, step: Step | None) -> Outcome:
        total = (time.monotonic() - self.started) * 1000
        cancelled = error.kind is FailureKind.CANCELLED
        self.record.result = "cancelled" if cancelled else "failed"
        self.record.failure_site = step.value if step is not None else None
        self.record.failure_kind = error.kind.value
        result: AttemptResult = {**self._base_result(), "ran": False, **error.detail}
        return Outcome(False, self.request.pid, total, error.message, error.kind, error.hint, step, result)


def run_attach(
    request: AttachRequest,
    cancel: CancelToken,
    *,
    log: AttemptLog | None = None,
    faults: FaultPlan | None = None,
) -> Iterator[Event]:
    """Attach to request.pid and run the payload, yielding Plan … Outcome. Never raises."""
    attempt = _Attempt(request, cancel, log, faults)
    yield from attempt.run()
