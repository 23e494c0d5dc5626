"""The `_Py_DebugOffsets` table of each supported CPython minor version, declared once as named u64 fields.

Field i sits at byte 8*i: a char[8] cookie, then little-endian u64s grouped into inlined sub-structs
(`_Py_DebugOffsets` in CPython's Include/internal/pycore_debug_offsets.h at the v3.13.0, v3.14.0 and v3.15.0
tags; PEP 768, peps.python.org/pep-0768). The layout is only stable within a minor version, so the table is
picked by the major.minor of the target's `version` field. Free-threaded builds share their version's layout;
only the flag and the values differ (see `FreeThreadedExpectations`).
"""

from __future__ import annotations

import struct
from types import MappingProxyType

from core.records import dataclass

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

COOKIE = b"xdebugpy"
HEADER_SIZE = 24  # cookie + version + free_threaded: enough to pick the layout


Sections = tuple[tuple[str, tuple[str, ...]], ...]  # (sub-struct name, its u64 field names), in table order


def _u64s(*names: str) -> tuple[str, ...]:
    """A sub-struct made only of little-endian u64 fields, in declaration order."""
    return names


_RUNTIME_STATE = _u64s("size", "finalizing", "interpreters_head")
_PYOBJECT = _u64s("size", "ob_type")
_TUPLE = _u64s("size", "ob_item", "ob_size")
_LIST = _u64s("size", "ob_item", "ob_size")
_SET = _u64s("size", "used", "table", "mask")
_DICT = _u64s("size", "ma_keys", "ma_values")
_FLOAT = _u64s("size", "ob_fval")
_LONG = _u64s("size", "lv_tag", "ob_digit")
_BYTES = _u64s("size", "ob_size", "ob_sval")
_GEN = _u64s("size", "gi_name", "gi_iframe", "gi_frame_state")
_LLIST_NODE = _u64s("next", "prev")
_DEBUGGER_SUPPORT = _u64s(
    "eval_breaker",
    "remote_debugger_support",
    "remote_debugging_enabled",
    "debugger_pending_call",
    "debugger_script_path",
    "debugger_script_path_size",
)
_CODE_OBJECT_313 = (
    "size",
    "filename",
    "name",
    "qualname",
    "linetable",
    "firstlineno",
    "argcount",
    "localsplusnames",
    "localspluskinds",
    "co_code_adaptive",
)
_INTERP_313 = (
    "size",
    "id",
    "next",
    "threads_head",
    "gc",
    "imports_modules",
    "sysdict",
    "builtins",
    "ceval_gil",
    "gil_runtime_state",
    "gil_runtime_state_enabled",
    "gil_runtime_state_locked",
    "gil_runtime_state_holder",
)
_INTERP_314 = (
    "size",
    "id",
    "next",
    "threads_head",
    "threads_main",
    "gc",
    "imports_modules",
    "sysdict",
    "builtins",
    "ceval_gil",
    "gil_runtime_state",
    "gil_runtime_state_enabled",
    "gil_runtime_state_locked",
    "gil_runtime_state_holder",
    "code_object_generation",
    "tlbc_generation",
)
_TSTATE_313 = (
    "size",
    "prev",
    "next",
    "interp",
    "current_frame",
    "thread_id",
    "native_thread_id",
    "datastack_chunk",
    "status",
)
_FRAME_313 = ("size", "previous", "executable", "instr_ptr", "localsplus", "owner")
_TYPE_313 = ("size", "tp_name", "tp_repr", "tp_flags")
_UNICODE_313 = ("size", "state", "length", "asciiobject_size")

TABLE_3_13: Sections = (
    ("runtime_state", _RUNTIME_STATE),
    ("interpreter_state", _u64s(*_INTERP_313)),
    ("thread_state", _u64s(*_TSTATE_313)),
    ("interpreter_frame", _u64s(*_FRAME_313)),
    ("code_object", _u64s(*_CODE_OBJECT_313)),
    ("pyobject", _PYOBJECT),
    ("type_object", _u64s(*_TYPE_313)),
    ("tuple_object", _TUPLE),
    ("list_object", _LIST),
    ("dict_object", _DICT),
    ("float_object", _FLOAT),
    ("long_object", _LONG),
    ("bytes_object", _BYTES),
    ("unicode_object", _u64s(*_UNICODE_313)),
    ("gc", _u64s("size", "collecting")),
)

