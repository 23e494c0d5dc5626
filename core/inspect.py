"""Presentation records for the front ends: `ps` rows and `info` reports."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from core.errors import FailureKind, SafeAttachError
from core.model import InterpreterInfo, ProcessReport, ProcessSummary
from core.procfs import MapEntry, cmdline, exe_path, read_maps, same_namespace, start_time_of, user_name
from core.runtime import cheap_probe, file_mappings
from core.target import Target, main_interpreter, open_target


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


def list_python_processes(pids: Iterable[int] | None = None) -> list[ProcessSummary]:
    """Every Python process visible to us; ones we cannot read appear with the reason."""
    import psutil  # only `ps` walks every process; `info` needs none of it

    own = os.getpid()
    rows: list[ProcessSummary] = []
    for proc in psutil.process_iter(["pid", "username", "uids", "cmdline", "create_time", "name"]):
        pid = int(proc.info["pid"])
        if pid == own or (pids is not None and pid not in pids):
            continue
        cmd = " ".join(proc.info.get("cmdline") or [])
        uids = proc.info.get("uids")
        uid = int(uids.real) if uids else -1
        user = str(proc.info.get("username") or uid)
        start = float(proc.info.get("create_time") or 0.0)
        try:
            maps = read_maps(pid)
            if not _looks_like_python(pid, maps):
                continue
            with open_target(pid, maps) as target:
                rows.append(_summary(target, user, start, cmd, target.interpreters()))
        except SafeAttachError as exc:
            if exc.kind in (FailureKind.NOT_PYTHON, FailureKind.NO_SUCH_PROCESS, FailureKind.PROCESS_EXITED):
                continue
            if exc.kind is FailureKind.OPEN_PROCESS and "python" not in (proc.info.get("name") or "") + cmd:
                continue  # unreadable and nothing suggests Python
            rows.append(ProcessSummary(
                pid=pid, user=user, uid=uid, cmdline=cmd, start_time=start, version=None, build=None,
                pep768_capable=False, remote_debug_enabled=None,
                container=not bool(same_namespace(pid, "mnt")), error=exc.message, error_kind=exc.kind.value,
            ))
    rows.sort(key=lambda r: r.pid)
    return rows
