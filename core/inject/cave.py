"""A home for the stub in the target: the unused tail of an executable segment's last page.

A PT_LOAD segment with execute permission ends somewhere inside its last page; the rest of that page is
mapped executable but belongs to no section (nothing jumps or reads there). Writing the stub there through
/proc/PID/mem (as a tracer may, FOLL_FORCE) gives that one page a private copy: no new mapping, no mmap
call in the target, and since the code is constant, later injections find it and write nothing.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from core.errors import FailureKind, SafeAttachError
from core.procfs import MapEntry, read_maps
from core.runtime import _open_mapped, _stat_key

PAGE = 4096


@dataclass(frozen=True)
class Cave:
    path: str  # the file whose segment tail holds it, as the target sees it
    address: int
    size: int


_ELF64_LE = b"\x7fELF\x02\x01"
_PT_LOAD, _PF_X, _ET_DYN = 1, 1, 3
# per file (dev, inode, size, mtime): its executable segments' (p_vaddr + p_memsz), first PT_LOAD vaddr, ET_DYN
_tails_cache: dict[tuple[int, int, int, int], tuple[list[int], int, bool]] = {}


def _segment_ends(stream: IO[bytes]) -> tuple[list[int], int, bool] | None:
    """Read just the ELF program headers (pyelftools would parse every section header first)."""
    head = stream.read(64)
    if len(head) < 64 or not head.startswith(_ELF64_LE):
        return None
    e_type = struct.unpack_from("<H", head, 16)[0]
    phoff, = struct.unpack_from("<Q", head, 32)
    phentsize, phnum = struct.unpack_from("<HH", head, 54)
    if phentsize < 56 or not 0 < phnum < 256:
        return None
    stream.seek(phoff)
    table = stream.read(phentsize * phnum)
    ends, first = [], None
    for i in range(phnum):
        if len(table) < (i + 1) * phentsize:
            return None
        p_type, p_flags, _off, p_vaddr, _paddr, _filesz, p_memsz, _align = struct.unpack_from(
            "<IIQQQQQQ", table, i * phentsize)
        if p_type != _PT_LOAD:
            continue
        if first is None:
            first = p_vaddr & ~(PAGE - 1)
        if p_flags & _PF_X:
            ends.append(p_vaddr + p_memsz)
    return (ends, first, e_type == _ET_DYN) if first is not None else None


def _exec_tails(pid: int, group: list[MapEntry]) -> list[Cave]:
    """Slack after each executable PT_LOAD of the file behind `group` (its mappings, address order)."""
    try:
        stream, _ = _open_mapped(pid, group[0])
    except OSError:
        return []
    with stream:
        key = _stat_key(os.fstat(stream.fileno()))
        parsed = _tails_cache.get(key)
        if parsed is None:
            try:
                parsed = _segment_ends(stream)
            except (OSError, struct.error):
                parsed = None
            if parsed is None:
                return []
            _tails_cache[key] = parsed
    ends, first_vaddr, dyn = parsed
    base = min((e.start for e in group if e.offset == 0), default=group[0].start)
    bias = base - first_vaddr if dyn else 0
    caves = []
    for seg_end in ends:
        end = bias + seg_end
        start = (end + 15) & ~15
        page_end = (end + PAGE - 1) & ~(PAGE - 1)
        mapped = any(e.start <= end and page_end <= e.end and "x" in e.perms for e in group)
        if mapped and page_end - start >= 32:
            caves.append(Cave(group[0].path, start, page_end - start))
    return caves


def find_caves(pid: int, prefer: str | None = None) -> Iterator[Cave]:
    """Candidate caves, lazily: the CPython binary (`prefer`) first, then the C library, then any other file."""
    groups: dict[str, list[MapEntry]] = {}
    for entry in read_maps(pid):
        if entry.is_file and not entry.deleted:
            groups.setdefault(entry.path, []).append(entry)

    def rank(path: str) -> int:
        name = os.path.basename(path)
        if path == prefer:
            return 0
        if name.startswith("libc.so") or name.startswith("libc-"):
            return 1
        return 2

    for path in sorted(groups, key=rank):
        group = groups[path]
        if any("x" in e.perms for e in group):
            yield from _exec_tails(pid, group)


class StubPlacer:
    """Writes through /proc/PID/mem, the only way into a read-only page short of mprotect in the target."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fd = os.open(f"/proc/{pid}/mem", os.O_RDWR | os.O_CLOEXEC)

    def close(self) -> None:
        os.close(self._fd)

    def read(self, address: int, size: int) -> bytes:
        return os.pread(self._fd, size, address)

    def write(self, address: int, data: bytes) -> None:
        if os.pwrite(self._fd, data, address) != len(data):
            raise OSError(f"short write at 0x{address:x}")

    def place(self, image: bytes, extra: int, prefer: str | None) -> int:
        """The address of `image` in the target (an existing copy, or a fresh one), with `extra` bytes of room
        after it for a string."""
        need = len(image) + extra
        fitting = []
        for cave in find_caves(self.pid, prefer):  # a copy we placed earlier: reuse it, write nothing
            if cave.size < need:
                continue
            try:
                if self.read(cave.address, len(image)) == image:
                    return cave.address
            except OSError:
                continue
            fitting.append(cave)
            if len(fitting) >= 4:
                break  # our copy, if any, sits in one of the first fitting caves
        for cave in fitting:
            try:
                current = self.read(cave.address, need)
            except OSError:
                continue
            if current.strip(b"\0"):  # not padding after all (another tool's code?): leave it alone
                continue
            try:
                self.write(cave.address, image)
            except OSError:
                continue
            return cave.address
        raise SafeAttachError(
            FailureKind.INJECT_FAILED,
            f"no room for the {len(image)}-byte call stub in any executable mapping of process {self.pid}",
            hint="Nothing was changed in the target. This is unusual; `safeattach log --json` has the detail.",
            detail={"pid": self.pid, "needed": need},
        )