TABLE_3_14: Sections = (
    ("runtime_state", _RUNTIME_STATE),
    ("interpreter_state", _u64s(*_INTERP_314)),
    ("thread_state", _u64s(*_TSTATE_313)),
    ("interpreter_frame", _u64s(*_FRAME_313, "stackpointer", "tlbc_index")),
    ("code_object", _u64s(*_CODE_OBJECT_313, "co_tlbc")),
    ("pyobject", _PYOBJECT),
    ("type_object", _u64s(*_TYPE_313)),
    ("tuple_object", _TUPLE),
    ("list_object", _LIST),
    ("set_object", _SET),
    ("dict_object", _DICT),
    ("float_object", _FLOAT),
    ("long_object", _LONG),
    ("bytes_object", _BYTES),
    ("unicode_object", _u64s(*_UNICODE_313)),
    ("gc", _u64s("size", "collecting")),
    ("gen_object", _GEN),
    ("llist_node", _LLIST_NODE),
    ("debugger_support", _DEBUGGER_SUPPORT),
)

TABLE_3_15: Sections = (
    ("runtime_state", _RUNTIME_STATE),
    ("interpreter_state", _u64s(*_INTERP_314)),
    (
        "thread_state",
        _u64s(
            "size",
            "prev",
            "next",
            "interp",
            "current_frame",
            "base_frame",
            "last_profiled_frame",
            "last_profiled_frame_seq",
            "thread_id",
            "native_thread_id",
            "datastack_chunk",
            "status",
            "holds_gil",
            "gil_requested",
            "current_exception",
            "exc_state",
            ),
    ),
    ("err_stackitem", _u64s("exc_value")),
    ("interpreter_frame", _u64s(*_FRAME_313, "stackpointer", "tlbc_index")),
    ("code_object", _u64s(*_CODE_OBJECT_313, "co_tlbc")),
    ("pyobject", _PYOBJECT),
    ("type_object", _u64s(*_TYPE_313, "tp_basicsize", "tp_dictoffset")),
    ("heap_type_object", _u64s("size", "ht_cached_keys")),
    ("tuple_object", _TUPLE),
    ("list_object", _LIST),
    ("set_object", _SET),
    ("dict_object", _DICT),
    ("float_object", _FLOAT),
    ("long_object", _LONG),
    ("bytes_object", _BYTES),
    ("unicode_object", _u64s(*_UNICODE_313, "compactunicodeobject_size")),
    ("gc", _u64s("size", "collecting", "frame", "generation_stats_size", "generation_stats")),
    ("gen_object", _GEN),
    ("llist_node", _LLIST_NODE),
    ("debugger_support", _DEBUGGER_SUPPORT),
)


@dataclass(frozen=True)
class FreeThreadedExpectations:
    """What distinguishes a free-threaded table of one version from a default one (values, not layout).

    `nonzero` fields are 0 by design in default builds and non-zero in free-threaded ones;
    `pyobject_size` is sizeof(PyObject) in a free-threaded build.
    """

    nonzero: tuple[str, ...]
    pyobject_size: int
    default_pyobject_size: int = 16


@dataclass(frozen=True)
class SectionLayout:
    name: str
    offset: int  # byte offset inside the table
    fields: tuple[str, ...]

    @property
    def size(self) -> int:
        return 8 * len(self.fields)


