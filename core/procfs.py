"""What /proc says about a process: identity, state, mappings, namespaces, threads."""

from __future__ import annotations

import errno
import os
import pwd

from core.errors import FailureKind, SafeAttachError
from core.records import dataclass

DELETED_SUFFIX = " (deleted)"


def read_bytes(path: str) -> bytes:
    """A whole /proc file (unbuffered: one read per page, no text layer; pathlib is not imported for this)."""
    with open(path, "rb", buffering=0) as f:
        return f.readall()


def read_text(path: str, errors: str = "strict") -> str:
    return read_bytes(path).decode("utf-8", errors)

# x86_64 syscall numbers worth naming when a thread is parked in one
SYSCALL_NAMES = {
    0: "read", 7: "poll", 23: "select", 35: "nanosleep", 45: "recvfrom", 47: "recvmsg", 61: "wait4",
    202: "futex", 230: "clock_nanosleep", 232: "epoll_wait", 270: "pselect6", 271: "ppoll",
    281: "epoll_pwait", 288: "accept4", 43: "accept", 34: "pause", 247: "waitid", 441: "epoll_pwait2",
}


@dataclass(frozen=True)
class MapEntry:
    start: int
    end: int
    perms: str
    offset: int
    inode: int
    path: str  # as printed by the kernel, " (deleted)" stripped
    deleted: bool

    @property
    def readable(self) -> bool:
        return self.perms[0] == "r"

    @property
    def writable(self) -> bool:
        return self.perms[1] == "w"

    @property
    def is_file(self) -> bool:
        return self.inode != 0 and self.path.startswith("/")


@dataclass(frozen=True)
class ProcStat:
    state: str  # R, S, D, Z, T, t, X, I
    ppid: int
    start_ticks: int  # field 22: a stable identity together with the pid
    flags: int = 0  # field 9: the kernel's PF_* task flags

    @property
    def exiting(self) -> bool:
        """Dying (PF_EXITING: its memory may already be gone while the state still says R or D) or dead."""
        return bool(self.flags & PF_EXITING) or self.state in ("Z", "X")


PF_EXITING = 0x4  # include/linux/sched.h


def _no_such(pid: int) -> SafeAttachError:
    return SafeAttachError(FailureKind.NO_SUCH_PROCESS, f"no process with PID {pid}")


def _os_error(pid: int, exc: OSError, what: str) -> SafeAttachError:
    if exc.errno in (errno.ENOENT, errno.ESRCH):
        return _no_such(pid)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return SafeAttachError(
            FailureKind.OPEN_PROCESS,
            f"permission denied reading {what} of process {pid}: {access_reason(pid)}",
        )
    return SafeAttachError(FailureKind.OPEN_PROCESS, f"cannot read {what} of process {pid}: {exc.strerror}")


def check_pid(pid: int) -> None:
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or pid > 4194304:
        raise SafeAttachError(FailureKind.NO_SUCH_PROCESS, f"{pid!r} is not a valid PID")


def read_stat(pid: int, tid: int | None = None) -> ProcStat:
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        raw = read_bytes(path)
    except OSError as exc:
        raise _os_error(pid, exc, "stat") from None
    # comm may contain spaces and parentheses: split after the last ')'
    rest = raw[raw.rfind(b")") + 2 :].split()
    return ProcStat(state=rest[0].decode(), ppid=int(rest[1]), start_ticks=int(rest[19]), flags=int(rest[6]))


def gone_or_exiting(pid: int, start_ticks: int) -> bool:
    """True when the process with this identity has exited, is exiting, or the pid now names another one."""
    try:
        st = read_stat(pid)
    except SafeAttachError:
        return True
    return st.start_ticks != start_ticks or st.exiting


def ensure_alive(pid: int) -> ProcStat:
    """The process's stat; a clear error for a nonexistent, zombie or exiting process."""
    check_pid(pid)
    st = read_stat(pid)
    if st.state in ("Z", "X"):
        raise SafeAttachError(
            FailureKind.PROCESS_EXITED,
            f"process {pid} has exited (zombie, not yet reaped by its parent {st.ppid})",
            "Nothing can be attached to an exited process.",
        )
    return st


def start_ticks_of(pid: int) -> int | None:
    """Start time of a live (non-zombie) process, or None: with the pid, a stable identity."""
    try:
        st = read_stat(pid)
    except SafeAttachError:
        return None
    return None if st.state in ("Z", "X") else st.start_ticks


def boot_time() -> float:
    """Seconds since the epoch at boot (`btime` in /proc/stat), as psutil reads it."""
    with open("/proc/stat", "rb") as f:
        for line in f:
            if line.startswith(b"btime "):
                return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def start_time_of(pid: int) -> float:
    """When the process started, in seconds since the epoch: psutil's `create_time()`, without psutil
    (boot time + start ticks / clock ticks per second); 0.0 when unknown."""
    try:
        return read_stat(pid).start_ticks / os.sysconf("SC_CLK_TCK") + boot_time()
    except (SafeAttachError, OSError, ValueError):
        return 0.0


