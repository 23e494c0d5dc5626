"""The `_asyncio` extension's own debug table (`.AsyncioDebug`, 3.14+): where tasks keep name, coroutine,
awaiters and list node, and where thread and interpreter states keep their task lists.

CPython emits `_Py_AsyncioModuleDebugOffsets` (Modules/_asynciomodule.c) into an ELF section of its own:
in `lib-dynload/_asyncio.cpython-3XX-*.so` when the module is a shared extension (Debian 3.14), in the
executable or libpython when it is built in (Debian 3.15). 13 u64 in 3.14 and 3.15 (0x68 bytes).
The table is target memory like any other: every field is checked before a walker trusts it.
"""

from __future__ import annotations

import os
import struct
import threading

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from core.errors import FailureKind, SafeAttachError
from core.memory import ProcessMemory
from core.procfs import MapEntry
from core.records import dataclass
from core.runtime import _open_mapped, file_mappings

SECTION = ".AsyncioDebug"
TABLE_SIZE = 13 * 8  # 0x68 in 3.14 and 3.15
MAX_TASK_SIZE = 4096  # sizeof(TaskObj) is 168 in 3.14/3.15; a larger claim is not a real table
MAX_STATE_SIZE = 1 << 20  # sizeof(PyInterpreterState) is ~226 KB, _PyThreadStateImpl ~1 KB


@dataclass(frozen=True)
class AsyncioOffsets:
    task_size: int
    task_name: int
    task_awaited_by: int
    task_is_task: int  # char
    task_awaited_by_is_set: int  # char
    task_coro: int
    task_node: int  # struct llist_node (next, prev) inside TaskObj
    interp_size: int
    interp_tasks_head: int  # PyInterpreterState: tasks of threads that have gone
    tstate_size: int
    tstate_running_loop: int
    tstate_running_task: int
    tstate_tasks_head: int  # _PyThreadStateImpl: the thread's tasks (a list head node)


@dataclass(frozen=True)
class AsyncioTable:
    offsets: AsyncioOffsets
    address: int  # where the table sits in the target
    binary: str  # the file that holds it, as the target sees it


def parse_asyncio_offsets(raw: bytes) -> AsyncioOffsets:
    """Decode and check the table; `SafeAttachError(parse)` when it is not plausible."""
    if len(raw) < TABLE_SIZE:
        raise SafeAttachError(FailureKind.PARSE, f"the {SECTION} table is {len(raw)} bytes, expected {TABLE_SIZE}")
    off = AsyncioOffsets(*struct.unpack_from("<13Q", raw))
    problems = []
    if not 64 <= off.task_size <= MAX_TASK_SIZE:
        problems.append(f"sizeof(TaskObj) {off.task_size}")
    for name, at, width in (("task_name", off.task_name, 8), ("task_awaited_by", off.task_awaited_by, 8),
                            ("task_is_task", off.task_is_task, 1),
                            ("task_awaited_by_is_set", off.task_awaited_by_is_set, 1),
                            ("task_coro", off.task_coro, 8), ("task_node", off.task_node, 16)):
        if at < 16 or at + width > off.task_size or (width > 1 and at % 8):
            problems.append(f"{name} at {at} in a {off.task_size}-byte task")
    for name, size, fields in (
        ("interpreter state", off.interp_size, (off.interp_tasks_head,)),
        ("thread state", off.tstate_size, (off.tstate_running_loop, off.tstate_running_task,
                                           off.tstate_tasks_head)),
    ):
        if not 64 <= size <= MAX_STATE_SIZE:
            problems.append(f"{name} size {size}")
        problems.extend(f"{name} field at {at}" for at in fields if at % 8 or at + 16 > size)
    if problems:
        raise SafeAttachError(FailureKind.PARSE, f"implausible {SECTION} table: " + "; ".join(problems))
    return off


_Section = tuple[int, bool, int] | None
_section_cache: dict[tuple[int, int, int, int], _Section] = {}
_cache_lock = threading.Lock()


def _section(pid: int, group: list[MapEntry]) -> _Section:
    """(section vaddr, pie_or_shared, first PT_LOAD vaddr) of the file behind `group`, None without one.
    Cached per file (device, inode, size, mtime): the console asks again on every refresh."""
    try:
        stream, _ = _open_mapped(pid, group[0])
    except OSError:
        return None
    with stream:
        st = os.fstat(stream.fileno())
        key = (st.st_dev, st.st_ino, st.st_size, int(st.st_mtime_ns))
        with _cache_lock:
            if key in _section_cache:
                return _section_cache[key]
        found: _Section = None
        try:
            elf = ELFFile(stream)
            section = elf.get_section_by_name(SECTION)
            if section is not None:
                loads = [seg["p_vaddr"] for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]
                found = int(section["sh_addr"]), elf["e_type"] == "ET_DYN", min(loads, default=0)
        except (ELFError, ValueError, OSError, KeyError, struct.error):
            found = None
        with _cache_lock:
            _section_cache[key] = found
        return found


def candidate_groups(maps: list[MapEntry], runtime_binary: str | None) -> list[list[MapEntry]]:
    """The `_asyncio` extension first, then the file that holds the runtime (a built-in `_asyncio`)."""
    groups = file_mappings(maps)
    ordered = [g for path, g in groups.items() if os.path.basename(path).startswith("_asyncio.")]
    if runtime_binary is not None and runtime_binary in groups:
        ordered.append(groups[runtime_binary])
    return ordered


def locate_asyncio_table(pid: int, mem: ProcessMemory, maps: list[MapEntry],
                         runtime_binary: str | None) -> AsyncioTable | None:
    """Find, read and check the target's `.AsyncioDebug` table; None when no mapped file has one."""
    for group in candidate_groups(maps, runtime_binary):
        found = _section(pid, group)
        if found is None:
            continue
        vaddr, relocatable, first_load = found
        base = min((e for e in group if e.offset == 0), key=lambda e: e.start, default=group[0])
        address = vaddr + (base.start - first_load if relocatable else 0)
        offsets = parse_asyncio_offsets(mem.read(address, TABLE_SIZE))
        return AsyncioTable(offsets, address, group[0].path)
    return None
