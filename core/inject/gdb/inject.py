"""Run one Python statement inside a live CPython (3.9+) through gdb, at a safe point, never leaving it stopped.

How a safe point is chosen (the injected calls must never re-enter the allocator or the dynamic loader
mid-update, and must run with the GIL taken properly):

1. Parked thread: right after attaching, every thread is stopped. A thread parked in a blocking syscall that
   malloc/ld.so never park in while holding their locks (sleep, select/poll/epoll, accept/recv, wait4, read on a
   pipe/socket/tty; see safe_point.py) is already at a safe point, so we call on it directly. gdb restores its
   registers afterwards and the kernel restarts the interrupted syscall.
2. Otherwise, pending call: we queue `Py_AddPendingCall(&PyCallable_Check, NULL)` (it takes a private lock and
   never allocates), break on `PyCallable_Check` with a NULL first argument, and continue. The eval loop runs
   pending calls between bytecodes with the GIL held -- exactly where CPython runs signal handlers -- so when
   the breakpoint hits, arbitrary Python code can run. Allocator entry points (memray's choice) are not used:
   a thread stopped at PyObject_Malloc may be halfway through resizing a dict or list. The wait is bounded by
   the timeout; on expiry the target is interrupted, the breakpoint removed and gdb detaches. The queued
   PyCallable_Check(NULL) left behind is harmless (it returns 0).

All inferior calls run with scheduler-locking off, so other threads may run and release the GIL.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

from core.errors import FailureKind, SafeAttachError
from core.inject.gdb.errors import attach_error, gdb_missing, symbol_error
from core.inject.gdb.health import gdb_health
from core.inject.gdb.mi import GdbExited, GdbTimeout, MISession, Record, mi_quote
from core.inject.safe_point import ARG0_REGISTER, is_stopped, machine, parked_threads, process_state
from core.records import dataclass
from core.requests import CancelToken

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

MAX_CODE_BYTES = 4096
_POLL = 0.05  # how often a wait checks the cancel token
_CLEANUP_BUDGET = 3.0  # seconds for an orderly interrupt/detach when something went wrong


@dataclass(frozen=True)
class LegacyInjection:
    """What one injection did and how long each phase took (milliseconds)."""

    pid: int
    return_code: int  # PyRun_SimpleString: 0 ran, -1 raised (the traceback went to the target's stderr)
    safe_point: str
    thread_id: int  # the LWP the code ran on
    gdb_path: str
    gdb_version: str
    attach_ms: float
    wait_safe_point_ms: float
    call_ms: float
    detach_ms: float

    @property
    def total_ms(self) -> float:
        return self.attach_ms + self.wait_safe_point_ms + self.call_ms + self.detach_ms


def gdb_available(gdb: str | None = None) -> str | None:
    """The path of a runnable gdb (the one given, or the first on PATH), or None."""
    if gdb is None:
        return shutil.which("gdb")
    if "/" not in gdb:
        return shutil.which(gdb)
    return gdb if os.path.isfile(gdb) and os.access(gdb, os.X_OK) else None


def c_string_literal(text: str) -> str:
    """A C string literal for gdb's expression parser (non-printables as octal escapes)."""
    out = ['"']
    for byte in text.encode("utf-8"):
        if 32 <= byte < 127 and byte not in (34, 92):
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03o}")
    out.append('"')
    return "".join(out)


def _validate(pid: int, code: str, timeout: float) -> None:
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        raise SafeAttachError(FailureKind.NO_SUCH_PROCESS, f"Invalid PID {pid!r}")
    problem = None
    if not isinstance(code, str) or not code.strip():
        problem = "the statement to inject is empty"
    elif "\n" in code or "\r" in code or "\0" in code:
        problem = "the statement to inject must be a single line without NUL bytes"
    elif len(code.encode("utf-8")) > MAX_CODE_BYTES:
        problem = f"the statement to inject is longer than {MAX_CODE_BYTES} bytes; inject a loader instead"
    if problem:
        raise SafeAttachError(FailureKind.INJECT_FAILED, f"Nothing injected: {problem}",
                              hint="Pass a one-line statement such as exec(compile(open(PATH).read(), PATH, 'exec')).")
    if not timeout > 0:
        raise SafeAttachError(FailureKind.INJECT_FAILED, f"Nothing injected: timeout must be positive, got {timeout}")


