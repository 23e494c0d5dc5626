"""Just the ELF headers a hot path needs, read with `struct` (importing and opening a file with pyelftools
costs tens of milliseconds before the first lookup): sections by name, the first load segment, and the GNU
build-id note.

Every read is bounded and every count checked, since the file may be anything; a malformed file gives None.
"""

from __future__ import annotations

import struct

from core.records import dataclass

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

_ELF64_LE = b"\x7fELF\x02\x01"
_PT_LOAD, _PT_NOTE = 1, 4
_ET_DYN = 3
_NT_GNU_BUILD_ID = 3
_MAX_HEADERS = 0xFFFF
_MAX_NAMES = 1 << 20  # bytes of .shstrtab worth reading
_MAX_NOTES = 1 << 16  # bytes of one PT_NOTE segment worth reading


@dataclass(frozen=True)
class ElfHeader:
    e_type: int
    phoff: int
    phentsize: int
    phnum: int
    shoff: int
    shentsize: int
    shnum: int
    shstrndx: int


def read_header(stream: IO[bytes]) -> ElfHeader | None:
    """The 64-bit little-endian ELF header, or None for anything else."""
    stream.seek(0)
    head = stream.read(64)
    if len(head) < 64 or not head.startswith(_ELF64_LE):
        return None
    e_type = struct.unpack_from("<H", head, 16)[0]
    phoff, shoff = struct.unpack_from("<QQ", head, 32)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", head, 54)
    return ElfHeader(e_type, phoff, phentsize, phnum, shoff, shentsize, shnum, shstrndx)


def _table(stream: IO[bytes], offset: int, entsize: int, count: int, minimum: int) -> bytes | None:
    if entsize < minimum or not 0 < count <= _MAX_HEADERS:
        return None
    stream.seek(offset)
    data = stream.read(entsize * count)
    return data if len(data) == entsize * count else None


def sections(stream: IO[bytes]) -> dict[str, tuple[int, int]] | None:
    """Every section's (sh_addr, sh_size) by name (the first of a repeated name), or None when the file is not
    a readable 64-bit ELF file."""
    try:
        head = read_header(stream)
        if head is None:
            return None
        table = _table(stream, head.shoff, head.shentsize, head.shnum, 64)
        if table is None or head.shstrndx >= head.shnum:
            return None
        str_off, str_size = struct.unpack_from("<QQ", table, head.shstrndx * head.shentsize + 24)
        stream.seek(str_off)
        names = stream.read(min(str_size, _MAX_NAMES))
        out: dict[str, tuple[int, int]] = {}
        for i in range(head.shnum):
            at = struct.unpack_from("<I", table, i * head.shentsize)[0]
            if at < len(names):
                end = names.find(b"\0", at)
                name = names[at : end if end >= 0 else len(names)].decode("latin-1")
                addr, _offset, size = struct.unpack_from("<QQQ", table, i * head.shentsize + 16)
                out.setdefault(name, (addr, size))
        return out
    except (OSError, struct.error, ValueError, OverflowError):
        return None


def section_names(stream: IO[bytes]) -> set[str] | None:
    """The names of every section, or None when the file is not a readable 64-bit ELF file."""
    found = sections(stream)
    return None if found is None else set(found)


@dataclass(frozen=True)
class LoadSegment:
    flags: int  # PF_X = 1, PF_W = 2, PF_R = 4
    vaddr: int
    memsz: int
    align: int


def load_segments(stream: IO[bytes]) -> tuple[list[LoadSegment], bool] | None:
    """Every PT_LOAD in file order and whether the file is ET_DYN, or None for a malformed file."""
    try:
        head = read_header(stream)
        if head is None:
            return None
        table = _table(stream, head.phoff, head.phentsize, head.phnum, 56)
        if table is None:
            return None
        loads = []
        for i in range(head.phnum):
            p_type, p_flags, _off, p_vaddr, _paddr, _filesz, p_memsz, p_align = struct.unpack_from(
                "<IIQQQQQQ", table, i * head.phentsize)
            if p_type == _PT_LOAD:
                loads.append(LoadSegment(p_flags, p_vaddr, p_memsz, p_align))
        return loads, head.e_type == _ET_DYN
    except (OSError, struct.error, ValueError, OverflowError):
        return None


def first_load(stream: IO[bytes]) -> tuple[int, bool] | None:
    """(p_vaddr of the first PT_LOAD aligned down to its p_align, ET_DYN), as core.elf derives them."""
    found = load_segments(stream)
    if found is None:
        return None
    loads, dyn = found
    if not loads:
        return 0, dyn
    return loads[0].vaddr & ~(max(loads[0].align, 1) - 1), dyn


def build_id(stream: IO[bytes]) -> str | None:
    """The GNU build-id (hex) from the program headers' notes, or None when there is none."""
    try:
        head = read_header(stream)
        if head is None:
            return None
        table = _table(stream, head.phoff, head.phentsize, head.phnum, 56)
        if table is None:
            return None
        for i in range(head.phnum):
            p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from(
                "<IIQQQQ", table, i * head.phentsize)
            if p_type != _PT_NOTE:
                continue
            stream.seek(p_offset)
            found = _find_build_id(stream.read(min(p_filesz, _MAX_NOTES)))
            if found is not None:
                return found
        return None
    except (OSError, struct.error, ValueError, OverflowError):
        return None


def _find_build_id(notes: bytes) -> str | None:
    at = 0
    while at + 12 <= len(notes):
        namesz, descsz, kind = struct.unpack_from("<III", notes, at)
        name_at = at + 12
        desc_at = name_at + ((namesz + 3) & ~3)
        end = desc_at + ((descsz + 3) & ~3)
        if end > len(notes):
            return None
        if kind == _NT_GNU_BUILD_ID and notes[name_at : name_at + namesz] == b"GNU\0":
            return notes[desc_at : desc_at + descsz].hex()
        at = end
    return None
