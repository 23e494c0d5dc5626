"""The few ptrace requests the injector needs, through ctypes (x86_64 Linux).

Only PTRACE_SEIZE/INTERRUPT (no SIGSTOP is ever sent, so the target's job control and its view of signals
stay untouched), GETREGS/SETREGS (general-purpose registers only: the XSAVE area is never read or written,
which is exactly what breaks gdb's inferior calls on AMX hosts) and DETACH. A tracee whose tracer dies is
detached by the kernel and resumes with the registers it was last given, which the injector relies on.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import time

from core.records import dataclass

PTRACE_CONT = 7
PTRACE_GETREGS = 12
PTRACE_SETREGS = 13
PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_EVENT_STOP = 128
WALL = 0x40000000  # __WALL: wait for any child, thread or not (tracees are not our children)

_REG_NAMES = (
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi",
    "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
)


class UserRegs(ctypes.Structure):
    """struct user_regs_struct (sys/user.h), x86_64."""

    _fields_ = [(name, ctypes.c_ulonglong) for name in _REG_NAMES]

    def copy(self) -> UserRegs:
        out = UserRegs()
        ctypes.memmove(ctypes.byref(out), ctypes.byref(self), ctypes.sizeof(UserRegs))
        return out

    def signed(self, name: str) -> int:
        value = int(getattr(self, name))
        return value - (1 << 64) if value >= 1 << 63 else value


# The C library already loaded in this process (as core.memory does): ctypes.util.find_library would run
# ldconfig in a subprocess on every CLI start.
_libc = ctypes.CDLL(None, use_errno=True)
_ptrace = _libc.ptrace
_ptrace.restype = ctypes.c_long
_ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]


class PtraceError(OSError):
    """A ptrace request failed; `errno` says why (EPERM: not allowed or already traced, ESRCH: gone)."""


def _call(request: int, tid: int, addr: int | None = None, data: int | ctypes.c_void_p | None = None) -> int:
    ctypes.set_errno(0)
    res = int(_ptrace(request, tid, addr, data))
    if res == -1:
        err = ctypes.get_errno()
        if err:
            raise PtraceError(err, f"ptrace({request:#x}, {tid}): {os.strerror(err)}")
    return res


def seize(tid: int) -> None:
    _call(PTRACE_SEIZE, tid, 0, 0)


def interrupt(tid: int) -> None:
    _call(PTRACE_INTERRUPT, tid, 0, 0)


def get_regs(tid: int) -> UserRegs:
    regs = UserRegs()
    _call(PTRACE_GETREGS, tid, 0, ctypes.cast(ctypes.byref(regs), ctypes.c_void_p))
    return regs


def set_regs(tid: int, regs: UserRegs) -> None:
    _call(PTRACE_SETREGS, tid, 0, ctypes.cast(ctypes.byref(regs), ctypes.c_void_p))


def cont(tid: int, sig: int = 0) -> None:
    _call(PTRACE_CONT, tid, 0, sig)


def detach(tid: int, sig: int = 0) -> None:
    """Detach, delivering `sig` if a signal was held back. ESRCH (gone, or not stopped) is not an error
    here: the kernel detaches an exiting tracee by itself."""
    try:
        _call(PTRACE_DETACH, tid, 0, sig)
    except PtraceError as exc:
        if exc.errno != errno.ESRCH:
            raise


@dataclass(frozen=True)
class Stop:
    """One ptrace stop as waitpid reported it."""

    status: int

    @property
    def exited(self) -> bool:
        return os.WIFEXITED(self.status) or os.WIFSIGNALED(self.status)

    @property
    def signal(self) -> int:
        return os.WSTOPSIG(self.status) if os.WIFSTOPPED(self.status) else 0

    @property
    def event(self) -> int:
        return (self.status >> 16) & 0xFF

    @property
    def interrupt_stop(self) -> bool:
        """The stop PTRACE_INTERRUPT asked for (not a group-stop of job control, not a signal)."""
        return self.event == PTRACE_EVENT_STOP and self.signal == signal.SIGTRAP

    @property
    def group_stop(self) -> bool:
        return self.event == PTRACE_EVENT_STOP and self.signal in (
            signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU)


def wait_stop(tid: int, deadline: float) -> Stop | None:
    """The next stop of `tid`, or None at the deadline (waitpid has no timeout: poll with WNOHANG)."""
    pause = 0.0002
    while True:
        try:
            got, status = os.waitpid(tid, os.WNOHANG | WALL)
        except ChildProcessError:
            return Stop(0)  # reaped elsewhere or gone: report as exited
        if got == tid:
            return Stop(status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.005)