def _gdb_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEBUGINFOD_")}
    env["LC_ALL"] = "C"  # messages are parsed
    env["LANG"] = "C"
    return env


def _startup_args(pid: int) -> list[str]:
    settings = [
        "set confirm off",
        "set pagination off",
        "set width 0",
        "set auto-load off",  # no per-objfile gdb scripts (python3.X-gdb.py) to load
        "set debuginfod enabled off",
        "set auto-solib-add off",  # load only the library that holds the CPython API
        "set debug-file-directory",  # exported symbols suffice: never read separate (huge) DWARF files
        f"set sysroot /proc/{pid}/root",  # read the target's own files (chroot, container)
        "set mi-async on",
        "set breakpoint pending off",
        "set unwindonsignal on",
        "set scheduler-locking off",
        "set print thread-events off",
        "set print inferior-events off",
        "handle all nostop noprint pass",  # the target's own signals pass through while we wait
    ]
    args: list[str] = []
    for setting in settings:
        args += ["-iex", setting]
    return args


def _libpython_loaded(pid: int) -> bool:
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False
    return re.search(r"/libpython3[^/\s]*\.so", maps) is not None


def _lwp_of(target_id: str) -> int | None:
    match = re.search(r"(?:LWP|process) (\d+)", target_id)
    return int(match.group(1)) if match else None


def _field(rec: Record, name: str) -> str:
    value = rec.results.get(name, "")
    return value if isinstance(value, str) else ""


