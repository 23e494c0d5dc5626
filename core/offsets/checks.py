"""Plausibility rules for a decoded `_Py_DebugOffsets` table.

Every offset is relative to some C struct (`_Py_DebugOffsets_INIT` in CPython's
Include/internal/pycore_debug_offsets.h names the struct each one indexes): the fields of a sub-struct that declares
a `size` are offsets into that struct, except the few listed in `_NOT_MEMBERS`, which the cross-struct
rules below check against the struct they really index. Fatal findings make the table unusable; warnings
(misalignment, a free-threaded flag that disagrees with the values) are reported but not fatal.
Fields that are 0 by design (prev, executable, tlbc_*, co_tlbc, gil_runtime_state_enabled, ...) pass:
0 is inside every struct.
"""

from __future__ import annotations

from core.records import dataclass

from .layouts import Layout

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

KiB = 1024
MiB = 1024 * KiB

# Exclusive upper bound on each sub-struct's `size`; every other sized sub-struct is a small object.
_SIZE_LIMITS: Mapping[str, int] = {
    "runtime_state": 16 * MiB,
    "interpreter_state": 4 * MiB,
    "thread_state": 64 * KiB,
    "gc": 64 * KiB,
}
_OBJECT_SIZE_LIMIT = 4 * KiB
# Sub-structs without a size field (llist_node, err_stackitem): their offsets must stay below this.
_SIZELESS_LIMIT = 4 * KiB

# Width in bytes of the C member each offset names; anything absent is a pointer / u64 / Py_ssize_t (8).
_WIDTHS: Mapping[str, int] = {
    "interpreter_state.gil_runtime_state_enabled": 4,
    "interpreter_state.gil_runtime_state_locked": 4,
    "interpreter_state.tlbc_generation": 4,  # tlbc_indices.tlbc_generation; 17300 in 3.14t is 4-aligned only
    "thread_state.status": 4,
    "thread_state.holds_gil": 4,
    "thread_state.gil_requested": 4,
    "interpreter_frame.owner": 1,
    "interpreter_frame.tlbc_index": 4,
    "code_object.firstlineno": 4,
    "code_object.argcount": 4,
    "code_object.co_code_adaptive": 1,  # flexible char array
    "long_object.ob_digit": 4,  # flexible digit array
    "bytes_object.ob_sval": 1,  # flexible char array
    "unicode_object.state": 4,
    "gc.collecting": 4,
    "gen_object.gi_frame_state": 1,
    "debugger_support.remote_debugging_enabled": 4,  # config.remote_debug (int)
    "debugger_support.debugger_pending_call": 4,  # int32_t
    "debugger_support.debugger_script_path": 1,  # char buffer, checked with its size
}

# Fields of a sized sub-struct that are not offsets into it: sizes, or offsets into another struct.
_NOT_MEMBERS = frozenset(
    {
        "interpreter_state.gil_runtime_state_enabled",  # relative to struct _gil_runtime_state
        "unicode_object.asciiobject_size",
        "unicode_object.compactunicodeobject_size",
        "gc.generation_stats_size",
    }
)
SCRIPT_PATH_SIZE_RANGE = (16, 4096)


@dataclass(frozen=True)
class Finding:
    field: str  # dotted name the finding is about
    message: str


def width(dotted: str) -> int:
    return _WIDTHS.get(dotted, 8)


def size_limit(section: str) -> int:
    return _SIZE_LIMITS.get(section, _OBJECT_SIZE_LIMIT)


