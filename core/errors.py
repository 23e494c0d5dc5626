"""The failure taxonomy: every failure the engine can report, each with a human hint."""

from __future__ import annotations

from core.enums import Enum

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from core.results import ErrorDetail


class FailureKind(str, Enum):
    """Where an attempt failed. Values are the stable names written to the attempt log."""

    # reading the process
    NO_SUCH_PROCESS = "noSuchProcess"
    OPEN_PROCESS = "openProcess"
    PROCESS_EXITED = "processExited"
    NOT_PYTHON = "notPython"
    OFFSETS_RESOLVE = "offsetsResolve"
    PARSE = "parse"
    UNSUPPORTED_VERSION = "unsupportedVersion"
    # safe attach (PEP 768)
    POLICY_DISABLED = "policyDisabled"
    NOT_CAPABLE = "notCapable"
    THREAD_STATE = "threadState"
    SCRIPT_UNREADABLE = "scriptUnreadable"
    WRITE_SCRIPT = "writeScript"
    WRITE_PENDING = "writePending"
    WRITE_BREAKER = "writeBreaker"
    TIMEOUT_RUN = "timeoutRun"
    SCRIPT_FAILED = "scriptFailed"
    TIMEOUT_CONNECT = "timeoutConnect"
    CANCELLED = "cancelled"
    BUSY = "busy"
    STILL_RUNNING = "stillRunning"
    # legacy injection
    GDB_MISSING = "gdbMissing"
    PTRACE_DENIED = "ptraceDenied"
    SYMBOL_NOT_FOUND = "symbolNotFound"
    INJECT_FAILED = "injectFailed"
    TARGET_DIED = "targetDied"
    GDB_UNHEALTHY = "gdbUnhealthy"
    # payloads
    PAYLOAD = "payload"
    INTERNAL = "internal"


DEFAULT_HINTS: dict[FailureKind, str] = {
    FailureKind.NO_SUCH_PROCESS: "Check the PID with `safeattach ps`; the process may have exited.",
    FailureKind.OPEN_PROCESS: "Run as the target's user, or grant CAP_SYS_PTRACE; check kernel.yama.ptrace_scope.",
    FailureKind.PROCESS_EXITED: "The process exited while it was being read; nothing was left behind.",
    FailureKind.NOT_PYTHON: "This process has no CPython runtime mapped; pick a Python process from `safeattach ps`.",
    FailureKind.OFFSETS_RESOLVE: "The CPython runtime could not be located in memory; the binary may be stripped "
    "or unusual. `safeattach info PID` shows what was recognised.",
    FailureKind.PARSE: "The _Py_DebugOffsets table is implausible (corrupted memory or an unknown build); "
    "nothing was written to the target.",
    FailureKind.UNSUPPORTED_VERSION: "This CPython version is not supported by this operation.",
    FailureKind.POLICY_DISABLED: "The target opted out of remote debugging (PYTHON_DISABLE_REMOTE_DEBUG or "
    "-X disable-remote-debug). Restart it without the opt-out to attach.",
    FailureKind.NOT_CAPABLE: "Safe attach needs CPython 3.14+ built with remote debugging; use the legacy method "
    "for older targets.",
    FailureKind.THREAD_STATE: "No usable Python thread state was found in the target.",
    FailureKind.SCRIPT_UNREADABLE: "The target process (its uid and mount namespace) must be able to read the script.",
    FailureKind.WRITE_SCRIPT: "The script path could not be written into the target; nothing was left armed.",
    FailureKind.WRITE_PENDING: "The pending-call flag could not be written; the request was rolled back.",
    FailureKind.WRITE_BREAKER: "The eval-breaker bit could not be set; the request was rolled back.",
    FailureKind.TIMEOUT_RUN: "The target did not reach a safe point in time (a thread blocked in a system call "
    "runs nothing until it returns). The request was cancelled; try again or use a longer --timeout.",
    FailureKind.SCRIPT_FAILED: "The script ran in the target and raised; see the traceback in the result.",
    FailureKind.TIMEOUT_CONNECT: "The payload did not report back in time.",
    FailureKind.CANCELLED: "Cancelled by the user; the request was withdrawn.",
    FailureKind.BUSY: "Another attach, or another debugger's armed request, is in progress in this process; "
    "nothing was written. Retry once it has finished.",
    FailureKind.STILL_RUNNING: "The script started in the target but had not finished when the timeout ran out. "
    "safeattach does not stop code running in a process: it keeps running, and its loader removes its private "
    "directory when it finishes. Use a longer --timeout to wait for its result.",
    FailureKind.GDB_MISSING: "--injector gdb needs gdb: install it (apt-get install gdb), or use the default "
    "ptrace injector, which needs no gdb.",
    FailureKind.PTRACE_DENIED: "ptrace was denied: run as the target's user or root with CAP_SYS_PTRACE, and check "
    "kernel.yama.ptrace_scope.",
    FailureKind.SYMBOL_NOT_FOUND: "The CPython C API symbols legacy injection needs were not found in the target.",
    FailureKind.INJECT_FAILED: "The injected call failed inside the target.",
    FailureKind.TARGET_DIED: "The target died during or after the injection; this is logged and never retried.",
    FailureKind.GDB_UNHEALTHY: "This gdb failed its health probe (an inferior call in a throwaway process of "
    "our own did not return and restore cleanly), so it was not used on the target. Use the default ptrace "
    "injector (--injector ptrace), or another gdb build.",
    FailureKind.PAYLOAD: "The payload started but reported an error.",
    FailureKind.INTERNAL: "An unexpected internal error; please report it with `safeattach log --json`.",
}


