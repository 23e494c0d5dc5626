"""Locating the CPython runtime (`_PyRuntime`) inside a process."""

from __future__ import annotations

import _thread  # threading's Lock, without importing threading on the read path
import os
import stat

from core import elf_cache
from core.elf import ElfFacts, read_elf_facts
from core.elf_headers import build_id, first_load, section_names, sections
from core.errors import FailureKind, SafeAttachError
from core.memory import ProcessMemory
from core.procfs import MapEntry, exe_path, read_maps
from core.records import dataclass

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

COOKIE = b"xdebugpy"
SCAN_LIMIT = 64 * 1024 * 1024  # bytes of writable mappings the cookie scan may read


@dataclass(frozen=True)
class RuntimeLocation:
    address: int
    binary: str  # path of the file that holds the runtime, as the target sees it
    binary_access: str  # "map_files", "root", "direct", "memory-scan"
    source: str  # ".PyRuntime section", "_PyRuntime symbol", "cookie scan"
    facts: ElfFacts | None  # None when found by the cookie scan alone
    is_executable: bool  # the runtime lives in the main executable (not libpython)
    exe_pie: bool
    deleted: bool


_facts_cache: dict[tuple[int, int, int, int], ElfFacts] = {}
_cache_lock = _thread.allocate_lock()


def _open_mapped(pid: int, entry: MapEntry) -> tuple[IO[bytes], str]:
    """Open the file behind a mapping from our side, whatever the target's mount namespace."""
    candidates = [
        (f"/proc/{pid}/map_files/{entry.start:x}-{entry.end:x}", "map_files"),
        (f"/proc/{pid}/root{entry.path}", "root"),
        (entry.path, "direct"),
    ]
    last: OSError | None = None
    for path, how in candidates:
        try:  # the path may be in a directory the target's uid controls: never block on a planted FIFO
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError as exc:
            last = exc
            continue
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (how == "direct" and entry.inode and st.st_ino != entry.inode):
            os.close(fd)  # a different file with the same name (other namespace or replaced)
            continue
        return os.fdopen(fd, "rb"), how
    raise last or FileNotFoundError(entry.path)


def elf_facts_for(pid: int, entry: MapEntry) -> tuple[ElfFacts, str]:
    """The facts of the file behind `entry`: from memory, else from the on-disk cache when the open file
    still has the entry's identity and build-id, else read from the file (and cached both ways)."""
    stream, how = _open_mapped(pid, entry)
    with stream:
        key = _stat_key(os.fstat(stream.fileno()))
        with _cache_lock:
            cached = _facts_cache.get(key)
        if cached is not None:
            return cached, how
        ident = build_id(stream)
        facts = elf_cache.load(key, ident)
        if facts is not None and not _agrees_with_file(facts, stream):
            facts = None  # an entry that disagrees with the file's own headers is never used
        if facts is None:
            facts = read_elf_facts(stream)
            elf_cache.store(key, ident, facts)
        with _cache_lock:
            _facts_cache[key] = facts
        return facts, how


def _agrees_with_file(facts: ElfFacts, stream: IO[bytes]) -> bool:
    """The facts that place the runtime in memory (load bias, `.PyRuntime`) re-read from the file's headers:
    a cached entry must match them before it is used (the rest comes from tables too costly to re-read)."""
    load = first_load(stream)
    found = sections(stream)
    if load is None or found is None:
        return False
    runtime = found.get(".PyRuntime")
    return (load == (facts.first_load_vaddr, facts.pie_or_shared)
            and (facts.pyruntime_vaddr, facts.pyruntime_size) == (runtime if runtime else (None, None)))


_probe_cache: dict[tuple[int, int, int, int], bool] = {}


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, int(st.st_mtime_ns))


