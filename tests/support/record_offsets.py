"""Record the real `_Py_DebugOffsets` bytes of every provisioned interpreter into tests/data/offsets/.

Run from the repo root as root: `.venv/bin/python tests/support/record_offsets.py`. Each interpreter is spawned
(tests/targets/sleepy.py, "ready" handshake), the `.PyRuntime` section address is taken from its binary
with pyelftools (the Debian executables are non-PIE, so sh_addr is the runtime address), and the table is
read from /proc/PID/mem. The free-threaded blobs (3.14t, 3.15t) are computed, not recorded: no
free-threaded build is packaged, so they are built from the values `_Py_DebugOffsets_INIT` takes with
Py_GIL_DISABLED (CPython's Include/internal/pycore_debug_offsets.h at the v3.14.0 and v3.15.0 tags, compiled
with -DPy_GIL_DISABLED=1 and read back with offsetof).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from elftools.elf.elffile import ELFFile

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from live_targets import INTERPRETERS, Interpreter, TargetPool
from repo_paths import DATA_DIR as RECORDINGS

from core.offsets import HEADER_SIZE, build_debug_offsets, parse_debug_offsets, table_size

DATA_DIR = RECORDINGS / "offsets"
RECORDED = ("3.13", "3.13d", "3.14", "3.14d", "3.15")


def pyruntime_address(binary: Path) -> int:
    """sh_addr of `.PyRuntime` (the runtime address for a non-PIE executable)."""
    with binary.open("rb") as fh:
        section = ELFFile(fh).get_section_by_name(".PyRuntime")
        if section is None:
            raise LookupError(f"{binary} has no .PyRuntime section")
        return int(section["sh_addr"])


def read_table(pid: int, address: int) -> bytes:
    """The header, then exactly as many bytes as that version's table has."""
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        mem.seek(address)
        header = mem.read(HEADER_SIZE)
        size = table_size(int.from_bytes(header[8:16], "little"))
        if size is None:
            raise ValueError(f"pid {pid}: no known table for header {header.hex()}")
        mem.seek(address)
        return mem.read(size)


def record_live(interp: Interpreter, pool: TargetPool) -> bytes:
    target = pool.spawn_script(interp, "sleepy.py")
    return read_table(target.pid, pyruntime_address(interp.host_path))


def _ft_values(base: bytes, changes: Mapping[str, int]) -> dict[str, int]:
    values = {k: v for k, v in parse_debug_offsets(base).values.items() if "." in k}
    unknown = set(changes) - set(values)
    if unknown:
        raise KeyError(f"unknown fields {sorted(unknown)}")
    values.update(changes)
    return values


# The fields whose value differs in a free-threaded build (Include/internal/pycore_debug_offsets.h compiled with
# -DPy_GIL_DISABLED=1; fields equal to the default build's are omitted).
FT_3_14: dict[str, int] = {
    "runtime_state.size": 365624,
    "interpreter_state.size": 249976,
    "interpreter_state.imports_modules": 7712,
    "interpreter_state.sysdict": 7696,
    "interpreter_state.builtins": 7704,
    "interpreter_state.gil_runtime_state": 7808,
    "interpreter_state.gil_runtime_state_locked": 7832,
    "interpreter_state.gil_runtime_state_holder": 7824,
    "interpreter_state.code_object_generation": 8024,
    "interpreter_state.tlbc_generation": 17300,
    "interpreter_frame.owner": 78,
    "interpreter_frame.tlbc_index": 72,
    "code_object.size": 240,
    "code_object.filename": 128,
    "code_object.name": 136,
    "code_object.qualname": 144,
    "code_object.linetable": 152,
    "code_object.firstlineno": 84,
    "code_object.argcount": 68,
    "code_object.localsplusnames": 112,
    "code_object.localspluskinds": 120,
    "code_object.co_code_adaptive": 232,
    "code_object.co_tlbc": 224,
    "pyobject.size": 32,
    "pyobject.ob_type": 24,
    "type_object.size": 432,
    "type_object.tp_name": 40,
    "type_object.tp_repr": 104,
    "type_object.tp_flags": 184,
    "tuple_object.size": 56,
    "tuple_object.ob_item": 48,
    "tuple_object.ob_size": 32,
    "list_object.size": 56,
    "list_object.ob_item": 40,
    "list_object.ob_size": 32,
    "set_object.size": 216,
    "set_object.used": 40,
    "set_object.table": 56,
    "set_object.mask": 48,
    "dict_object.size": 64,
    "dict_object.ma_keys": 48,
    "dict_object.ma_values": 56,
    "float_object.size": 40,
    "float_object.ob_fval": 32,
    "long_object.size": 48,
    "long_object.lv_tag": 32,
    "long_object.ob_digit": 40,
    "bytes_object.size": 56,
    "bytes_object.ob_size": 32,
    "bytes_object.ob_sval": 48,
    "unicode_object.size": 80,
    "unicode_object.state": 48,
    "unicode_object.length": 32,
    "unicode_object.asciiobject_size": 56,
    "gc.size": 288,
    "gen_object.size": 176,
    "gen_object.gi_name": 40,
    "gen_object.gi_iframe": 88,
    "gen_object.gi_frame_state": 83,
    "debugger_support.remote_debugging_enabled": 8108,
}

