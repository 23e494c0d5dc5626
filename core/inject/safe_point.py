"""Where an injected call is safe: threads parked in a blocking system call, read from /proc.

A thread parked in one of the syscalls below entered it from code that waits for the outside world (sleep,
select/poll/epoll, accept/recv, wait4, a read on a pipe/socket/tty). glibc's allocator and the dynamic loader
never park in these calls while they hold their locks, so calling PyGILState_Ensure/PyRun_SimpleString on that
thread cannot re-enter either of them mid-update; the thread normally released the GIL around the wait
(PyGILState_Ensure re-takes it; if it did not, Ensure sees that it already holds it).

futex waits are deliberately NOT treated as parked: the GIL wait, glibc malloc's arena locks and the
loader's lock all park in futex, and telling them apart from a Python-level lock wait needs a full unwind.
Such targets go through the pending-call path instead.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from core.errors import SafeAttachError
from core.procfs import read_stat, thread_ids
from core.records import dataclass

# syscall number -> name, per architecture (the kernel ABI numbers).
_PARKED_SYSCALLS: dict[str, dict[int, str]] = {
    "x86_64": {
        0: "read",
        7: "poll",
        23: "select",
        34: "pause",
        35: "nanosleep",
        43: "accept",
        45: "recvfrom",
        47: "recvmsg",
        61: "wait4",
        128: "rt_sigtimedwait",
        130: "rt_sigsuspend",
        230: "clock_nanosleep",
        232: "epoll_wait",
        247: "waitid",
        270: "pselect6",
        271: "ppoll",
        281: "epoll_pwait",
        288: "accept4",
        441: "epoll_pwait2",
    },
    "aarch64": {
        63: "read",
        73: "ppoll",
        72: "pselect6",
        101: "nanosleep",
        115: "clock_nanosleep",
        133: "rt_sigsuspend",
        137: "rt_sigtimedwait",
        202: "accept",
        207: "recvfrom",
        212: "recvmsg",
        242: "accept4",
        260: "wait4",
        95: "waitid",
        22: "epoll_pwait",
        441: "epoll_pwait2",
    },
}

# First-argument register of the C calling convention, for breakpoint conditions.
ARG0_REGISTER: dict[str, str] = {"x86_64": "$rdi", "aarch64": "$x0"}

# A read() is a wait only on these kinds of file (a read on a regular file is never parked for long).
_WAITABLE_FD_PREFIXES = ("pipe:", "socket:", "anon_inode:", "/dev/pts/", "/dev/tty", "/dev/console")


def machine() -> str:
    return platform.machine()


@dataclass(frozen=True)
class ParkedThread:
    tid: int
    syscall: str
    nr: int  # the syscall number, to check against orig_rax once the thread is stopped


def parked_syscall(pid: int, tid: int, arch: str | None = None) -> str | None:
    """The name of the blocking syscall thread `tid` is parked in, or None (running, or not a safe wait)."""
    found = parked_call(pid, tid, arch)
    return found[0] if found else None


def parked_call(pid: int, tid: int, arch: str | None = None) -> tuple[str, int] | None:
    """(name, number) of the blocking syscall thread `tid` is parked in, or None."""
    table = _PARKED_SYSCALLS.get(arch or machine(), {})
    try:
        fields = Path(f"/proc/{pid}/task/{tid}/syscall").read_text().split()
    except OSError:
        return None
    if not fields or not fields[0].lstrip("-").isdigit():
        return None  # "running"
    name = table.get(int(fields[0]))
    if name == "read":
        try:
            fd = int(fields[1], 16)
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except (OSError, ValueError, IndexError):
            return None
        if not link.startswith(_WAITABLE_FD_PREFIXES):
            return None
    return (name, int(fields[0])) if name is not None else None


def parked_threads(pid: int) -> list[ParkedThread]:
    """Threads parked in a safe blocking syscall, the main thread first. Read while the target is stopped."""
    found = []
    for tid in thread_ids(pid):
        call = parked_call(pid, tid)
        if call is not None:
            found.append(ParkedThread(tid, *call))
    found.sort(key=lambda t: (t.tid != pid, t.tid))
    return found


def process_state(pid: int) -> str | None:
    """The one-letter state from /proc/PID/stat, or None if the process is gone."""
    try:
        return read_stat(pid).state
    except SafeAttachError:
        return None


def is_stopped(state: str | None) -> bool:
    return state in ("t", "T")