class _Injection:
    """One gdb session against one target; `shutdown()` always leaves the target detached and running."""

    def __init__(self, pid: int, code: str, gdb_path: str, timeout: float, cancel: CancelToken | None,
                 progress: Callable[[str], None] | None) -> None:
        self.pid = pid
        self.code = code
        self.gdb_path = gdb_path
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.cancel = cancel
        self._progress = progress
        self.initial_state = process_state(pid)
        self.session: MISession | None = None
        self.attached = False
        self.running = False  # the target was continued and has not stopped since
        self.in_call_token: int | None = None
        self.breakpoint: str | None = None
        self.gdb_version = ""

    def note(self, line: str) -> None:
        if self._progress is not None:
            try:
                self._progress(line)
            except Exception:  # a broken progress sink must not break the injection
                pass

    # -- phases -----------------------------------------------------------------------------------------

    def run(self) -> LegacyInjection:
        t0 = time.monotonic()
        self.session = MISession(self.gdb_path, _startup_args(self.pid), env=_gdb_env())
        s = self.session
        try:
            version = s.command("-gdb-version", self.deadline)
        except GdbExited:
            raise SafeAttachError(FailureKind.GDB_MISSING, f"{self.gdb_path} did not start as gdb",
                                  detail={"output": s.console_text()[-2000:]}) from None
        del version
        self.gdb_version = next((ln for ln in s.stream_text() if ln.startswith("GNU gdb")), "").strip()
        # the executable as the kernel maps it: right for chroots, containers and deleted binaries
        s.command(f"-file-exec-and-symbols /proc/{self.pid}/exe", self.deadline)
        rec = s.command(f"-target-attach {self.pid}", self.deadline)
        if rec.cls == "error":
            raise attach_error(self.pid, _field(rec, "msg"))
        self.attached = True
        s.wait_async("stopped", self.deadline)
        attach_ms = (time.monotonic() - t0) * 1000
        self.note(f"gdb attached to {self.pid} in {attach_ms:.0f} ms")

        run_fn = self._load_symbols()

        t1 = time.monotonic()
        thread_id, safe_point = self._reach_safe_point()
        wait_ms = (time.monotonic() - t1) * 1000
        self.note(f"safe point: {safe_point} (thread {thread_id}, after {wait_ms:.0f} ms)")

        t2 = time.monotonic()
        rc = self._call(run_fn)
        call_ms = (time.monotonic() - t2) * 1000
        self.note(f"{run_fn} returned {rc}")

        t3 = time.monotonic()
        self._detach(self.deadline)
        detach_ms = (time.monotonic() - t3) * 1000
        self.note(f"gdb detached in {detach_ms:.0f} ms")
        if rc != 0:
            raise SafeAttachError(
                FailureKind.INJECT_FAILED,
                f"The injected statement raised inside process {self.pid} ({run_fn} returned {rc})",
                hint="The exception's traceback was printed on the target's stderr; whether the target survived is "
                "checked separately.",
                detail={"pid": self.pid, "return_code": rc, "safe_point": safe_point},
            )
        return LegacyInjection(self.pid, rc, safe_point, thread_id, self.gdb_path, self.gdb_version,
                               attach_ms, wait_ms, call_ms, detach_ms)

    def _evaluate(self, expression: str) -> Record:
        assert self.session is not None
        return self.session.command(f"-data-evaluate-expression {mi_quote(expression)}", self.deadline)

    def _load_symbols(self) -> str:
        """Load the CPython symbols; return the name of the PyRun function to call."""
        assert self.session is not None
        if _libpython_loaded(self.pid):
            self.session.command('-interpreter-exec console "sharedlibrary libpython3"', self.deadline)
        run_fn = ""
        for name in ("PyRun_SimpleString", "PyRun_SimpleStringFlags"):
            if self._evaluate(f"(long)&{name}").cls == "done":
                run_fn = name
                break
        if not run_fn:
            raise symbol_error(self.pid, "PyRun_SimpleString", self._last_error())
        for name in ("PyGILState_Ensure", "PyGILState_Release"):
            rec = self._evaluate(f"(long)&{name}")
            if rec.cls != "done":
                raise symbol_error(self.pid, name, _field(rec, "msg"))
        return run_fn

    def _last_error(self) -> str:
        assert self.session is not None
        for line in reversed(self.session.transcript):
            if "^error" in line:
                return line
        return ""

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise SafeAttachError(FailureKind.CANCELLED, "Injection cancelled before the code ran",
                                  detail={"pid": self.pid})

    def _select_thread(self, tid: int) -> None:
        assert self.session is not None
        rec = self.session.command("-thread-info", self.deadline)
        threads = rec.results.get("threads", [])
        for thread in threads if isinstance(threads, list) else []:
            if isinstance(thread, dict):
                target_id = thread.get("target-id", "")
                gdb_id = thread.get("id", "")
                if isinstance(target_id, str) and isinstance(gdb_id, str) and _lwp_of(target_id) == tid:
                    sel = self.session.command(f"-thread-select {gdb_id}", self.deadline)
                    if sel.cls == "done":
                        return
        raise SafeAttachError(FailureKind.INJECT_FAILED, f"gdb does not list thread {tid} of process {self.pid}",
                              detail={"pid": self.pid, "tid": tid})

    def _reach_safe_point(self) -> tuple[int, str]:
        self._check_cancel()
        parked = parked_threads(self.pid)
        if parked:
            chosen = parked[0]
            self._select_thread(chosen.tid)
            return chosen.tid, f"thread parked in {chosen.syscall}"
        return self._wait_pending_call()

    def _wait_pending_call(self) -> tuple[int, str]:
        assert self.session is not None
        s = self.session
        for name in ("Py_AddPendingCall", "PyCallable_Check"):
            rec = self._evaluate(f"(long)&{name}")
            if rec.cls != "done":
                raise symbol_error(self.pid, name, _field(rec, "msg"))
        rec = self._evaluate("(int)Py_AddPendingCall(&PyCallable_Check, (void*)0)")
        if rec.cls != "done" or _field(rec, "value").strip() != "0":
            raise SafeAttachError(FailureKind.INJECT_FAILED,
                                  f"Py_AddPendingCall failed in process {self.pid}: "
                                  f"{_field(rec, 'msg') or _field(rec, 'value')}",
                                  detail={"pid": self.pid})
        reg = ARG0_REGISTER.get(machine())
        cond = f"-c {mi_quote(reg + ' == 0')} " if reg else ""
        rec = s.command(f"-break-insert {cond}PyCallable_Check", self.deadline)
        bkpt = rec.results.get("bkpt")
        if rec.cls != "done" or not isinstance(bkpt, dict):
            raise SafeAttachError(FailureKind.INJECT_FAILED, f"gdb could not set a breakpoint: {_field(rec, 'msg')}",
                                  detail={"pid": self.pid})
        number = bkpt.get("number", "")
        self.breakpoint = number if isinstance(number, str) else None
        self.note("waiting for the eval loop to run a pending call")
        while True:
            self._check_cancel()
            rec = s.command("-exec-continue", self.deadline)
            if rec.cls == "error":
                raise SafeAttachError(FailureKind.INJECT_FAILED, f"gdb could not resume the target: "
                                      f"{_field(rec, 'msg')}", detail={"pid": self.pid})
            self.running = True
            stop = self._wait_stop()
            self.running = False
            reason = _field(stop, "reason")
            if reason == "breakpoint-hit":
                break
            if reason.startswith("exited"):
                self.attached = False
                raise SafeAttachError(FailureKind.PROCESS_EXITED,
                                      f"Process {self.pid} exited while waiting for a safe point",
                                      detail={"pid": self.pid, "reason": reason})
        if self.breakpoint:
            s.command(f"-break-delete {self.breakpoint}", self.deadline)
            self.breakpoint = None
        thread = _field(stop, "thread-id")
        tid = self.pid
        info = s.command(f"-thread-info {thread}", self.deadline) if thread else None
        if info is not None:
            threads = info.results.get("threads", [])
            if isinstance(threads, list) and threads and isinstance(threads[0], dict):
                target_id = threads[0].get("target-id", "")
                tid = _lwp_of(target_id if isinstance(target_id, str) else "") or self.pid
        return tid, "pending call from the eval loop"

    def _wait_stop(self) -> Record:
        """Wait for the target to stop; on timeout or cancel interrupt it and raise."""
        assert self.session is not None
        while True:
            try:
                return self.session.wait_async("stopped", min(self.deadline, time.monotonic() + _POLL))
            except GdbTimeout:
                pass
            if self.cancel is not None and self.cancel.cancelled:
                raise SafeAttachError(FailureKind.CANCELLED, "Injection cancelled while waiting for a safe point",
                                      detail={"pid": self.pid})
            if time.monotonic() >= self.deadline:
                raise SafeAttachError(
                    FailureKind.TIMEOUT_RUN,
                    f"Process {self.pid} reached no safe point within {self.timeout:g} s "
                    "(its main thread ran no bytecode: a long C call or a lock wait)",
                    hint="Nothing ran in the target; gdb interrupted it and detached. Retry with a longer --timeout.",
                    detail={"pid": self.pid},
                )

    def _call(self, run_fn: str) -> int:
        self._check_cancel()
        gil = self._call_value("(int)PyGILState_Ensure()")
        args = c_string_literal(self.code) + (", (void*)0" if run_fn.endswith("Flags") else "")
        try:
            rc = self._call_value(f"(int){run_fn}({args})")
        except SafeAttachError as exc:
            if exc.detail.get("call_error"):  # gdb restored the context: the GIL must still be given back
                self._call_value(f"(void)PyGILState_Release({gil})", ignore_value=True)
            raise
        self._call_value(f"(void)PyGILState_Release({gil})", ignore_value=True)
        return rc

    def _call_value(self, expression: str, ignore_value: bool = False) -> int:
        assert self.session is not None
        self.in_call_token = self.session.send(f"-data-evaluate-expression {mi_quote(expression)}")
        rec = self._await_result(self.in_call_token, self.deadline)
        self.in_call_token = None
        if rec.cls != "done":
            msg = _field(rec, "msg")
            raise SafeAttachError(
                FailureKind.INJECT_FAILED,
                f"gdb could not complete {expression.split('(')[1].lstrip(')')} in process {self.pid}: "
                f"{msg.splitlines()[0] if msg else rec.cls}",
                hint="gdb reported that the call failed; whether the target survived is checked separately. "
                "See detail for gdb's message.",
                detail={"pid": self.pid, "gdb": msg, "call_error": True},
            )
        if ignore_value:
            return 0
        try:
            return int(_field(rec, "value").split()[0])
        except (ValueError, IndexError):
            raise SafeAttachError(FailureKind.INJECT_FAILED,
                                  f"Unexpected result from gdb for {expression[:40]}: {_field(rec, 'value')!r}",
                                  detail={"pid": self.pid}) from None

    def _await_result(self, token: int, deadline: float) -> Record:
        assert self.session is not None
        while True:
            try:
                rec = self.session.read_record(deadline)
            except GdbTimeout:
                raise SafeAttachError(
                    FailureKind.TIMEOUT_RUN,
                    f"The injected call did not return within the {self.timeout:g} s timeout in process {self.pid}",
                    hint="gdb was stopped while the call was running; the target may be left in a broken state.",
                    detail={"pid": self.pid},
                ) from None
            if rec is not None and rec.kind == "^" and rec.token == token:
                return rec
            if rec is not None and rec.kind in "*=":
                self.session.pending.append(rec)

    def _detach(self, deadline: float) -> None:
        assert self.session is not None
        if self.attached:
            rec = self.session.command("-target-detach", deadline)
            if rec.cls == "done":
                self.attached = False
        try:
            self.session.command("-gdb-exit", min(deadline, time.monotonic() + 1.0))
        except (GdbExited, GdbTimeout):
            pass

    # -- cleanup ----------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Whatever happened: detach, end and reap gdb, make sure the target is not left stopped."""
        s = self.session
        if s is None:
            return
        try:
            if s.proc.poll() is None and (self.attached or self.running):
                budget = time.monotonic() + _CLEANUP_BUDGET
                if self.in_call_token is not None:
                    # a call in flight cannot be abandoned safely: give it until the caller's deadline
                    self._await_result(self.in_call_token, max(self.deadline, budget))
                    self.in_call_token = None
                if self.running:
                    s.command("-exec-interrupt", budget)
                    s.wait_async("stopped", budget)
                    self.running = False
                if self.breakpoint:
                    s.command(f"-break-delete {self.breakpoint}", budget)
                self._detach(budget)
        except (GdbExited, GdbTimeout, SafeAttachError, OSError):
            pass
        finally:
            if s.proc.poll() is None and not self.attached:
                try:
                    s.proc.wait(timeout=1.0)
                except Exception:  # fall through to terminate
                    pass
            s.terminate()
            self._resume_if_left_stopped()

    def _resume_if_left_stopped(self) -> None:
        if is_stopped(self.initial_state):
            return  # it was stopped before we came: not ours to resume
        end = time.monotonic() + 0.5
        state = process_state(self.pid)
        while state == "t" and time.monotonic() < end:
            time.sleep(0.01)  # a tracing stop lingers for a moment while the kernel detaches a dead tracer
            state = process_state(self.pid)
        if is_stopped(state):
            try:
                os.kill(self.pid, signal.SIGCONT)
            except OSError:
                return
            self.note(f"process {self.pid} was left stopped ({state}); resumed it with SIGCONT")


