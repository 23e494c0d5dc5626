"""A home for the stub in the target: the unused tail of an executable segment's last page.

A PT_LOAD segment with execute permission ends somewhere inside its last page; the rest of that page is
mapped executable but belongs to no section (nothing jumps or reads there). Writing the stub there through
/proc/PID/mem (as a tracer may, FOLL_FORCE) gives that one page a private copy: no new mapping, no mmap
call in the target, and since the code is constant, later injections find it and write nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from core.errors import FailureKind, SafeAttachError
from core.procfs import MapEntry, read_maps
from core.runtime import _open_mapped

PAGE = 4096


@dataclass(frozen=True)
class Cave:
    path: str  # the file whose segment tail holds it, as the target sees it
    address: int
    size: int


def _exec_tails(pid: int, group: list[MapEntry]) -> list[Cave]:
    """Slack after each executable PT_LOAD of the file behind `group` (its mappings, address order)."""
    try:
        stream, _ = _open_mapped(pid, group[0])
    except OSError:
        return []
    caves = []
    with stream:
        try:
            elf = ELFFile(stream)
            loads = [seg for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]
            dyn = elf["e_type"] == "ET_DYN"
        except (ELFError, ValueError, OSError):
            return []
    if not loads:
        return []
    first_vaddr = int(loads[0]["p_vaddr"]) & ~(PAGE - 1)
    base = min((e.start for e in group if e.offset == 0), default=group[0].start)
    bias = base - first_vaddr if dyn else 0
    for seg in loads:
        if not int(seg["p_flags"]) & 1:  # PF_X
            continue
        end = bias + int(seg["p_vaddr"]) + int(seg["p_memsz"])
        page_end = (end + PAGE - 1) & ~(PAGE - 1)
        mapped = any(e.start <= end and page_end <= e.end and "x" in e.perms for e in group)
        if mapped and page_end - end >= 32:
            caves.append(Cave(group[0].path, (end + 15) & ~15, page_end - ((end + 15) & ~15)))
    return caves


def find_caves(pid: int, prefer: str | None = None) -> list[Cave]:
    """Candidate caves: the CPython binary (`prefer`) first, then the C library, then any other file."""
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

    caves: list[Cave] = []
    for path in sorted(groups, key=rank):
        group = groups[path]
        if any("x" in e.perms for e in group):
            caves.extend(_exec_tails(pid, group))
    return caves


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
        fitting = [c for c in find_caves(self.pid, prefer) if c.size >= need]
        for cave in fitting:  # a copy we placed earlier: reuse it, write nothing
            try:
                if self.read(cave.address, len(image)) == image:
                    return cave.address
            except OSError:
                continue
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
