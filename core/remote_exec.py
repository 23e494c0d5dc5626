"""`sys.remote_exec` for any client Python (3.10+) into any CPython 3.14/3.15 target, plus a confirmed variant.

`remote_exec(pid, script)` keeps CPython 3.14's contract: same argument types, same exception classes and
messages for the same conditions, same writes, and it returns as soon as the request is armed; the
target opens the path itself (its uid, mount namespace and cwd), runs it in a fresh namespace and reports
exceptions through its own `sys.unraisablehook`. Differences: the client may be any Python version, the
target may be 3.14 or 3.15 regardless of the client's version, and when `threads.main` is empty (embedders,
finished `__main__`) a live thread state is chosen instead of failing, and the request is written under the
attach chain's per-target lock (waiting up to LOCK_WAIT seconds for another safeattach attach to finish), so
neither can undo the other's writes.

`exec_and_wait(pid, script, timeout=...)` runs the script through the full attach chain (private loader,
confirmation, cancellation on timeout) and returns an `ExecResult`.
"""

from __future__ import annotations

import os
import sys

from core.attach.guard import TargetLock
from core.attach.threads import select_thread
from core.attach.writes import RequestWriter
from core.attemptlog import AttemptLog
from core.errors import FailureKind, SafeAttachError
from core.events import Outcome
from core.privdir import base_dir_name, remove_base_if_empty
from core.records import dataclass, field
from core.requests import AttachRequest, CancelToken, Method

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

LOCK_WAIT = 5.0  # seconds to wait for another safeattach attach to the same process to finish
_LOOKUP = "PyRuntime address lookup failed during debug offsets initialization"


def _as_path(script: object) -> bytes:
    if not isinstance(script, (str, bytes, os.PathLike)):
        raise TypeError(f"expected str, bytes or os.PathLike object, not {type(script).__name__}")
    path = os.fsencode(script)
    if b"\0" in path:
        raise ValueError("embedded null byte")
    return path


def _translate(exc: SafeAttachError) -> Exception:
    kind = exc.kind
    if kind in (FailureKind.NO_SUCH_PROCESS, FailureKind.NOT_PYTHON, FailureKind.OFFSETS_RESOLVE,
                FailureKind.PROCESS_EXITED):
        err: Exception = RuntimeError(_LOOKUP)
        err.__cause__ = RuntimeError(exc.message)
        return err
    if kind in (FailureKind.OPEN_PROCESS, FailureKind.PTRACE_DENIED):
        return PermissionError(exc.message)
    if kind in (FailureKind.PARSE, FailureKind.UNSUPPORTED_VERSION):
        err = RuntimeError("Can't determine the Python version of the remote process")
        err.__cause__ = RuntimeError(exc.message)
        return err
    return RuntimeError(exc.message)


def remote_exec(pid: int, script: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> None:
    """Ask process `pid` to run the Python file `script` at its next safe point (not waited for)."""
    if not isinstance(pid, int) or isinstance(pid, bool):
        raise TypeError(f"'{type(pid).__name__}' object cannot be interpreted as an integer")
    path = _as_path(script)
    sys.audit("sys.remote_exec", pid, script)
    if not os.access(path, os.F_OK):
        raise FileNotFoundError("Script file does not exist")
    if not os.access(path, os.R_OK):
        raise PermissionError("Script file cannot be read")
    from core.offsets import please_stop_mask
    from core.target import open_target

    try:
        target = open_target(pid)
    except SafeAttachError as exc:
        raise _translate(exc) from None
    with target:
        try:
            off, version = target.offsets, target.version
            assert version is not None  # set by open_target
            if off is None or not off.pep768_capable:
                raise RuntimeError(
                    f"Can't send commands to a Python {version.short} process: "
                    "remote execution needs Python 3.14 or newer"
                )
            interps = target.interpreters()
            interp = next((i for i in interps if i.is_main), None)
            if interp is None:
                raise RuntimeError("Can't find a running interpreter in the remote process")
            if not interp.remote_debugging_enabled:
                raise RuntimeError("Remote debugging is not enabled in the remote process")
            try:
                choice = select_thread(target, interp, lambda _line: None, methods=("main", "enumerate"))
            except SafeAttachError:
                raise RuntimeError("Can't find the main thread in the remote process") from None
            if len(path) >= off.debugger_script_path_size:
                raise ValueError("Debugger script path is too long")
            # the same per-target lock as the attach chain: a concurrent chain's rollback must not overwrite
            # this request, nor this one land in the middle of that chain's
            lock = TargetLock(target.root, target.uid, target.gid, pid, target.start_ticks)
            lock.acquire(LOCK_WAIT, None, lambda _line: None)
            try:
                writer = RequestWriter(target.mem, off, choice.tstate, please_stop_mask(version))
                try:
                    writer.write_script(path)
                    writer.write_pending()
                    writer.write_breaker()
                except SafeAttachError:
                    writer.rollback()
                    raise
            finally:
                lock.release()
                remove_base_if_empty(target.root, base_dir_name(target.uid))
        except SafeAttachError as exc:
            raise _translate(exc) from None


@dataclass(frozen=True)
class ExecResult:
    ok: bool  # ran and did not raise
    ran: bool
    message: str
    kind: FailureKind | None = None
    hint: str = ""
    failed_step: str | None = None
    thread_name: str = ""
    native_thread_id: int = 0
    thread_selection: str | None = None
    exc_type: str = ""
    exc_message: str = ""
    traceback: str = ""
    elapsed_ms: float = 0.0
    steps_ms: Mapping[str, float] = field(default_factory=dict)
    detail: Mapping[str, object] = field(default_factory=dict)  # the outcome's whole result

    @classmethod
    def from_outcome(cls, outcome: Outcome) -> ExecResult:
        r = outcome.result  # a failure's holds its error's free-form detail: every value is checked
        tid, selection, steps = r.get("native_thread_id"), r.get("thread_selection"), r.get("steps_ms")
        return cls(
            ok=outcome.ok, ran=bool(r.get("ran")), message=outcome.message, kind=outcome.kind,
            hint=outcome.hint, failed_step=outcome.failed_step, thread_name=str(r.get("thread_name", "")),
            native_thread_id=tid if isinstance(tid, int) else 0,
            thread_selection=selection if isinstance(selection, str) else None,
            exc_type=str(r.get("exc_type", "")), exc_message=str(r.get("exc_message", "")),
            traceback=str(r.get("traceback", "")), elapsed_ms=outcome.elapsed_ms,
            steps_ms=dict(steps) if isinstance(steps, dict) else {}, detail=dict(r),
        )


def exec_and_wait(
    pid: int,
    script: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    *,
    timeout: float = 10.0,
    method: Method = Method.SAFE,
    cancel: CancelToken | None = None,
    log: AttemptLog | None = None,
) -> ExecResult:
    """Run `script` (a path as the caller sees it) in `pid` and wait, bounded, for the confirmation."""
    from core.attach import run_attach

    path = os.fsdecode(_as_path(script))
    request = AttachRequest(pid=pid, script=path, timeout=timeout, method=method)
    outcome = None
    for event in run_attach(request, cancel or CancelToken(), log=log):
        if isinstance(event, Outcome):
            outcome = event
    assert outcome is not None  # run_attach always ends with an Outcome
    return ExecResult.from_outcome(outcome)