def inject_python(
    pid: int,
    code: str,
    *,
    timeout: float = 30.0,
    cancel: CancelToken | None = None,
    gdb: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> LegacyInjection:
    """Run the one-line statement `code` in process `pid` via gdb (see the module docstring for safety)."""
    _validate(pid, code, timeout)
    gdb_path = gdb_available(gdb)
    if gdb_path is None:
        raise gdb_missing(gdb)
    if not Path(f"/proc/{pid}").exists():
        raise SafeAttachError(FailureKind.NO_SUCH_PROCESS, f"Process {pid} does not exist", detail={"pid": pid})
    health = gdb_health(gdb_path)
    if not health.healthy:
        raise SafeAttachError(
            FailureKind.GDB_UNHEALTHY, f"{gdb_path} failed its health probe: {health.reason}",
            detail={"gdb": gdb_path, "probe": health.reason, "cached": health.cached})
    if progress is not None:
        progress(f"gdb health probe: {health.reason}" + (" (cached)" if health.cached else ""))
    job = _Injection(pid, code, gdb_path, timeout, cancel, progress)
    try:
        return job.run()
    except (GdbTimeout, GdbExited):
        raise _gdb_failure(job) from None
    finally:
        job.shutdown()


def _gdb_failure(job: _Injection) -> SafeAttachError:
    """gdb stopped answering or exited during a phase without a more precise reason."""
    transcript = job.session.console_text() if job.session else ""
    if time.monotonic() >= job.deadline:
        return SafeAttachError(
            FailureKind.TIMEOUT_RUN,
            f"gdb did not finish within the {job.timeout:g} s timeout for process {job.pid}",
            hint="gdb was stopped; whether the target survived is checked separately. Try a longer timeout.",
            detail={"pid": job.pid, "gdb": transcript[-2000:]},
        )
    if process_state(job.pid) is None:
        return SafeAttachError(FailureKind.PROCESS_EXITED, f"Process {job.pid} exited during the injection",
                               detail={"pid": job.pid})
    return SafeAttachError(FailureKind.INJECT_FAILED, f"gdb exited unexpectedly while injecting into {job.pid}",
                           detail={"pid": job.pid, "gdb": transcript[-2000:]})