FT_3_15: dict[str, int] = {
    "runtime_state.size": 409304,
    "interpreter_state.size": 250336,
    "interpreter_state.gil_runtime_state_locked": 7760,
    "interpreter_state.gil_runtime_state_holder": 7752,
    "interpreter_state.code_object_generation": 7952,
    "interpreter_state.tlbc_generation": 17252,
    "interpreter_frame.owner": 78,
    "interpreter_frame.tlbc_index": 72,
    "code_object.size": 240,
    "code_object.filename": 128,
    "code_object.name": 136,
    "code_object.qualname": 144,
    "code_object.linetable": 152,
    "code_object.firstlineno": 84,
    "code_object.argcount": 68,
    "code_object.localsplusnames": 112,
    "code_object.localspluskinds": 120,
    "code_object.co_code_adaptive": 232,
    "code_object.co_tlbc": 224,
    "pyobject.size": 32,
    "pyobject.ob_type": 24,
    "type_object.size": 440,
    "type_object.tp_name": 40,
    "type_object.tp_repr": 104,
    "type_object.tp_flags": 184,
    "type_object.tp_basicsize": 48,
    "type_object.tp_dictoffset": 304,
    "heap_type_object.size": 968,
    "heap_type_object.ht_cached_keys": 904,
    "tuple_object.size": 56,
    "tuple_object.ob_item": 48,
    "tuple_object.ob_size": 32,
    "list_object.size": 56,
    "list_object.ob_item": 40,
    "list_object.ob_size": 32,
    "set_object.size": 216,
    "set_object.used": 40,
    "set_object.table": 56,
    "set_object.mask": 48,
    "dict_object.size": 64,
    "dict_object.ma_keys": 48,
    "dict_object.ma_values": 56,
    "float_object.size": 40,
    "float_object.ob_fval": 32,
    "long_object.size": 48,
    "long_object.lv_tag": 32,
    "long_object.ob_digit": 40,
    "bytes_object.size": 56,
    "bytes_object.ob_size": 32,
    "bytes_object.ob_sval": 48,
    "unicode_object.size": 80,
    "unicode_object.state": 48,
    "unicode_object.length": 32,
    "unicode_object.asciiobject_size": 56,
    "unicode_object.compactunicodeobject_size": 72,
    "gc.generation_stats_size": 224,
    "gen_object.size": 176,
    "gen_object.gi_name": 40,
    "gen_object.gi_iframe": 88,
    "gen_object.gi_frame_state": 83,
    "debugger_support.remote_debugging_enabled": 8036,
}


def computed_free_threaded(name: str) -> bytes:
    """3.14t / 3.15t: the recorded default table of that version with the spec's FT values applied."""
    base = (DATA_DIR / f"{name.removesuffix('t')}.bin").read_bytes()
    changes = FT_3_14 if name == "3.14t" else FT_3_15
    version = int.from_bytes(base[8:16], "little")
    return build_debug_offsets(name, _ft_values(base, changes), version=version, free_threaded=True)


def main() -> int:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    pool = TargetPool()
    try:
        for name in RECORDED:
            interp = INTERPRETERS[name]
            if not interp.available():
                print(f"{name}: not provisioned at {interp.host_path}, skipped", file=sys.stderr)
                continue
            raw = record_live(interp, pool)
            parsed = parse_debug_offsets(raw)  # refuse to record an implausible table
            (DATA_DIR / f"{name}.bin").write_bytes(raw)
            print(f"{name}: {len(raw)} bytes, version {parsed.version}, layout {parsed.layout}")
    finally:
        pool.close()
    for name in ("3.14t", "3.15t"):
        raw = computed_free_threaded(name)
        parsed = parse_debug_offsets(raw)
        (DATA_DIR / f"{name}.bin").write_bytes(raw)
        print(
            f"{name}: {len(raw)} bytes (computed), layout {parsed.layout}, warnings {list(parsed.problems)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
