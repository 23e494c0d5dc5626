"""Presentation records for the front ends: `ps` rows and `info` reports."""

from __future__ import annotations

import os
import sys

from core.errors import FailureKind, SafeAttachError
from core.model import InterpreterInfo, ProcessReport, ProcessSummary
from core.procfs import (
    MapEntry,
    boot_time,
    cmdline,
    exe_path,
    read_bytes,
    read_maps,
    read_stat,
    same_namespace,
    start_time_of,
    status_field,
    user_name,
)
from core.runtime import cheap_probe, file_mappings
from core.target import Target, main_interpreter, open_target

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


def _summary(target: Target, user: str, start_time: float, cmd: str,
             interps: Sequence[InterpreterInfo]) -> ProcessSummary:
    main = main_interpreter(interps)
    return ProcessSummary(
        pid=target.pid, user=user, uid=target.uid, cmdline=cmd, start_time=start_time,
        version=target.version, build=target.build_flags(), pep768_capable=target.pep768_capable,
        remote_debug_enabled=main.remote_debugging_enabled if main is not None else None,
        container=not target.same_mount_ns or not target.same_root,
    )


def _start_time(pid: int) -> float:
    return start_time_of(pid)  # what psutil's create_time() gives (ps uses psutil), without importing it


def inspect_process(pid: int) -> ProcessReport:
    """Everything the read path knows about one process; SafeAttachError when it cannot be read."""
    with open_target(pid) as target:
        interpreters = tuple(target.interpreters())
        summary = _summary(target, user_name(target.uid), _start_time(pid), cmdline(pid), interpreters)
        notes = []
        loc = target.location
        assert loc is not None
        if loc.deleted:
            notes.append("the runtime's binary was deleted or replaced on disk after the process started")
        if not target.same_mount_ns:
            notes.append("the process lives in another mount namespace (container)")
        elif not target.same_root:
            notes.append("the process runs in another filesystem root (chroot)")
        if target.offsets is None:
            notes.append(f"CPython {target.version} has no _Py_DebugOffsets (added in 3.13)")
        try:
            threads = tuple(target.threads(interpreters))
        except SafeAttachError as exc:
            if exc.kind is FailureKind.PROCESS_EXITED:
                raise
            threads = ()
            notes.append(f"thread walk failed: {exc.message}")
        if target.offsets is None and not threads:
            notes.append("no thread walk for this version (known layouts: 3.9, 3.11, 3.12, 3.13+)")
        return ProcessReport(
            summary=summary, binary=loc.binary, binary_access=loc.binary_access,
            runtime_address=loc.address, runtime_source=loc.source,
            offsets=target.offsets.tree() if target.offsets is not None else None,
            interpreters=interpreters, threads=threads, notes=tuple(notes),
        )


def _looks_like_python(pid: int, maps: list[MapEntry]) -> bool:
    """Cheap filter: a mapped file named *python* or an executable with a .PyRuntime section."""
    groups = file_mappings(maps)
    if any("python" in os.path.basename(path) for path in groups):
        return True
    group = groups.get(exe_path(pid))
    return group is not None and cheap_probe(pid, group[0])


def _pids() -> list[int]:
    return sorted(int(name) for name in os.listdir("/proc") if name.isdigit())


def _ps_cmdline(pid: int) -> str:
    """The command line joined as psutil's cmdline() would give it (NUL-separated, or space-separated after
    a setproctitle), decoded like psutil; "" when unreadable or a zombie."""
    try:
        data = read_bytes(f"/proc/{pid}/cmdline").decode(sys.getfilesystemencoding(), "surrogateescape")
    except OSError:
        return ""
    sep = "\0" if data.endswith("\0") else " "
    return data.removesuffix(sep).replace(sep, " ")


def _comm(pid: int) -> str:
    try:
        return read_bytes(f"/proc/{pid}/comm").decode(errors="replace").rstrip("\n")
    except OSError:
        return ""


class _Identity:
    """What a `ps` row says about a process besides its runtime: user, real uid, start time (psutil's
    definitions, read from /proc: psutil costs more to import than `ps` takes for 200 processes)."""

    def __init__(self) -> None:
        self.users: dict[int, str] = {}
        self.ticks = os.sysconf("SC_CLK_TCK")
        try:
            self.boot = boot_time()
        except OSError:
            self.boot = 0.0

    def of(self, pid: int) -> tuple[str, int, float] | None:
        """(user, uid, start time), or None when the process is gone."""
        uid_line = status_field(pid, "Uid")
        try:
            ticks = read_stat(pid).start_ticks
        except SafeAttachError:
            return None
        if uid_line is None:
            return None
        uid = int(uid_line.split()[0])  # the real uid, as psutil's uids().real
        if uid not in self.users:
            self.users[uid] = user_name(uid)
        return self.users[uid], uid, ticks / self.ticks + self.boot


def list_python_processes(pids: Iterable[int] | None = None) -> list[ProcessSummary]:
    """Every Python process visible to us; ones we cannot read appear with the reason."""
    own = os.getpid()
    wanted = None if pids is None else set(pids)
    identity = _Identity()
    rows: list[ProcessSummary] = []
    for pid in _pids():
        if pid == own or (wanted is not None and pid not in wanted):
            continue
        try:
            maps = read_maps(pid)
            if not _looks_like_python(pid, maps):
                continue
            who = identity.of(pid)
            if who is None:
                continue
            user, _uid, start = who
            with open_target(pid, maps) as target:
                rows.append(_summary(target, user, start, _ps_cmdline(pid), target.interpreters()))
        except SafeAttachError as exc:
            if exc.kind in (FailureKind.NOT_PYTHON, FailureKind.NO_SUCH_PROCESS, FailureKind.PROCESS_EXITED):
                continue
            cmd = _ps_cmdline(pid)
            if exc.kind is FailureKind.OPEN_PROCESS and "python" not in _comm(pid) + cmd:
                continue  # unreadable and nothing suggests Python
            who = identity.of(pid)
            if who is None:
                continue
            user, uid, start = who
            rows.append(ProcessSummary(
                pid=pid, user=user, uid=uid, cmdline=cmd, start_time=start, version=None, build=None,
                pep768_capable=False, remote_debug_enabled=None,
                container=not bool(same_namespace(pid, "mnt")), error=exc.message, error_kind=exc.kind.value,
            ))
    rows.sort(key=lambda r: r.pid)
    return rows
