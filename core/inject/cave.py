"""A home for the stub in the target: the unused tail of an executable segment's last page.

A PT_LOAD segment with execute permission ends somewhere inside its last page; the rest of that page is
mapped executable but belongs to no section (nothing jumps or reads there). Writing the stub there through
/proc/PID/mem (as a tracer may, FOLL_FORCE) gives that one page a private copy: no new mapping, no mmap
call in the target, and since the code is constant, later injections find it and write nothing.
"""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING

from core.elf_headers import first_load, load_segments
from core.errors import FailureKind, SafeAttachError
from core.procfs import MapEntry, read_maps
from core.records import dataclass
from core.runtime import _open_mapped, _stat_key

if TYPE_CHECKING:
    from collections.abc import Iterator

PAGE = 4096


@dataclass(frozen=True)
class Cave:
    path: str  # the file whose segment tail holds it, as the target sees it
    address: int
    size: int


_PF_X = 1
# per file (dev, inode, size, mtime): its executable segments' ends (p_vaddr + p_memsz), first load, ET_DYN
_tails_cache: dict[tuple[int, int, int, int], tuple[list[int], int, bool]] = {}


def _segment_ends(stream: IO[bytes]) -> tuple[list[int], int, bool] | None:
    found = load_segments(stream)
    first = first_load(stream)
    if found is None or first is None or not found[0]:
        return None
    return [seg.vaddr + seg.memsz for seg in found[0] if seg.flags & _PF_X], first[0], first[1]


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
            parsed = _segment_ends(stream)
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
