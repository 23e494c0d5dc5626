"""What the CPython binary (executable or libpython) tells about the runtime, read with pyelftools.

pyelftools is imported on first use: a CLI run whose facts are in the on-disk cache (core/elf_cache.py)
never needs it."""

from __future__ import annotations

import struct

from core.errors import FailureKind, SafeAttachError
from core.records import dataclass

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

    from elftools.elf.elffile import ELFFile

# Present only in builds that can run remote debugger scripts (ceval_gil.c under Py_REMOTE_DEBUG).
_REMOTE_DEBUG_MARKERS = (b"Can't open debugger script", b"Error executing debugger script")
_VERSION_STRING = rb"\x00(3\.(\d{1,2})\.(\d{1,2})(?:(a|b|rc)(\d+))?\+?)\x00"  # compiled on a cache miss only


@dataclass(frozen=True)
class ElfFacts:
    pie_or_shared: bool  # ET_DYN
    soname: str | None
    first_load_vaddr: int  # p_vaddr of the first PT_LOAD, aligned down to p_align
    pyruntime_vaddr: int | None  # .PyRuntime section
    pyruntime_size: int | None
    pyruntime_symbol: int | None  # _PyRuntime symbol value
    py_version: int | None  # value of the Py_Version symbol (3.11+), read from the file
    version_string: tuple[int, int, int, str] | None  # a "3.X.Y" literal found in .rodata
    remote_debug_compiled: bool  # the build contains the remote-debugger runner
    debug_build: bool  # has _Py_RefTotal-style debug symbols
    free_threaded_symbol: bool  # exports free-threaded-only symbols

    @property
    def has_runtime(self) -> bool:
        return self.pyruntime_vaddr is not None or self.pyruntime_symbol is not None


def _read_at_vaddr(elf: ELFFile, vaddr: int, size: int) -> bytes | None:
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_LOAD":
            continue
        start = seg["p_vaddr"]
        if start <= vaddr and vaddr + size <= start + seg["p_filesz"]:
            stream = elf.stream
            stream.seek(seg["p_offset"] + vaddr - start)
            data: bytes = stream.read(size)
            return data
    return None


_WANTED_SYMBOLS = ("_PyRuntime", "Py_Version", "_Py_RefTotal", "_Py_NegativeRefcount",
                   "_Py_brc_queue_object", "_PyObject_MergeThreadLocalRefcounts")


def _lookup_symbols(elf: ELFFile, names: tuple[str, ...]) -> dict[str, int]:
    """Exported symbols through the .gnu.hash table (O(1) each; building pyelftools' name map of a
    10k-symbol .dynsym costs ~100 ms), falling back to the full tables only when the runtime symbol
    is not exported (old or static builds)."""
    from elftools.elf.hash import GNUHashSection
    from elftools.elf.sections import SymbolTableSection

    found: dict[str, int] = {}
    gnu_hash = elf.get_section_by_name(".gnu.hash")
    if isinstance(gnu_hash, GNUHashSection):
        for name in names:
            sym = gnu_hash.get_symbol(name)
            if sym is not None and sym["st_shndx"] != "SHN_UNDEF":
                found[name] = int(sym["st_value"])
        if "_PyRuntime" in found:
            return found
    for sec_name in (".symtab",) if isinstance(gnu_hash, GNUHashSection) else (".dynsym", ".symtab"):
        sec = elf.get_section_by_name(sec_name)
        if not isinstance(sec, SymbolTableSection):
            continue
        for name in set(names) - found.keys():
            syms = sec.get_symbol_by_name(name)
            if syms:
                found[name] = int(syms[0]["st_value"])
    return found


def read_elf_facts(stream: IO[bytes]) -> ElfFacts:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(stream)
        if elf.elfclass != 64 or elf["e_machine"] != "EM_X86_64":
            raise SafeAttachError(FailureKind.UNSUPPORTED_VERSION, "only x86_64 ELF binaries are supported")
        first_load = 0
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_LOAD":
                align = max(int(seg["p_align"]), 1)
                first_load = int(seg["p_vaddr"]) & ~(align - 1)
                break
        section = elf.get_section_by_name(".PyRuntime")
        symbols = _lookup_symbols(elf, _WANTED_SYMBOLS)
        soname = None
        dynamic = elf.get_section_by_name(".dynamic")
        if dynamic is not None and hasattr(dynamic, "iter_tags"):
            for tag in dynamic.iter_tags():
                if tag.entry.d_tag == "DT_SONAME":
                    soname = str(tag.soname)
        py_version = None
        if symbols.get("Py_Version"):
            raw = _read_at_vaddr(elf, symbols["Py_Version"], 4)
            if raw is not None:
                py_version = int(struct.unpack("<I", raw)[0])
        rodata = elf.get_section_by_name(".rodata")
        blob = rodata.data() if rodata is not None else b""
        version_string = None
        import re  # with pyelftools, on a cache miss only: a warm exec or info loads neither

        match = re.search(_VERSION_STRING, blob)
        if match:
            version_string = (3, int(match.group(2)), int(match.group(3)), match.group(1).decode())
        return ElfFacts(
            pie_or_shared=elf["e_type"] == "ET_DYN",
            soname=soname,
            first_load_vaddr=first_load,
            pyruntime_vaddr=int(section["sh_addr"]) if section is not None else None,
            pyruntime_size=int(section["sh_size"]) if section is not None else None,
            pyruntime_symbol=symbols.get("_PyRuntime") or None,
            py_version=py_version,
            version_string=version_string,
            remote_debug_compiled=any(marker in blob for marker in _REMOTE_DEBUG_MARKERS),
            debug_build="_Py_RefTotal" in symbols or "_Py_NegativeRefcount" in symbols,
            free_threaded_symbol="_Py_brc_queue_object" in symbols
            or "_PyObject_MergeThreadLocalRefcounts" in symbols,
        )
    except SafeAttachError:
        raise
    except (ELFError, OSError, ValueError, struct.error, KeyError, AttributeError) as exc:
        raise SafeAttachError(FailureKind.NOT_PYTHON, f"not a readable ELF binary: {exc}") from None