def read_maps(pid: int) -> list[MapEntry]:
    try:
        text = read_text(f"/proc/{pid}/maps", "surrogateescape")
    except OSError as exc:
        raise _os_error(pid, exc, "the memory map") from None
    entries: list[MapEntry] = []
    append, new = entries.append, object.__new__
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        start, _, end = parts[0].partition("-")
        path = parts[5] if len(parts) > 5 else ""
        deleted = path.endswith(DELETED_SUFFIX)
        if deleted:
            path = path[: -len(DELETED_SUFFIX)]
        # every field, by name, without MapEntry's checking __init__: a listing of 200 processes makes ~20,000
        # entries, and the call was a third of the parse (82 -> 59 ms for 267 processes)
        entry = new(MapEntry)
        entry.__dict__.update({"start": int(start, 16), "end": int(end, 16), "perms": parts[1],
                               "offset": int(parts[2], 16), "inode": int(parts[4]), "path": path, "deleted": deleted})
        append(entry)
    return entries


def uid_of(pid: int) -> tuple[int, int]:
    """(real uid, real gid) of the process."""
    try:
        st = os.stat(f"/proc/{pid}")
    except OSError as exc:
        raise _os_error(pid, exc, "the owner") from None
    return st.st_uid, st.st_gid


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _ns_inode(pid: int | str, ns: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/{ns}").st_ino
    except OSError:
        return None


def same_namespace(pid: int, ns: str) -> bool | None:
    """Whether the process shares our namespace of kind `ns` ("mnt", "net", "pid"); None if unknown."""
    theirs, ours = _ns_inode(pid, ns), _ns_inode("self", ns)
    if theirs is None or ours is None:
        return None
    return theirs == ours


def same_root(pid: int) -> bool | None:
    """Whether the process sees the same filesystem root as we do (not chrooted, not in a container)."""
    try:
        theirs, ours = os.stat(f"/proc/{pid}/root"), os.stat("/")
    except OSError:
        return None
    return (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino)


def thread_ids(pid: int) -> list[int]:
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return []


def thread_os_state(pid: int, tid: int) -> tuple[str, str]:
    """(state letter, detail such as the syscall a thread is parked in); ("?", "") when gone."""
    try:
        state = read_stat(pid, tid).state
    except SafeAttachError:
        return "?", ""
    detail = ""
    try:
        fields = read_text(f"/proc/{pid}/task/{tid}/syscall").split()
        if fields and fields[0].lstrip("-").isdigit() and int(fields[0]) >= 0:
            detail = SYSCALL_NAMES.get(int(fields[0]), f"syscall {fields[0]}")
        elif fields and fields[0] == "running":
            detail = "running"
    except (OSError, ValueError):
        try:
            wchan = read_text(f"/proc/{pid}/task/{tid}/wchan").strip()
            detail = "" if wchan in ("", "0") else wchan
        except OSError:
            pass
    return state, detail


_YAMA_SCOPES = {
    "1": "only a parent may trace its children unless you have CAP_SYS_PTRACE",
    "2": "only processes with CAP_SYS_PTRACE may attach",
    "3": "attaching is disabled until reboot",
}


def status_field(pid: int | str, name: str) -> str | None:
    """One field of /proc/PID/status ("Uid", "TracerPid", "CapEff", ...), or None."""
    try:
        for line in read_text(f"/proc/{pid}/status").splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def access_reason(pid: int) -> str:
    """Why the kernel may refuse us ptrace-level access to `pid`: another tracer, a uid mismatch without
    CAP_SYS_PTRACE, the Yama scope, or (when none applies) a security module or a non-dumpable target."""
    reasons: list[str] = []
    tracer = status_field(pid, "TracerPid")
    if tracer not in (None, "0"):
        try:
            comm = read_text(f"/proc/{tracer}/comm").strip()
        except OSError:
            comm = "?"
        reasons.append(f"the process is already traced by PID {tracer} ({comm}); only one tracer is allowed")
    uid_line = status_field(pid, "Uid")
    target_uid = int(uid_line.split()[1]) if uid_line else None
    my_uid = os.geteuid()
    privileged = has_cap_sys_ptrace()
    if target_uid is not None and target_uid != my_uid and not privileged:
        reasons.append(f"the target runs as {user_name(target_uid)} (uid {target_uid}) and you are uid {my_uid} "
                       "without CAP_SYS_PTRACE")
    try:
        scope: str | None = read_text("/proc/sys/kernel/yama/ptrace_scope").strip()
    except OSError:
        scope = None
    if scope is not None and scope != "0":
        reasons.append(f"kernel.yama.ptrace_scope = {scope}: {_YAMA_SCOPES.get(scope, 'ptrace is restricted')}")
    if not privileged and not reasons:
        reasons.append("you lack CAP_SYS_PTRACE (containers often drop it: run with --cap-add=SYS_PTRACE)")
    if not reasons:
        reasons.append("a security module (seccomp, SELinux, AppArmor) or a non-dumpable target may forbid it")
    return "; ".join(reasons)


def has_cap_sys_ptrace() -> bool:
    cap = status_field("self", "CapEff")
    try:
        return cap is not None and bool(int(cap, 16) >> 19 & 1)
    except ValueError:
        return False


def cmdline(pid: int) -> str:
    try:
        raw = read_bytes(f"/proc/{pid}/cmdline")
    except OSError:
        return ""
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def exe_path(pid: int) -> str:
    try:
        path = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""
    return path[: -len(DELETED_SUFFIX)] if path.endswith(DELETED_SUFFIX) else path
