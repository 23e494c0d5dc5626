"""Turn what gdb printed into the failure taxonomy, with hints that say why."""

from __future__ import annotations

from core.errors import FailureKind, SafeAttachError
from core.procfs import access_reason


def ptrace_hint(pid: int) -> str:
    """Name the likely reason ptrace was refused, from what this process can see."""
    return f"ptrace was denied: {access_reason(pid)}. Run as the target's user or as root with CAP_SYS_PTRACE."


def attach_error(pid: int, message: str) -> SafeAttachError:
    """Classify gdb's answer to -target-attach."""
    low = message.lower()
    detail = {"pid": pid, "gdb": message}
    if "no such process" in low:
        return SafeAttachError(FailureKind.NO_SUCH_PROCESS, f"Process {pid} does not exist", detail=detail)
    if "operation not permitted" in low or "permission denied" in low or "eperm" in low:
        return SafeAttachError(
            FailureKind.PTRACE_DENIED, f"gdb could not attach to process {pid}: {message}",
            hint=ptrace_hint(pid), detail=detail,
        )
    return SafeAttachError(FailureKind.INJECT_FAILED, f"gdb could not attach to process {pid}: {message}",
                           detail=detail)


def symbol_error(pid: int, symbol: str, message: str) -> SafeAttachError:
    return SafeAttachError(
        FailureKind.SYMBOL_NOT_FOUND,
        f"Process {pid} has no CPython symbol {symbol} (not a Python process, or a stripped embedding)",
        hint="Legacy injection needs the exported CPython C API (PyRun_SimpleString, PyGILState_Ensure) in the "
        "executable or in a mapped libpython; pick a Python process from `safeattach ps`.",
        detail={"pid": pid, "symbol": symbol, "gdb": message},
    )


def gdb_missing(path: str | None) -> SafeAttachError:
    where = f"gdb was not found at {path}" if path else "gdb was not found on PATH"
    return SafeAttachError(FailureKind.GDB_MISSING, where, detail={"gdb": path or ""})