class _Collector:
    def __init__(self, values: Mapping[str, int]) -> None:
        self.values = values
        self.fatal: list[Finding] = []
        self.warnings: list[Finding] = []

    def inside(
        self, dotted: str, limit_name: str, limit: int, *, base: tuple[str, ...] = (), extent: int = 0
    ) -> None:
        """sum(base offsets) + value + extent (default: the member's width) must be <= limit."""
        value = self.values[dotted]
        start = sum(self.values[b] for b in base) + value
        end = start + (extent or width(dotted))
        if end > limit:
            via = "".join(f"{b} ({self.values[b]}) + " for b in base)
            self.fatal.append(
                Finding(
                    dotted,
                    f"{via}{dotted} = {value} (+{extent or width(dotted)} bytes, ends at {end}) lies "
                    f"outside {limit_name} = {limit}",
                )
            )

    def between(self, dotted: str, low: int, high: int, what: str) -> None:
        value = self.values[dotted]
        if not low <= value <= high:
            self.fatal.append(
                Finding(dotted, f"{dotted} = {value} is not a plausible {what} ({low}..{high})")
            )

    def aligned(self, dotted: str, position: int, align: int) -> None:
        if align > 1 and position % align:
            self.warnings.append(
                Finding(
                    dotted,
                    f"{dotted} = {self.values[dotted]} places a {align}-byte member at {position}, "
                    f"not {align}-byte aligned",
                )
            )


def _sized_sections(layout: Layout, c: _Collector) -> None:
    for section in layout.sections:
        if section.name == "debugger_support":
            continue  # offsets into the thread / interpreter state: see _debugger_support
        if "size" not in section.fields:
            for name in section.fields:
                c.inside(f"{section.name}.{name}", f"the {section.name} limit", _SIZELESS_LIMIT)
            continue
        size_name = f"{section.name}.size"
        low = layout.size + 8 if section.name == "runtime_state" else 8
        c.between(size_name, low, size_limit(section.name) - 1, f"sizeof({section.name})")
        if c.fatal and c.fatal[-1].field == size_name:
            continue  # members cannot be judged against an implausible size
        size = c.values[size_name]
        for name in section.fields:
            dotted = f"{section.name}.{name}"
            if name == "size" or dotted in _NOT_MEMBERS:
                continue
            c.inside(dotted, size_name, size)
            if width(dotted) in (4, 8):
                c.aligned(dotted, c.values[dotted], width(dotted))


def _cross_struct(layout: Layout, c: _Collector) -> None:
    v = c.values
    fatal_fields = {f.field for f in c.fatal}

    def ok(*names: str) -> bool:
        """Only combine fields that exist in this version and passed their own checks."""
        return all(n in v and n not in fatal_fields for n in names)

    # The table is the runtime's first member, so every runtime offset lies past it.
    for name in ("runtime_state.finalizing", "runtime_state.interpreters_head"):
        if ok(name) and v[name] < layout.size:
            c.fatal.append(
                Finding(
                    name,
                    f"{name} = {v[name]} points inside the offsets table itself "
                    f"(the table occupies the runtime's first {layout.size} bytes)",
                )
            )
    # The main interpreter is embedded in _PyRuntimeState.
    if (
        ok("interpreter_state.size", "runtime_state.size")
        and v["interpreter_state.size"] >= v["runtime_state.size"]
    ):
        c.fatal.append(
            Finding(
                "interpreter_state.size",
                f"interpreter_state.size = {v['interpreter_state.size']} "
                f"is not smaller than runtime_state.size = {v['runtime_state.size']}",
            )
        )
    if ok("interpreter_state.gc", "gc.size", "interpreter_state.size"):
        c.inside(
            "interpreter_state.gc", "interpreter_state.size", v["interpreter_state.size"], extent=v["gc.size"]
        )
    if ok(
        "interpreter_state.gil_runtime_state_enabled",
        "interpreter_state.gil_runtime_state",
        "interpreter_state.size",
    ):
        c.inside(
            "interpreter_state.gil_runtime_state_enabled",
            "interpreter_state.size",
            v["interpreter_state.size"],
            base=("interpreter_state.gil_runtime_state",),
        )
    if ok("unicode_object.size", "unicode_object.asciiobject_size"):
        c.between("unicode_object.asciiobject_size", 16, v["unicode_object.size"], "sizeof(PyASCIIObject)")
    if ok("unicode_object.size", "unicode_object.compactunicodeobject_size"):
        c.between(
            "unicode_object.compactunicodeobject_size",
            16,
            v["unicode_object.size"],
            "sizeof(PyCompactUnicodeObject)",
        )
    if ok("gc.generation_stats_size"):
        c.between("gc.generation_stats_size", 8, 64 * KiB, "size of the GC generation stats")
    if ok("err_stackitem.exc_value", "thread_state.exc_state", "thread_state.size"):
        c.inside(
            "err_stackitem.exc_value",
            "thread_state.size",
            v["thread_state.size"],
            base=("thread_state.exc_state",),
        )
    _debugger_support(c, ok)