class SafeAttachError(Exception):
    """A failure with its taxonomy kind, a one-line message and a human hint."""

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        hint: str | None = None,
        detail: ErrorDetail | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.hint = hint if hint is not None else DEFAULT_HINTS.get(kind, "")
        self.detail: ErrorDetail = dict(detail or {})

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind.value, "message": self.message, "hint": self.hint, "detail": dict(self.detail)}


# Exit codes per kind, shared by every CLI command.
EXIT_CODES: dict[FailureKind, int] = {
    FailureKind.NO_SUCH_PROCESS: 10,
    FailureKind.OPEN_PROCESS: 11,
    FailureKind.PROCESS_EXITED: 12,
    FailureKind.NOT_PYTHON: 13,
    FailureKind.OFFSETS_RESOLVE: 14,
    FailureKind.PARSE: 15,
    FailureKind.UNSUPPORTED_VERSION: 16,
    FailureKind.POLICY_DISABLED: 20,
    FailureKind.NOT_CAPABLE: 21,
    FailureKind.THREAD_STATE: 22,
    FailureKind.SCRIPT_UNREADABLE: 23,
    FailureKind.WRITE_SCRIPT: 24,
    FailureKind.WRITE_PENDING: 25,
    FailureKind.WRITE_BREAKER: 26,
    FailureKind.TIMEOUT_RUN: 27,
    FailureKind.SCRIPT_FAILED: 28,
    FailureKind.TIMEOUT_CONNECT: 29,
    FailureKind.CANCELLED: 30,
    FailureKind.BUSY: 31,
    FailureKind.STILL_RUNNING: 32,
    FailureKind.GDB_MISSING: 40,
    FailureKind.PTRACE_DENIED: 41,
    FailureKind.SYMBOL_NOT_FOUND: 42,
    FailureKind.INJECT_FAILED: 43,
    FailureKind.TARGET_DIED: 44,
    FailureKind.GDB_UNHEALTHY: 45,
    FailureKind.PAYLOAD: 50,
    FailureKind.INTERNAL: 70,
}


def exit_code_for(kind: FailureKind) -> int:
    return EXIT_CODES.get(kind, 1)
