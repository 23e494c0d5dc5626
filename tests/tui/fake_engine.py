"""A deterministic EngineSource with fixed data: fixed PIDs, versions, timings; no real processes or clocks.

Drives the console in tests/tui and the screenshot generator (`python -m tests.tui.screenshots`); the attach
scripts cover a success, a failure (policyDisabled) and a step that blocks until the caller cancels or the request
times out. A test fixture, so it lives under tests/: the product never needs it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from core.attach.chain import plan_steps
from core.attach.steps import Step
from core.doctor.model import Diagnosis, Finding, Status
from core.errors import DEFAULT_HINTS, FailureKind, SafeAttachError
from core.events import Event, Outcome, Plan, StepFinished, StepOutput, StepSpec, StepStarted, StepStatus
from core.model import (
    BuildFlags,
    InterpreterInfo,
    OffsetField,
    OffsetSection,
    OffsetsTree,
    ProcessReport,
    ProcessSummary,
    PythonVersion,
    ThreadInfo,
)
from core.requests import AttachRequest, CancelToken, Method, Payload
from core.walk.model import FrameRecord, ProcessStacks, ThreadStack
from core.walk.tasks import ProcessTasks, TaskRecord, ThreadTasks

BUSY_PID = 4242
MARKUP_PID = 4243
DISABLED_PID = 4244
LEGACY_PID = 4245
DENIED_PID = 4246
BLOCKED_PID = 4247
CONTAINER_PID = 4248

MARKUP_CMDLINE = "python3.13 -c print('[bold red]not markup[/bold red]') [link=http://x]y[/link]"


def _ver(minor: int, micro: int, source: str = "_Py_DebugOffsets.version") -> PythonVersion:
    return PythonVersion(3, minor, micro, "final", 0, source)


_B314 = BuildFlags(free_threaded=False, debug=False, shared=False, pie=True)
_B313 = BuildFlags(free_threaded=False, debug=True, shared=False, pie=True)
_B39 = BuildFlags(free_threaded=None, debug=None, shared=False, pie=False)


def fake_processes() -> tuple[ProcessSummary, ...]:
    return (
        ProcessSummary(
            BUSY_PID,
            "alice",
            1000,
            "python3.14 -m worker --queue jobs",
            1700000000.0,
            _ver(14, 0),
            _B314,
            True,
            True,
            False,
        ),
        ProcessSummary(
            MARKUP_PID, "bob", 1001, MARKUP_CMDLINE, 1700000001.0, _ver(13, 7), _B313, False, None, False
        ),
        ProcessSummary(
            DISABLED_PID,
            "alice",
            1000,
            "python3.14 service.py --no-debug",
            1700000002.0,
            _ver(14, 0),
            _B314,
            True,
            False,
            False,
        ),
        ProcessSummary(
            LEGACY_PID,
            "carol",
            1002,
            "python3.9 /opt/legacy/app.py",
            1700000003.0,
            _ver(9, 2, "Py_Version symbol"),
            _B39,
            False,
            None,
            False,
        ),
        ProcessSummary(
            DENIED_PID,
            "root",
            0,
            "python3 /usr/sbin/daemon",
            1700000004.0,
            None,
            None,
            False,
            None,
            False,
            error="permission denied reading /proc/4246/mem",
            error_kind="openProcess",
        ),
        ProcessSummary(
            BLOCKED_PID,
            "alice",
            1000,
            "python3.14 blocked.py",
            1700000005.0,
            _ver(14, 0),
            _B314,
            True,
            True,
            False,
        ),
        ProcessSummary(
            CONTAINER_PID,
            "dave",
            1003,
            "python3.15 /srv/app/main.py",
            1700000006.0,
            _ver(15, 0),
            _B314,
            True,
            True,
            True,
        ),
    )


def _offsets_314() -> OffsetsTree:
    def sec(name: str, offset: int, size: int, *fields: tuple[str, int, int]) -> OffsetSection:
        return OffsetSection(name, offset, size, tuple(OffsetField(n, o, v) for n, o, v in fields))

    return OffsetsTree(
        layout="3.14",
        size=0x2C8,
        sections=(
            sec(
                "runtime_state",
                0x18,
                0x18,
                ("size", 0x18, 0x7A0),
                ("finalizing", 0x20, 0x7C0),
                ("interpreters_head", 0x28, 0x2E8),
            ),
            sec(
                "interpreter_state",
                0x30,
                0x58,
                ("size", 0x30, 0x33E20),
                ("id", 0x38, 0x10),
                ("next", 0x40, 0x0),
                ("threads_head", 0x48, 0x1E08),
                ("threads_main", 0x50, 0x1E10),
            ),
            sec(
                "thread_state",
                0x88,
                0x48,
                ("size", 0x88, 0x1348),
                ("prev", 0x90, 0x0),
                ("next", 0x98, 0x8),
                ("interp", 0xA0, 0x10),
                ("current_frame", 0xA8, 0x38),
                ("thread_id", 0xB0, 0x88),
                ("native_thread_id", 0xB8, 0x90),
            ),
            sec(
                "debugger_support",
                0x2A0,
                0x28,
                ("eval_breaker", 0x2A0, 0x18),
                ("remote_debugger_support", 0x2A8, 0x1FF0),
                ("remote_debugging_enabled", 0x2B0, 0x1F80),
                ("debugger_pending_call", 0x2B8, 0x0),
                ("debugger_script_path", 0x2C0, 0x8),
                ("debugger_script_path_size", 0x2C8, 0x200),
            ),
        ),
    )


def _offsets_313() -> OffsetsTree:
    fields = (
        OffsetField("size", 0x18, 0x790),
        OffsetField("finalizing", 0x20, 0x7B0),
        OffsetField("interpreters_head", 0x28, 0x2E0000),
    )
    problem = OffsetField("interpreters_head", 0x28, 0x2E0000, problem="beyond the runtime size (0x790)")
    return OffsetsTree(
        layout="3.13",
        size=0x240,
        sections=(OffsetSection("runtime_state", 0x18, 0x18, (*fields[:2], problem)),),
        problems=("runtime_state.interpreters_head: beyond the runtime size (0x790)",),
    )


def _threads(pid: int, count: int) -> tuple[ThreadInfo, ...]:
    out = [
        ThreadInfo(0, 0x55D0_0000_1000, 0x7F00_0000_0740, pid, True, True, "R", "", "<module> (busy.py:6)"),
    ]
    for i in range(1, count):
        out.append(
            ThreadInfo(
                0,
                0x55D0_0000_1000 + i * 0x1400,
                0x7F00_0000_0740 + i * 0x800_000,
                pid + i,
                False,
                False,
                "S",
                "futex_wait_queue",
                f"worker_{i} (pool.py:{40 + i})",
            )
        )
    return tuple(out)


def fake_reports() -> dict[int, ProcessReport]:
    procs = {p.pid: p for p in fake_processes()}
    reports = {}
    for pid in (BUSY_PID, DISABLED_PID, BLOCKED_PID, CONTAINER_PID):
        reports[pid] = ProcessReport(
            summary=procs[pid],
            binary="/usr/bin/python3.14",
            binary_access="map_files",
            runtime_address=0x5555_5577_8000,
            runtime_source=".PyRuntime section",
            offsets=_offsets_314(),
            interpreters=(InterpreterInfo(0, 0x5555_5578_0000, True, pid != DISABLED_PID, 0x55D0_0000_1000),),
            threads=_threads(pid, 3),
        )
    reports[BLOCKED_PID] = ProcessReport(
        **{
            **vars(reports[BLOCKED_PID]),
            "threads": (
                ThreadInfo(
                    0,
                    0x55D0_0000_1000,
                    0x7F00_0000_0740,
                    BLOCKED_PID,
                    True,
                    True,
                    "S",
                    "hrtimer_nanosleep",
                    "<module> (blocked.py:4)",
                ),
            ),
        },
    )
    reports[MARKUP_PID] = ProcessReport(
        summary=procs[MARKUP_PID],
        binary="/usr/bin/python3.13d",
        binary_access="root",
        runtime_address=0x5555_5566_0000,
        runtime_source="_PyRuntime symbol",
        offsets=_offsets_313(),
        threads=_threads(MARKUP_PID, 1),
    )
    reports[LEGACY_PID] = ProcessReport(
        summary=procs[LEGACY_PID],
        binary="/usr/bin/python3.9",
        binary_access="root",
        runtime_address=0x0000_0000_0093_2D40,
        runtime_source="_PyRuntime symbol",
        offsets=None,
        threads=_threads(LEGACY_PID, 2),
        notes=(
            "no _Py_DebugOffsets before 3.13: version read from the Py_Version symbol",
            "safe attach needs 3.14+; legacy injection (ptrace) is available",
        ),
    )
    return reports


def _frame(qualname: str, filename: str, line: int | None, first_line: int = 1) -> FrameRecord:
    return FrameRecord(qualname.rsplit(".", 1)[-1], qualname, filename, line, first_line)


_THREADING = "/usr/lib/python3.14/threading.py"
_BOOTSTRAP = (
    _frame("Thread.run", _THREADING, 1012, 990),
    _frame("Thread._bootstrap_inner", _THREADING, 1075, 1060),
    _frame("Thread._bootstrap", _THREADING, 1032, 1020),
)

# a thread name and a function name chosen by the target: an escape sequence and rich markup
MARKUP_THREAD_NAME = "\x1b[31mpwn\x07"
MARKUP_FUNCTION = "[bold red]handler[/bold red]"


def _worker(pid: int, i: int, syscall: str = "futex_wait_queue") -> ThreadStack:
    return ThreadStack(
        0, pid + i, 0x7F00_0000_0740 + i * 0x800_000, f"worker-{i}", False, False, "S", syscall,
        (
            _frame("Condition.wait", _THREADING, 359, 323),
            _frame("Queue.get", "/usr/lib/python3.14/queue.py", 199, 154),
            _frame(f"Pool.worker_{i}", "/srv/app/pool.py", 40 + i, 35),
            *_BOOTSTRAP,
        ),
    )


def fake_stacks() -> dict[int, ProcessStacks]:
    """Fixed stacks per PID (the same threads as fake_reports, with full stacks innermost first)."""
    busy_main = ThreadStack(
        0, BUSY_PID, 0x7F00_0000_0740, "python3.14", True, True, "R", "running",
        (
            _frame("crunch", "/srv/app/busy.py", 12, 10),
            _frame("Job.run", "/srv/app/jobs.py", 88, 80),
            _frame("<module>", "/srv/app/busy.py", 6),
        ),
    )
    blocked_main = ThreadStack(
        0, BLOCKED_PID, 0x7F00_0000_0740, "python3.14", True, False, "S", "clock_nanosleep",
        (_frame("<module>", "/srv/app/blocked.py", 4),),
    )
    markup_main = ThreadStack(
        0, MARKUP_PID, 0x7F00_0000_0740, MARKUP_THREAD_NAME, True, True, "S", "epoll_wait",
        (_frame(MARKUP_FUNCTION, "/tmp/\x1b]52;c;bad\x07.py", 3), _frame("<module>", "/tmp/x.py", 9)),
    )
    legacy_main = ThreadStack(
        0, LEGACY_PID, 0x7F00_0000_0740, "python3.9", True, True, "S", "select",
        (_frame("serve_forever", "/usr/lib/python3.9/socketserver.py", 232, 215),
         _frame("<module>", "/opt/legacy/app.py", 30)),
    )

    def stacks(pid: int, version: str, *threads: ThreadStack) -> ProcessStacks:
        return ProcessStacks(pid, version, threads, elapsed_ms=1.2)

    return {
        BUSY_PID: stacks(BUSY_PID, "3.14.0", busy_main, _worker(BUSY_PID, 1), _worker(BUSY_PID, 2, "")),
        DISABLED_PID: stacks(DISABLED_PID, "3.14.0", ThreadStack(
            0, DISABLED_PID, 0x7F00_0000_0740, "python3.14", True, False, "S", "accept4",
            (_frame("socket.accept", "/usr/lib/python3.14/socket.py", 295, 285),
             _frame("<module>", "/srv/service.py", 21)))),
        BLOCKED_PID: stacks(BLOCKED_PID, "3.14.0", blocked_main),
        CONTAINER_PID: stacks(CONTAINER_PID, "3.15.0", replace(busy_main, native_thread_id=CONTAINER_PID)),
        MARKUP_PID: stacks(MARKUP_PID, "3.13.7", markup_main),
        LEGACY_PID: stacks(LEGACY_PID, "3.9.2", legacy_main, _worker(LEGACY_PID, 1)),
    }


# a task name the target chose: escapes and markup, shown as text (core.text.visible), never interpreted
MARKUP_TASK_NAME = "evil\x1b[2J[bold red]task[/bold red]"
TASK_MAIN, TASK_FETCH_1, TASK_FETCH_2 = 0x7F00_1000_0010, 0x7F00_1000_0020, 0x7F00_1000_0030
TASK_MARKUP = 0x7F00_1000_0040
TASK_CYCLE_A, TASK_CYCLE_B = 0x7F00_1000_0050, 0x7F00_1000_0060
_APP = "/srv/app/aio.py"
_ASYNCIO_TASKS = "/usr/lib/python3.14/asyncio/tasks.py"


def fake_tasks() -> dict[int, ProcessTasks]:
    """Fixed asyncio tasks of BUSY_PID: main gathers two fetches, a task with a hostile name, and two tasks
    that await each other (an await cycle)."""

    def task(address: int, name: str, frames: tuple[FrameRecord, ...], *awaited_by: int,
             running: bool = False) -> TaskRecord:
        return TaskRecord(address, name, frames, awaited_by, running)

    loop_thread = ThreadTasks(0, BUSY_PID, "python3.14", 0x7F00_2000_0000, (
        task(TASK_MAIN, "Task-1", (_frame("main", _APP, 31, 25),), running=True),
        task(TASK_FETCH_1, "fetch-1", (_frame("sleep", _ASYNCIO_TASKS, 702, 680),
                                       _frame("fetch", _APP, 12, 10)), TASK_MAIN),
        task(TASK_FETCH_2, "fetch-2", (_frame("sleep", _ASYNCIO_TASKS, 702, 680),
                                       _frame("fetch", _APP, 12, 10)), TASK_MAIN),
        task(TASK_MARKUP, MARKUP_TASK_NAME, (_frame("worker", _APP, 18, 16),), TASK_MAIN),
        task(TASK_CYCLE_A, "cycle-a", (_frame("wait_for_b", _APP, 44, 42),), TASK_CYCLE_B),
        task(TASK_CYCLE_B, "cycle-b", (_frame("wait_for_a", _APP, 50, 48),), TASK_CYCLE_A),
    ))
    return {
        BUSY_PID: ProcessTasks(BUSY_PID, "3.14.0", (loop_thread,),
                               cycles=((TASK_CYCLE_A, TASK_CYCLE_B, TASK_CYCLE_A),), elapsed_ms=0.8),
    }


def fake_diagnoses() -> dict[int, Diagnosis]:
    """Fixed doctor findings per PID: clean, opted out (blocking), parked in a sleep, legacy only."""
    read = Finding("read", Status.OK, "its memory is readable and its runtime was found")
    uid = Finding("ptrace.uid", Status.OK, "same uid as the target (1000)")
    version = Finding("version", Status.OK, "CPython 3.14.0 is supported (safe attach and legacy)")
    injector = Finding("injector", Status.INFO, "legacy injection uses the built-in ptrace injector (needs "
                       "ptrace attach, no gdb)", affects="legacy")
    return {
        BUSY_PID: Diagnosis(BUSY_PID, "3.14.0", "safe", (read, uid, version, injector)),
        DISABLED_PID: Diagnosis(DISABLED_PID, "3.14.0", "none", (
            read, uid, version,
            Finding("policy", Status.FAIL, "the target opted out of remote debugging "
                    "(PYTHON_DISABLE_REMOTE_DEBUG in its environment)",
                    ("restart it without PYTHON_DISABLE_REMOTE_DEBUG",
                     "or, with its owner's consent: method legacy plus override opt-out"),
                    FailureKind.POLICY_DISABLED),
            injector,
        )),
        BLOCKED_PID: Diagnosis(BLOCKED_PID, "3.14.0", "safe", (
            read, uid, version,
            Finding("threads.blocked", Status.WARN, "the main thread is parked in clock_nanosleep at "
                    "<module> (/srv/app/blocked.py:4): safe attach runs when it wakes",
                    ("give a timeout longer than the sleep", "or use method auto: it falls back to legacy"),
                    FailureKind.TIMEOUT_RUN, affects="safe"),
            injector,
        )),
        LEGACY_PID: Diagnosis(LEGACY_PID, "3.9.2", "legacy", (
            read, uid,
            Finding("version", Status.INFO, "CPython 3.9.2: safe attach needs 3.14+, legacy injection is used",
                    affects="safe"),
            injector,
        )),
        CONTAINER_PID: Diagnosis(CONTAINER_PID, "3.15.0", "safe", (
            read, uid,
            Finding("namespaces", Status.INFO, "the target runs in another mount namespace (a container): "
                    "the script is copied into its view"),
            injector,
        )),
        MARKUP_PID: Diagnosis(MARKUP_PID, "3.13.7", "legacy", (read, uid, injector)),
    }


# the real chain's steps and titles, so screenshots show what the engine shows
SAFE_STEPS = tuple(StepSpec(step, step.title) for step in plan_steps(Method.SAFE))

FIXED_TIME = "2026-01-01T12:00:00Z"


def fake_history() -> list[dict[str, Any]]:
    def rec(
        pid: int,
        version: str,
        result: str,
        site: str | None,
        kind: str | None,
        ms: float,
        statuses: Sequence[str],
        minute: int,
        method: str = "safe",
    ) -> dict[str, Any]:
        steps = [
            {"name": s.name, "status": st, "elapsed_ms": 1.5 if st in ("ok", "failed") else None}
            for s, st in zip(SAFE_STEPS, statuses, strict=True)
        ]
        return {
            "time": f"2026-01-01T11:{minute:02d}:00Z",
            "pid": pid,
            "target_version": version,
            "method": method,
            "thread_selection": "main",
            "result": result,
            "failure_site": site,
            "failure_kind": kind,
            "elapsed_ms": ms,
            "steps": steps,
        }

    ok9 = ["ok"] * 9
    return [
        rec(BUSY_PID, "3.14.0", "ok", None, None, 41.0, ok9, 1),
        rec(
            DISABLED_PID,
            "3.14.0",
            "failed",
            "policy",
            "policyDisabled",
            3.0,
            ["ok", "ok", "ok", "failed", *["skipped"] * 5],
            2,
        ),
        rec(
            BLOCKED_PID, "3.14.0", "cancelled", "awaitRun", "cancelled", 2500.0, [*["ok"] * 8, "failed"], 3
        ),
        rec(BLOCKED_PID, "3.14.0", "failed", "awaitRun", "timeoutRun", 10000.0, [*["ok"] * 8, "failed"], 4),
        rec(CONTAINER_PID, "3.15.0", "ok", None, None, 37.5, ok9, 5),
    ]


class FakeEngine:
    """EngineSource with fixed data. `inspect` of DENIED_PID (and unknown PIDs) raises SafeAttachError."""

    def __init__(self, processes: Sequence[ProcessSummary] | None = None) -> None:
        self.processes: list[ProcessSummary] = list(processes if processes is not None else fake_processes())
        self.reports = fake_reports()
        self.history = fake_history()
        self.stack_data = fake_stacks()
        self.diagnoses = fake_diagnoses()
        self.task_data = fake_tasks()
        self.task_calls = 0
        self.stack_calls = 0
        self.diagnose_calls = 0
        self.requests: list[AttachRequest] = []
        self.list_calls = 0
        # set when the blocking step has started, so a test can cancel at a known point
        self.blocking = threading.Event()
        self._lock = threading.Lock()

    def list_processes(self) -> Sequence[ProcessSummary]:
        with self._lock:
            self.list_calls += 1
            return tuple(self.processes)

    def inspect(self, pid: int) -> ProcessReport:
        if pid == DENIED_PID:
            raise SafeAttachError(
                FailureKind.OPEN_PROCESS,
                f"cannot read the memory of process {pid}: Operation not permitted [errno 1]",
            )
        report = self.reports.get(pid)
        if report is None:
            raise SafeAttachError(FailureKind.NO_SUCH_PROCESS, f"no process with PID {pid}")
        return report

    def attempts(self) -> Sequence[Mapping[str, Any]]:
        with self._lock:
            return list(self.history)

    def stacks(self, pid: int) -> ProcessStacks:
        with self._lock:
            self.stack_calls += 1
            found = self.stack_data.get(pid)
        if found is None:
            self.inspect(pid)  # the same errors as inspect (denied, no such process)
            raise SafeAttachError(FailureKind.NO_SUCH_PROCESS, f"no process with PID {pid}")
        return found

    def tasks(self, pid: int) -> ProcessTasks:
        with self._lock:
            self.task_calls += 1
            found = self.task_data.get(pid)
        if found is not None:
            return found
        report = self.inspect(pid)  # the same errors as inspect (denied, no such process)
        version = report.summary.version
        if version is None or (version.major, version.minor) < (3, 14):
            raise SafeAttachError(FailureKind.UNSUPPORTED_VERSION,
                                  f"asyncio tasks can be read from CPython 3.14 and later; this is {version}",
                                  "Older versions keep no task lists a reader can follow; use `safeattach stack`.")
        raise SafeAttachError(FailureKind.UNSUPPORTED_VERSION,
                              f"process {pid} has no asyncio debug table (its _asyncio extension is not loaded)",
                              "The target has not imported asyncio, so it has no tasks; `safeattach stack PID` "
                              "shows its threads.")

    def diagnose(self, pid: int) -> Diagnosis:
        with self._lock:
            self.diagnose_calls += 1
            found = self.diagnoses.get(pid)
        if found is None:
            if pid == DENIED_PID:
                return Diagnosis(pid, None, "none", (Finding(
                    "read", Status.FAIL, f"the process cannot be read: cannot read the memory of process {pid}",
                    ("run as the target's user (root)",), FailureKind.OPEN_PROCESS),))
            raise SafeAttachError(FailureKind.NO_SUCH_PROCESS, f"no process with PID {pid}")
        return found

    def attach(self, request: AttachRequest, cancel: CancelToken) -> Iterator[Event]:
        self.requests.append(request)
        method = "legacy" if request.method is Method.LEGACY else "safe"
        yield Plan(request.pid, method, request.payload.value, SAFE_STEPS)
        statuses: list[tuple[str, str]] = []
        outcome: Outcome | None = None
        for spec in SAFE_STEPS:
            if cancel.cancelled:
                outcome = self._failure(request, spec.name, FailureKind.CANCELLED, "cancelled by the user")
                break
            yield StepStarted(spec.name)
            failure = self._failure_at(request, spec.name, cancel)
            if failure is not None:
                kind, message = failure
                yield StepFinished(spec.name, StepStatus.FAILED, 2.0, message, kind, DEFAULT_HINTS[kind])
                statuses.append((spec.name, "failed"))
                outcome = self._failure(request, spec.name, kind, message)
                break
            if spec.name is Step.AWAIT_RUN:
                yield StepOutput(spec.name, "target picked the request up at a safe point")
            yield StepFinished(spec.name, StepStatus.OK, 1.5)
            statuses.append((spec.name, "ok"))
        if outcome is None and request.payload is Payload.DEBUGPY:
            connect = {"host": "127.0.0.1", "port": 5678}
            outcome = Outcome(
                True,
                request.pid,
                240.0,
                "debugpy is listening in the target",
                result={
                    "connect": connect,
                    "reused": False,
                    "debugpy": {"version": "1.8.22", **connect},
                    "vscode": {"name": f"Attach to PID {request.pid}", "type": "debugpy", "request": "attach",
                               "connect": connect},
                },
            )
        if outcome is None:
            outcome = Outcome(
                True,
                request.pid,
                12.0,
                "script ran in the target",
                result={  # shaped like the engine's (core/attach/chain.py _success)
                    "thread_selection": "main", "steps_ms": {name: 1.5 for name, _ in statuses}, "legacy": False,
                    "flags": [], "ran": True, "thread_name": "MainThread", "native_thread_id": request.pid,
                    "payload": {},
                },
            )
        self._record(request, outcome, statuses)
        yield outcome

    def _failure_at(
        self, request: AttachRequest, step: Step, cancel: CancelToken
    ) -> tuple[FailureKind, str] | None:
        if request.pid not in self.reports:
            if step is Step.OPEN_PROCESS:
                return FailureKind.NO_SUCH_PROCESS, f"no process with PID {request.pid}"
            return None
        if step is Step.POLICY and request.pid == DISABLED_PID:
            return (
                FailureKind.POLICY_DISABLED,
                "remote debugging is disabled in the target (remote_debugging_enabled=0)",
            )
        if step is Step.AWAIT_RUN and request.pid == BLOCKED_PID:
            self.blocking.set()
            if cancel.wait(request.timeout):
                return FailureKind.CANCELLED, "cancelled by the user; the pending call was withdrawn"
            return FailureKind.TIMEOUT_RUN, f"the target did not run the script within {request.timeout:g}s"
        return None

    def _failure(self, request: AttachRequest, step: Step, kind: FailureKind, message: str) -> Outcome:
        result: dict[str, Any] = {}
        if kind is FailureKind.TIMEOUT_RUN:  # as the engine: the stacks of the threads it waited on
            waited = self.stack_data.get(request.pid)
            result["stacks"] = [t.to_dict() for t in waited.threads if t.is_main] if waited else []
        return Outcome(False, request.pid, 4.0, message, kind, DEFAULT_HINTS[kind], step, result)

    def _record(self, request: AttachRequest, outcome: Outcome, steps: list[tuple[str, str]]) -> None:
        result = "ok" if outcome.ok else ("cancelled" if outcome.kind is FailureKind.CANCELLED else "failed")
        with self._lock:
            self.history.append(
                {
                    "time": FIXED_TIME,
                    "pid": request.pid,
                    "target_version": "3.14.0",
                    "method": request.method.value,
                    "thread_selection": "main",
                    "result": result,
                    "failure_site": outcome.failed_step,
                    "failure_kind": outcome.kind.value if outcome.kind else None,
                    "elapsed_ms": outcome.elapsed_ms,
                    "steps": [{"name": n, "status": s, "elapsed_ms": 1.5} for n, s in steps],
                }
            )