def _debugger_support(c: _Collector, ok: Callable[..., bool]) -> None:
    """PEP 768 fields: offsets into the thread state, the interpreter state and _PyRemoteDebuggerSupport."""
    v = c.values
    if not ok("debugger_support.eval_breaker", "thread_state.size", "interpreter_state.size"):
        return
    tsize, isize = v["thread_state.size"], v["interpreter_state.size"]
    c.inside("debugger_support.eval_breaker", "thread_state.size", tsize)
    c.aligned("debugger_support.eval_breaker", v["debugger_support.eval_breaker"], 8)
    c.inside("debugger_support.remote_debugging_enabled", "interpreter_state.size", isize)
    c.aligned("debugger_support.remote_debugging_enabled", v["debugger_support.remote_debugging_enabled"], 4)
    low, high = SCRIPT_PATH_SIZE_RANGE
    c.between("debugger_support.debugger_script_path_size", low, high, "debugger script buffer size")
    if c.fatal and c.fatal[-1].field == "debugger_support.debugger_script_path_size":
        return
    rds = ("debugger_support.remote_debugger_support",)
    pending, path = v["debugger_support.debugger_pending_call"], v["debugger_support.debugger_script_path"]
    path_size = v["debugger_support.debugger_script_path_size"]
    c.inside("debugger_support.debugger_pending_call", "thread_state.size", tsize, base=rds)
    c.inside("debugger_support.debugger_script_path", "thread_state.size", tsize, base=rds, extent=path_size)
    c.aligned("debugger_support.debugger_pending_call", v[rds[0]] + pending, 4)
    if pending < path + path_size and path < pending + 4:
        c.fatal.append(
            Finding(
                "debugger_support.debugger_script_path",
                f"debugger_support.debugger_script_path = {path} (+{path_size}) overlaps "
                f"debugger_support.debugger_pending_call = {pending} (+4)",
            )
        )


def _free_threaded_consistency(layout: Layout, c: _Collector) -> None:
    expect = layout.free_threaded
    ft = c.values["free_threaded"] == 1
    for name in expect.nonzero:
        if ft and c.values[name] == 0:
            c.warnings.append(
                Finding(name, f"{name} = 0 although free_threaded = 1 (non-zero in free-threaded builds)")
            )
        if not ft and c.values[name] != 0:
            c.warnings.append(
                Finding(
                    name,
                    f"{name} = {c.values[name]} although free_threaded = 0 (0 by design in default builds)",
                )
            )
    pyobject = c.values["pyobject.size"]
    wanted = expect.pyobject_size if ft else expect.default_pyobject_size
    if pyobject != wanted:
        flavour = "free-threaded" if ft else "default"
        c.warnings.append(
            Finding("pyobject.size", f"pyobject.size = {pyobject}, expected {wanted} for a {flavour} build")
        )


def validate(layout: Layout, values: Mapping[str, int]) -> tuple[list[Finding], list[Finding]]:
    """(fatal, warnings) for a decoded table; `values` holds every dotted field plus version/free_threaded."""
    c = _Collector(values)
    _sized_sections(layout, c)
    _cross_struct(layout, c)
    _free_threaded_consistency(layout, c)
    return c.fatal, c.warnings