@dataclass(frozen=True)
class Layout:
    """One minor version's table: the section/field positions, and the codecs derived from them on first use.

    Decoding uses one precompiled `struct.Struct`; the construct Struct (kept for building tables, where it
    cross-checks the decoder) is built only when asked for, since importing construct and building the
    three tables costs more than a whole CLI run's own work."""

    name: str  # "3.14"
    major: int
    minor: int
    size: int
    sections: tuple[
        SectionLayout, ...
    ]  # sub-structs only; the header (cookie, version, free_threaded) is not one
    free_threaded: FreeThreadedExpectations

    @property
    def field_count(self) -> int:
        """Members of the table including the 3 header fields (73 / 95 / 111)."""
        return 3 + sum(len(s.fields) for s in self.sections)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Dotted names of every u64 sub-struct field, in table order."""
        return tuple(f"{s.name}.{f}" for s in self.sections for f in s.fields)

    def field_offsets(self) -> Mapping[str, int]:
        """Byte offset inside the table of every u64 field, header fields included."""
        out = {"version": 8, "free_threaded": 16}
        for section in self.sections:
            for i, field_name in enumerate(section.fields):
                out[f"{section.name}.{field_name}"] = section.offset + 8 * i
        return out

    def has(self, dotted: str) -> bool:
        return dotted in self.field_offsets()

    def decode(self, data: bytes) -> tuple[bytes, dict[str, int]]:
        """(cookie, every u64 by dotted name, header fields included) of exactly `size` bytes."""
        cookie, *numbers = struct.unpack(f"<8s{(self.size - 8) // 8}Q", data)  # struct caches the compiled format
        names = ("version", "free_threaded", *self.field_names)
        return cookie, dict(zip(names, numbers, strict=True))

    @property
    def struct(self) -> Any:  # a construct Struct: construct ships no types
        """The construct Struct of this table (cookie, version, free_threaded, then one sub-struct per section),
        built on each use: only tests and fake engines build tables (functools' cached_property would bring
        functools and collections to every exec)."""
        from construct import Const, Int64ul, Struct

        subs = [s.name / Struct(*(f / Int64ul for f in s.fields)) for s in self.sections]
        return Struct("cookie" / Const(COOKIE), "version" / Int64ul, "free_threaded" / Int64ul, *subs)


def _derive(name: str, table: Sections, ft: FreeThreadedExpectations) -> Layout:
    major, minor = (int(part) for part in name.split("."))
    sections: list[SectionLayout] = []
    offset = HEADER_SIZE
    for section_name, field_names in table:
        sections.append(SectionLayout(section_name, offset, field_names))
        offset += 8 * len(field_names)
    return Layout(name, major, minor, offset, tuple(sections), ft)


LAYOUTS: Mapping[str, Layout] = MappingProxyType(
    {
        "3.13": _derive("3.13", TABLE_3_13, FreeThreadedExpectations(nonzero=(), pyobject_size=32)),
        "3.14": _derive(
            "3.14",
            TABLE_3_14,
            FreeThreadedExpectations(
                nonzero=(
                    "interpreter_state.tlbc_generation",
                    "interpreter_frame.tlbc_index",
                    "code_object.co_tlbc",
                ),
                pyobject_size=32,
            ),
        ),
        "3.15": _derive(
            "3.15",
            TABLE_3_15,
            FreeThreadedExpectations(
                nonzero=(
                    "interpreter_state.tlbc_generation",
                    "interpreter_frame.tlbc_index",
                    "code_object.co_tlbc",
                ),
                pyobject_size=32,
            ),
        ),
    }
)
MAX_TABLE_SIZE = max(layout.size for layout in LAYOUTS.values())
SUPPORTED_MINORS = tuple(sorted(layout.minor for layout in LAYOUTS.values()))


def layout_for_version(hexversion: int) -> Layout | None:
    """The layout for a PY_VERSION_HEX, chosen by major.minor; None for a version without a known table."""
    major, minor = (hexversion >> 24) & 0xFF, (hexversion >> 16) & 0xFF
    return LAYOUTS.get(f"{major}.{minor}")


def table_size(hexversion: int) -> int | None:
    """How many bytes of `_Py_DebugOffsets` to read from a target of that version (None: no known table)."""
    layout = layout_for_version(hexversion)
    return layout.size if layout is not None else None


def layout_named(name: str) -> Layout:
    """ "3.14" or "3.14t" (the free-threaded variant shares the layout). Raises ValueError when unknown."""
    layout = LAYOUTS.get(name.removesuffix("t"))
    if layout is None:
        raise ValueError(f"no _Py_DebugOffsets layout named {name!r}; known: {', '.join(LAYOUTS)}")
    return layout


def build_debug_offsets(
    layout: str, values: Mapping[str, int], *, version: int, free_threaded: bool
) -> bytes:
    """Encode a table (for tests and fake engines). `values` must hold every dotted field of the layout;
    `version` / `free_threaded` keys, if present, must agree with the keyword arguments."""
    table = layout_named(layout)
    header = {"version": version, "free_threaded": int(free_threaded)}
    for key, expected in header.items():
        if key in values and int(values[key]) != expected:
            raise ValueError(f"values[{key!r}] = {values[key]} disagrees with the argument {expected}")
    names = table.field_names
    unknown = sorted(set(values) - set(names) - set(header))
    missing = [name for name in names if name not in values]
    if unknown or missing:
        raise ValueError(f"layout {table.name}: unknown fields {unknown}, missing fields {missing}")
    tree: dict[str, int | dict[str, int]] = dict(header)
    for section in table.sections:
        tree[section.name] = {f: int(values[f"{section.name}.{f}"]) for f in section.fields}
    return bytes(table.struct.build(tree))