def cheap_probe(pid: int, entry: MapEntry) -> bool:
    """Quickly: could this mapped file hold a CPython runtime? (section names only, or a python name).
    Cached per file like the ELF facts, since `ps` asks it of every process on every refresh."""
    if "python" in os.path.basename(entry.path):
        return True
    try:
        stream, _ = _open_mapped(pid, entry)
    except OSError:
        return False
    with stream:
        key = _stat_key(os.fstat(stream.fileno()))
        with _cache_lock:
            cached = _probe_cache.get(key)
        if cached is not None:
            return cached
        names = section_names(stream)
        found = names is not None and ".PyRuntime" in names
        with _cache_lock:
            _probe_cache[key] = found
        return found


def file_mappings(maps: list[MapEntry]) -> dict[str, list[MapEntry]]:
    """Mappings grouped by file path, in address order."""
    out: dict[str, list[MapEntry]] = {}
    for entry in maps:
        if entry.is_file:
            out.setdefault(entry.path, []).append(entry)
    return out


def candidate_files(maps: list[MapEntry], exe: str) -> list[list[MapEntry]]:
    """The executable first, then libpython*."""
    groups = file_mappings(maps)
    ordered: list[list[MapEntry]] = []
    if exe in groups:
        ordered.append(groups[exe])
    for path, group in groups.items():
        base = os.path.basename(path)
        if path != exe and base.startswith("libpython"):
            ordered.append(group)
    return ordered


def _load_bias(group: list[MapEntry], facts: ElfFacts) -> int:
    base = min((e for e in group if e.offset == 0), key=lambda e: e.start, default=group[0])
    return base.start - facts.first_load_vaddr if facts.pie_or_shared else 0


def locate_runtime(pid: int, mem: ProcessMemory, maps: list[MapEntry] | None = None) -> RuntimeLocation:
    maps = read_maps(pid) if maps is None else maps
    exe = exe_path(pid)
    exe_pie = False
    errors: list[str] = []
    for group in candidate_files(maps, exe):
        entry = group[0]
        try:
            facts, how = elf_facts_for(pid, entry)
        except (OSError, SafeAttachError) as exc:
            errors.append(f"{entry.path}: {exc}")
            continue
        if entry.path == exe:
            exe_pie = facts.pie_or_shared
        bias = _load_bias(group, facts)
        if facts.pyruntime_vaddr is not None:
            address, source = facts.pyruntime_vaddr + bias, ".PyRuntime section"
        elif facts.pyruntime_symbol is not None:
            address, source = facts.pyruntime_symbol + bias, "_PyRuntime symbol"
        else:
            continue
        return RuntimeLocation(
            address=address, binary=entry.path, binary_access=how, source=source, facts=facts,
            is_executable=entry.path == exe, exe_pie=exe_pie, deleted=entry.deleted,
        )
    found = scan_for_cookie(mem, maps)
    if found is not None:
        entry, address = found
        return RuntimeLocation(
            address=address, binary=entry.path, binary_access="memory-scan", source="cookie scan",
            facts=None, is_executable=entry.path == exe, exe_pie=exe_pie, deleted=entry.deleted,
        )
    detail = "; ".join(errors[:3])
    raise SafeAttachError(
        FailureKind.NOT_PYTHON,
        f"process {pid} has no CPython runtime mapped" + (f" ({detail})" if detail else ""),
        detail={"binary": exe},
    )


def scan_for_cookie(mem: ProcessMemory, maps: list[MapEntry]) -> tuple[MapEntry, int] | None:
    """Bounded scan of file-backed writable mappings (the runtime's .data/.PyRuntime) for the cookie."""
    budget = SCAN_LIMIT
    for entry in maps:
        if not (entry.is_file and entry.writable and entry.readable):
            continue
        size = min(entry.end - entry.start, budget)
        if size <= 0:
            break
        budget -= size
        try:
            blob = mem.read(entry.start, size)
        except SafeAttachError:
            continue
        at = blob.find(COOKIE)
        while at >= 0:
            if at % 8 == 0:  # the table is 32-byte aligned; cheap plausibility before parsing
                version = int.from_bytes(blob[at + 8 : at + 16], "little")
                if (version >> 24) == 3 and 13 <= ((version >> 16) & 0xFF) <= 20:
                    return entry, entry.start + at
            at = blob.find(COOKIE, at + 1)
    return None
