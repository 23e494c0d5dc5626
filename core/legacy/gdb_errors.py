"""Turn what gdb printed into the failure taxonomy, with hints that say why."""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import FailureKind, SafeAttachError

_CAP_SYS_PTRACE = 19


def _status_field(pid: int | str, name: str) -> str | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _has_cap_sys_ptrace() -> bool:
    cap = _status_field("self", "CapEff")
    try:
        return cap is not None and bool(int(cap, 16) >> _CAP_SYS_PTRACE & 1)
    except ValueError:
        return False


def _ptrace_scope() -> str | None:
    try:
        return Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip()
    except OSError:
        return None


def ptrace_hint(pid: int) -> str:
    """Name the likely reason ptrace was refused, from what this process can see."""
    reasons: list[str] = []
    tracer = _status_field(pid, "TracerPid")
    if tracer not in (None, "0"):
        try:
            comm = Path(f"/proc/{tracer}/comm").read_text().strip()
        except OSError:
            comm = "?"
        reasons.append(f"the process is already traced by PID {tracer} ({comm}); only one tracer is allowed")
    uid_line = _status_field(pid, "Uid")
    target_uid = int(uid_line.split()[1]) if uid_line else None
    my_uid = os.geteuid()
    privileged = _has_cap_sys_ptrace()
    if target_uid is not None and target_uid != my_uid and not privileged:
        reasons.append(f"the target runs as uid {target_uid} and you are uid {my_uid} without CAP_SYS_PTRACE")
    scope = _ptrace_scope()
    if scope is not None and scope != "0":
        meaning = {
            "1": "only a parent may trace its children unless you have CAP_SYS_PTRACE",
            "2": "only processes with CAP_SYS_PTRACE may attach",
            "3": "attaching is disabled until reboot",
        }.get(scope, "ptrace is restricted")
        reasons.append(f"kernel.yama.ptrace_scope = {scope}: {meaning}")
    if not privileged and not reasons:
        reasons.append("you lack CAP_SYS_PTRACE (containers often drop it: run with --cap-add=SYS_PTRACE)")
    if not reasons:
        reasons.append("a security module (seccomp, SELinux, AppArmor) or a non-dumpable target may forbid it")
    return "ptrace was denied: " + "; ".join(reasons) + ". Run as the target's user or as root with CAP_SYS_PTRACE."


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
