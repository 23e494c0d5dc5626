"""ptrace-level access to a target (uid, CAP_SYS_PTRACE, Yama, an existing tracer, dumpable) and namespaces.

Safe attach needs the kernel's ptrace *access* check (process_vm_readv/writev); the legacy ptrace injector
also needs to *attach* (PTRACE_SEIZE), which an existing tracer or Yama can refuse on their own.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.doctor.model import Finding, Status
from core.errors import FailureKind
from core.procfs import has_cap_sys_ptrace, same_namespace, same_root, status_field, user_name

CAP_FIX = ("grant only the debugger CAP_SYS_PTRACE (`setcap cap_sys_ptrace+ep` on a dedicated copy, or "
           "`--cap-add=SYS_PTRACE` for a container) instead of running it as root")


def _yama_scope() -> str | None:
    try:
        return Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip()
    except OSError:
        return None


def _is_ancestor(pid: int) -> bool:
    """Whether we are an ancestor of `pid` (Yama scope 1 lets ancestors trace without a capability)."""
    me, current = os.getpid(), pid
    for _ in range(64):
        ppid_text = status_field(current, "PPid")
        if ppid_text is None or not ppid_text.isdigit():
            return False
        current = int(ppid_text)
        if current == me:
            return True
        if current <= 1:
            return False
    return False


def access_findings(pid: int) -> list[Finding]:
    out: list[Finding] = []
    privileged = has_cap_sys_ptrace()
    uid_line = status_field(pid, "Uid")
    target_uid = int(uid_line.split()[1]) if uid_line else None
    my_uid = os.geteuid()
    if target_uid is None:
        out.append(Finding("ptrace.uid", Status.WARN, "the target's uid could not be read"))
    elif target_uid == my_uid or privileged:
        how = "the same uid" if target_uid == my_uid else "CAP_SYS_PTRACE"
        out.append(Finding("ptrace.uid", Status.OK, f"the target runs as {user_name(target_uid)} (uid {target_uid});"
                                                    f" you are uid {my_uid} with {how}"))
    else:
        out.append(Finding(
            "ptrace.uid", Status.FAIL,
            f"the target runs as {user_name(target_uid)} (uid {target_uid}) and you are uid {my_uid} without "
            "CAP_SYS_PTRACE",
            (f"run safeattach as {user_name(target_uid)} (e.g. `sudo -u {user_name(target_uid)} safeattach ...`)",
             CAP_FIX, "as a last resort run it as root"),
            FailureKind.OPEN_PROCESS))
    out.append(Finding("ptrace.capability", Status.INFO,
                       f"CAP_SYS_PTRACE is {'in' if privileged else 'not in'} your effective capabilities"))
    scope = _yama_scope()
    if scope in (None, "0"):
        out.append(Finding("ptrace.yama", Status.OK, f"kernel.yama.ptrace_scope = {scope or 'absent'}"))
    elif scope == "1" and (privileged or _is_ancestor(pid)):
        out.append(Finding("ptrace.yama", Status.OK, "kernel.yama.ptrace_scope = 1, and you "
                           + ("have CAP_SYS_PTRACE" if privileged else "are an ancestor of the target")))
    elif scope == "1":
        out.append(Finding(
            "ptrace.yama", Status.FAIL, "kernel.yama.ptrace_scope = 1: only an ancestor of the target or a "
            "holder of CAP_SYS_PTRACE may read or trace it",
            ("start the target from the debugger's session (an ancestor may trace it)",
             "or let the target allow you: prctl(PR_SET_PTRACER, <debugger pid>) in the target",
             CAP_FIX, "system-wide, last: `sysctl kernel.yama.ptrace_scope=0`"),
            FailureKind.OPEN_PROCESS))
    elif scope == "2" and privileged:
        out.append(Finding("ptrace.yama", Status.OK, "kernel.yama.ptrace_scope = 2 and you have CAP_SYS_PTRACE"))
    else:
        fixes = (CAP_FIX,) if scope == "2" else ("ptrace_scope 3 cannot be lowered until reboot",)
        out.append(Finding("ptrace.yama", Status.FAIL, f"kernel.yama.ptrace_scope = {scope}: attaching is "
                           + ("reserved to CAP_SYS_PTRACE" if scope == "2" else "disabled"),
                           fixes, FailureKind.OPEN_PROCESS))
    tracer = status_field(pid, "TracerPid")
    if tracer not in (None, "0"):
        try:
            comm = Path(f"/proc/{tracer}/comm").read_text().strip()
        except OSError:
            comm = "?"
        out.append(Finding(
            "ptrace.tracer", Status.WARN, f"the target is already traced by PID {tracer} ({comm}); a process has "
            "one tracer at most, so the legacy injector cannot attach (safe attach is unaffected)",
            (f"detach the other tool (PID {tracer}) first, e.g. quit that debugger or strace",),
            FailureKind.PTRACE_DENIED, affects="legacy"))
    else:
        out.append(Finding("ptrace.tracer", Status.OK, "no other tracer is attached"))
    out.append(_dumpable(pid, target_uid))
    return out


def _dumpable(pid: int, target_uid: int | None) -> Finding:
    # the kernel makes /proc/PID/* owned by root when a process is not dumpable (setuid, prctl(PR_SET_DUMPABLE))
    try:
        owner = os.stat(f"/proc/{pid}/mem").st_uid
    except OSError:
        return Finding("ptrace.dumpable", Status.INFO, "whether the target is dumpable could not be read")
    if target_uid not in (None, 0) and owner == 0:
        return Finding(
            "ptrace.dumpable", Status.WARN, "the target is not dumpable (setuid/setgid, or it called "
            "prctl(PR_SET_DUMPABLE, 0)): only CAP_SYS_PTRACE may read it",
            ("have the target call prctl(PR_SET_DUMPABLE, 1), or do not run it setuid", CAP_FIX),
            FailureKind.OPEN_PROCESS)
    return Finding("ptrace.dumpable", Status.OK, "the target is dumpable")


def namespace_findings(pid: int) -> list[Finding]:
    out: list[Finding] = []
    mnt, root = same_namespace(pid, "mnt"), same_root(pid)
    if mnt is False or root is False:
        where = "another mount namespace (container)" if mnt is False else "another filesystem root (chroot)"
        out.append(Finding("namespace.mount", Status.INFO, f"the target lives in {where}: its files are read "
                           "through /proc/PID/root and map_files, and scripts are copied into its view"))
    else:
        out.append(Finding("namespace.mount", Status.OK, "same mount namespace and root as you"))
    pid_ns = same_namespace(pid, "pid")
    out.append(Finding("namespace.pid", Status.INFO if pid_ns is False else Status.OK,
                       "the target is in another PID namespace: it knows itself under another PID"
                       if pid_ns is False else "same PID namespace"))
    net = same_namespace(pid, "net")
    if net is False:
        out.append(Finding("namespace.net", Status.INFO, "the target is in another network namespace: `attach` "
                           "bridges its debugpy server into yours (127.0.0.1 there is not 127.0.0.1 here)",
                           affects="all"))
    else:
        out.append(Finding("namespace.net", Status.OK, "same network namespace"))
    return out
