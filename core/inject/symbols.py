"""Addresses of the CPython C API functions the stub calls, from the exported symbols of the mapped binary."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from core.errors import FailureKind, SafeAttachError
from core.procfs import MapEntry, exe_path, read_maps
from core.records import dataclass
from core.runtime import _load_bias, _open_mapped, _stat_key, candidate_files, elf_facts_for

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

NEEDED = ("PyGILState_Ensure", "PyGILState_Release", "Py_AddPendingCall")
RUNNERS = ("PyRun_SimpleString", "PyRun_SimpleStringFlags")  # the first is a real export since 3.x for the ABI


@dataclass(frozen=True)
class CApi:
    binary: str  # the file that exports them, as the target sees it
    ensure: int
    release: int
    add_pending_call: int
    run: int  # PyRun_SimpleString(const char *), or ...Flags(const char *, NULL)
    run_name: str


def _exported(elf: ELFFile, names: tuple[str, ...]) -> dict[str, int]:
    from elftools.elf.hash import GNUHashSection
    from elftools.elf.sections import SymbolTableSection

    found: dict[str, int] = {}
    gnu_hash = elf.get_section_by_name(".gnu.hash")
    if isinstance(gnu_hash, GNUHashSection):
        for name in names:
            sym = gnu_hash.get_symbol(name)
            if sym is not None and sym["st_shndx"] != "SHN_UNDEF" and sym["st_info"]["type"] == "STT_FUNC":
                found[name] = int(sym["st_value"])
        return found
    dynsym = elf.get_section_by_name(".dynsym")
    if isinstance(dynsym, SymbolTableSection):
        for name in names:
            for sym in dynsym.get_symbol_by_name(name) or []:
                if sym["st_shndx"] != "SHN_UNDEF" and sym["st_info"]["type"] == "STT_FUNC":
                    found[name] = int(sym["st_value"])
    return found


_symbols_cache: dict[tuple[int, int, int, int], dict[str, int]] = {}


def _lookup(pid: int, group: list[MapEntry]) -> dict[str, int] | None:
    try:
        facts, _ = elf_facts_for(pid, group[0])
        stream, _ = _open_mapped(pid, group[0])
    except (OSError, SafeAttachError):
        return None
    with stream:
        key = _stat_key(os.fstat(stream.fileno()))
        found = _symbols_cache.get(key)
        if found is None:
            from elftools.common.exceptions import ELFError
            from elftools.elf.elffile import ELFFile

            try:
                found = _exported(ELFFile(stream), (*NEEDED, *RUNNERS))
            except (ELFError, ValueError, OSError):
                return None
            _symbols_cache[key] = found
    bias = _load_bias(group, facts)
    return {name: value + bias for name, value in found.items()}


def resolve_c_api(pid: int) -> CApi:
    """The C API in the executable or the libpython the target has mapped; SYMBOL_NOT_FOUND otherwise."""
    maps = read_maps(pid)
    tried = []
    for group in candidate_files(maps, exe_path(pid)):
        found = _lookup(pid, group)
        tried.append(group[0].path)
        if not found or any(name not in found for name in NEEDED):
            continue
        run_name = next((name for name in RUNNERS if name in found), "")
        if not run_name:
            continue
        return CApi(group[0].path, found["PyGILState_Ensure"], found["PyGILState_Release"],
                    found["Py_AddPendingCall"], found[run_name], run_name)
    raise SafeAttachError(
        FailureKind.SYMBOL_NOT_FOUND,
        f"Process {pid} exports no CPython C API (PyGILState_Ensure, PyRun_SimpleString, Py_AddPendingCall)",
        hint="Legacy injection calls the exported CPython C API in the executable or a mapped libpython; "
        "a stripped embedding cannot be injected. Pick a Python process from `safeattach ps`.",
        detail={"pid": pid, "looked_in": tried},
    )
