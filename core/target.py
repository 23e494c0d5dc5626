"""An opened target process: memory, runtime, version, offsets, interpreters and thread states.

Layering (after pystack): procfs/memory (process) -> runtime/elf (binary) -> offsets (layout) -> this
module (walks) -> inspect.py (presentation records).
"""

from __future__ import annotations

import bisect
import os

from core.enums import Enum
from core.errors import FailureKind, SafeAttachError
from core.memory import ProcessMemory
from core.model import BuildFlags, InterpreterInfo, PythonVersion, ThreadInfo
from core.offsets import DebugOffsets, parse_debug_offsets, table_size
from core.procfs import (
    MapEntry,
    ensure_alive,
    read_maps,
    same_namespace,
    same_root,
    thread_os_state,
    uid_of,
)
from core.records import dataclass
from core.runtime import RuntimeLocation, locate_runtime

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from core.offsets.pre313 import Pre313Layout

MAX_INTERPRETERS = 256
MAX_THREADS = 4096
MAX_FRAMES = 16


class Phase(str, Enum):
    """The read path's phases, matching the attach chain's first steps."""

    OPEN = "openProcess"
    RESOLVE = "offsetsResolve"
    PARSE = "parse"


@dataclass
class _Bounds:
    """Readable address ranges, for pointer-plausibility checks before following a pointer."""

    ranges: list[tuple[int, int]]

    def __post_init__(self) -> None:
        # adjacent mappings merged, sorted: a bisection per check (stack walks check thousands of pointers)
        merged: list[tuple[int, int]] = []
        for start, end in sorted(self.ranges):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        self._starts = [start for start, _ in merged]
        self._merged = merged

    def plausible(self, address: int, size: int = 8) -> bool:
        if address <= 0 or (size == 8 and address % 8):
            return False
        i = bisect.bisect_right(self._starts, address) - 1
        return i >= 0 and address + size <= self._merged[i][1]


class Target:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.mem = ProcessMemory(pid)
        self.maps: list[MapEntry] = []
        self.location: RuntimeLocation | None = None
        self.version: PythonVersion | None = None
        self.offsets: DebugOffsets | None = None
        self.uid, self.gid = -1, -1
        self.start_ticks = 0
        self._bounds: _Bounds | None = None

    # -- phases -----------------------------------------------------------------------------------------
    def open_process(self) -> None:
        self.start_ticks = ensure_alive(self.pid).start_ticks
        self.uid, self.gid = uid_of(self.pid)
        if not self.maps:  # open_target may hand over maps its caller already read
            self.maps = read_maps(self.pid)
        self._bounds = _Bounds([(m.start, m.end) for m in self.maps if m.readable])
        # probe that we may read its memory at all (ptrace access), at a mapped readable address
        first = next((m for m in self.maps if m.readable and m.is_file), None)
        if first is not None:
            self.mem.read(first.start, 8)

    def resolve(self) -> None:
        self.location = locate_runtime(self.pid, self.mem, self.maps)
        self.version = recognise_version(self.location, self.mem)

    def parse(self) -> None:
        assert self.location is not None and self.version is not None
        size = table_size(self.version.hexversion)
        if size is None:
            if (self.version.major, self.version.minor) >= (3, 13):
                raise SafeAttachError(
                    FailureKind.UNSUPPORTED_VERSION,
                    f"CPython {self.version} is newer than the _Py_DebugOffsets layouts this tool knows",
                )
            return  # pre-3.13: no table
        self.offsets = parse_debug_offsets(self.mem.read(self.location.address, size))
        if self.version.source != "_Py_DebugOffsets.version" and (
            self.offsets.version.major, self.offsets.version.minor
        ) != (self.version.major, self.version.minor):
            raise SafeAttachError(
                FailureKind.PARSE,
                f"the binary says CPython {self.version} but the runtime table says {self.offsets.version}",
            )

    def open_all(self) -> None:
        for _ in self.phases():
            pass

    def phases(self) -> Iterator[Phase]:
        """Run the read phases one by one, yielding each phase after it succeeds."""
        self.open_process()
        yield Phase.OPEN
        self.resolve()
        yield Phase.RESOLVE
        self.parse()
        yield Phase.PARSE

    # -- facts ------------------------------------------------------------------------------------------
    @property
    def runtime_address(self) -> int:
        assert self.location is not None
        return self.location.address

    @property
    def root(self) -> str:
        return f"/proc/{self.pid}/root"

    @property
    def same_mount_ns(self) -> bool:
        return bool(same_namespace(self.pid, "mnt"))

    @property
    def same_root(self) -> bool:
        return bool(same_root(self.pid))

    def build_flags(self) -> BuildFlags:
        loc = self.location
        assert loc is not None
        facts = loc.facts
        ft: bool | None = self.offsets.free_threaded if self.offsets is not None else None
        if ft is None and facts is not None and self.version and self.version.minor >= 13:
            ft = facts.free_threaded_symbol
        elif ft is None and self.version and self.version.minor < 13:
            ft = False
        return BuildFlags(
            free_threaded=ft,
            debug=facts.debug_build if facts is not None else None,
            shared=not loc.is_executable,
            pie=loc.exe_pie,
        )

    @property
    def pep768_capable(self) -> bool:
        if self.offsets is None or not self.offsets.pep768_capable:
            return False
        facts = self.location.facts if self.location else None
        return facts.remote_debug_compiled if facts is not None else True

    def plausible(self, address: int, size: int = 8) -> bool:
        return self._bounds is not None and self._bounds.plausible(address, size)

    def _ptr(self, address: int, what: str) -> int:
        value = self.mem.read_u64(address)
        if value and not self.plausible(value):
            raise SafeAttachError(
                FailureKind.PARSE, f"implausible {what} pointer 0x{value:x} read at 0x{address:x}"
            )
        return value

    # -- interpreters -----------------------------------------------------------------------------------
    def interpreter_addresses(self) -> list[int]:
        off, legacy = self.offsets, self._legacy()
        if off is not None:
            head_at, next_off = self.runtime_address + off.interpreters_head, off.interp_next
        elif legacy is not None:
            head_at, next_off = self.runtime_address + legacy.runtime.interpreters_head, legacy.interp.next
        else:
            return []
        return self._walk(head_at, next_off, MAX_INTERPRETERS, "interpreter")

    def remote_debug_enabled(self, interp: int) -> bool:
        assert self.offsets is not None
        return self.mem.read_i32(interp + self.offsets.remote_debugging_enabled) == 1

    def interpreters(self) -> list[InterpreterInfo]:
        off, legacy = self.offsets, self._legacy()
        out = []
        for addr in self.interpreter_addresses():
            if off is not None:
                ident = self.mem.read_i32(addr + off.interp_id)
                main = self._ptr(addr + off.interp_threads_main, "threads.main") if off.interp_threads_main else 0
                enabled = self.remote_debug_enabled(addr) if off.pep768_capable else None
            else:
                assert legacy is not None
                ident, main, enabled = self.mem.read_i32(addr + legacy.interp.id), 0, None
            out.append(InterpreterInfo(id=ident, address=addr, is_main=ident == 0,
                                       remote_debugging_enabled=enabled, threads_main=main))
        return out

    # -- threads ----------------------------------------------------------------------------------------
    def thread_addresses(self, interp: int) -> list[int]:
        off, legacy = self.offsets, self._legacy()
        if off is not None:
            head_off, next_off = off.interp_threads_head, off.tstate_next
        elif legacy is not None:
            head_off, next_off = legacy.interp.threads_head, legacy.tstate.next
        else:
            return []
        return self._walk(interp + head_off, next_off, MAX_THREADS, "thread-state")

    def _walk(self, head_at: int, next_off: int, limit: int, what: str) -> list[int]:
        """A linked list in the target, bounded, with every pointer checked and loops detected."""
        out: list[int] = []
        seen: set[int] = set()
        node = self._ptr(head_at, f"{what} list head")
        while node and len(out) < limit:
            if node in seen:
                raise SafeAttachError(FailureKind.PARSE, f"the {what} list loops back on itself")
            seen.add(node)
            out.append(node)
            node = self._ptr(node + next_off, f"{what} next")
        return out

    def threads(self, interps: Sequence[InterpreterInfo] | None = None) -> list[ThreadInfo]:
        """Every thread state of every interpreter (pass `interps` when already read)."""
        result = []
        for interp in self.interpreters() if interps is None else interps:
            holder = self.gil_holder(interp.address)
            for tstate in self.thread_addresses(interp.address):
                result.append(self.thread_info(interp, tstate, holder))
        return result

    def thread_info(self, interp: InterpreterInfo, tstate: int, holder: int | None,
                    with_function: bool = True) -> ThreadInfo:
        """One thread state's facts; `holder` is the interpreter's `gil_holder` (read once per interpreter)."""
        off, legacy = self.offsets, self._legacy()
        if off is not None:
            tid = self.mem.read_u64(tstate + off.tstate_thread_id)
            native = self.mem.read_u64(tstate + off.tstate_native_thread_id)
        else:
            assert legacy is not None
            tid = self.mem.read_u64(tstate + legacy.tstate.thread_id)
            native = self._native_id(tstate, tid, legacy)
        is_main = tstate == interp.threads_main if interp.threads_main else (
            interp.is_main and native == self.pid
        )
        state, detail = thread_os_state(self.pid, native) if native else ("?", "")
        return ThreadInfo(
            interpreter_id=interp.id, tstate_address=tstate, thread_id=tid, native_thread_id=native,
            is_main=is_main, holds_gil=self._holds_gil(tstate, holder), os_state=state,
            os_state_detail=detail, current_function=self.current_function(tstate) if with_function else None,
        )

    def _native_id(self, tstate: int, thread_id: int, legacy: Pre313Layout) -> int:
        if legacy.tstate.native_thread_id is not None:
            return self.mem.read_u64(tstate + legacy.tstate.native_thread_id)
        from core.offsets.pre313 import PTHREAD_TID_OFFSET

        if not self.plausible(thread_id + PTHREAD_TID_OFFSET, 4):
            return 0
        tid = self.mem.read_i32(thread_id + PTHREAD_TID_OFFSET)
        return tid if tid > 0 and os.path.exists(f"/proc/{self.pid}/task/{tid}") else 0

    def gil_holder(self, interp: int) -> int | None:
        off = self.offsets
        if off is None or off.free_threaded:
            return None
        try:
            locked = self.mem.read_i32(interp + off.gil_runtime_state_locked)
            holder = self.mem.read_u64(interp + off.gil_runtime_state_holder)
        except SafeAttachError:
            return None
        return holder if locked else 0

    def _holds_gil(self, tstate: int, holder: int | None) -> bool | None:
        off = self.offsets
        if off is not None and off.tstate_holds_gil is not None:
            try:
                return self.mem.read_i32(tstate + off.tstate_holds_gil) == 1
            except SafeAttachError:
                return None
        return None if holder is None else holder == tstate

    # -- frames -----------------------------------------------------------------------------------------
    def current_function(self, tstate: int) -> str | None:
        """Innermost Python function of a thread, best effort (None when not readable)."""
        try:
            if self.offsets is not None:
                return self._function_313(tstate)
            legacy = self._legacy()
            if legacy is not None:
                return self._function_legacy(tstate, legacy)
        except SafeAttachError:
            return None
        return None

    def _function_313(self, tstate: int) -> str | None:
        off = self.offsets
        assert off is not None
        frame = self.mem.read_u64(tstate + off.tstate_current_frame)
        for _ in range(MAX_FRAMES):
            if not frame or not self.plausible(frame):
                return None
            executable = self.mem.read_u64(frame + off["interpreter_frame.executable"]) & ~0x3
            if executable and self.plausible(executable) and self._type_name(executable) == "code":
                return self._unicode(self.mem.read_u64(executable + off["code_object.qualname"]))
            frame = self.mem.read_u64(frame + off["interpreter_frame.previous"])
        return None

    def _function_legacy(self, tstate: int, legacy: Pre313Layout) -> str | None:
        frame = self.mem.read_u64(tstate + legacy.tstate.frame)
        if legacy.cframe is not None:  # 3.11+: through the _PyCFrame
            if not self.plausible(frame):
                return None
            frame = self.mem.read_u64(frame + legacy.cframe.current_frame)
        if not frame or not self.plausible(frame):
            return None
        code = self.mem.read_u64(frame + legacy.frame.code)
        if not self.plausible(code):
            return None
        name = self.mem.read_u64(code + legacy.code.name)
        if not self.plausible(name):
            return None
        length = self.mem.read_u64(name + legacy.unicode.length)
        if length > 256:
            return None
        return self.mem.read(name + legacy.unicode.ascii_data, length).decode("ascii", "replace")

    def _type_name(self, obj: int) -> str | None:
        off = self.offsets
        assert off is not None
        tp = self.mem.read_u64(obj + off["pyobject.ob_type"])
        if not self.plausible(tp):
            return None
        name_ptr = self.mem.read_u64(tp + off["type_object.tp_name"])
        if not self.plausible(name_ptr, 1):
            return None
        return self.mem.read_cstring(name_ptr, 64).decode("ascii", "replace")

    def _unicode(self, obj: int) -> str | None:
        off = self.offsets
        assert off is not None
        if not self.plausible(obj):
            return None
        length = self.mem.read_u64(obj + off["unicode_object.length"])
        state = self.mem.read_u32(obj + off["unicode_object.state"])
        compact, ascii_ = (state >> 5) & 1, (state >> 6) & 1
        if length > 512 or not compact:
            return None
        if ascii_:
            data = self.mem.read(obj + off["unicode_object.asciiobject_size"], length)
            return data.decode("ascii", "replace")
        return None  # non-ASCII names: not worth the per-kind decoding here

    @property
    def legacy_layout(self) -> Pre313Layout | None:
        """The hand-checked layout of a pre-3.13 target (None with _Py_DebugOffsets or an unknown version)."""
        return self._legacy()

    def _legacy(self) -> Pre313Layout | None:
        if self.offsets is not None or self.version is None:
            return None
        from core.offsets.pre313 import PRE313_LAYOUTS  # read only for pre-3.13 targets (0.3 ms of start-up)

        return PRE313_LAYOUTS.get((self.version.major, self.version.minor))

    # -- lifecycle --------------------------------------------------------------------------------------
    def close(self) -> None:
        self.mem.close()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main_interpreter(interps: Sequence[InterpreterInfo]) -> InterpreterInfo | None:
    """The main interpreter (id 0); else the oldest one (the list runs newest first)."""
    return next((i for i in interps if i.is_main), interps[-1] if interps else None)


def recognise_version(loc: RuntimeLocation, mem: ProcessMemory) -> PythonVersion:
    """Py_Version symbol -> _Py_DebugOffsets.version -> version string in the binary -> binary name."""
    facts = loc.facts
    if facts is not None and facts.py_version:
        return PythonVersion.from_hex(facts.py_version, "Py_Version symbol")
    try:
        head = mem.read(loc.address, 16)
        if head[:8] == b"xdebugpy":
            return PythonVersion.from_hex(int.from_bytes(head[8:16], "little"), "_Py_DebugOffsets.version")
    except SafeAttachError:
        pass
    if facts is not None and facts.version_string is not None:
        major, minor, micro, _ = facts.version_string
        return PythonVersion(major, minor, micro, "final", 0, "version string in the binary")

    import re  # a last resort: most exec and info runs never get here

    match = re.search(r"python(\d)\.(\d+)", loc.binary)
    if match:
        return PythonVersion(int(match.group(1)), int(match.group(2)), 0, "final", 0, "binary name")
    raise SafeAttachError(FailureKind.UNSUPPORTED_VERSION, f"cannot tell the CPython version of {loc.binary}")


def open_target(pid: int, maps: list[MapEntry] | None = None) -> Target:
    """Open and fully read a target (all phases); the caller closes it (it is a context manager)."""
    target = Target(pid)
    target.maps = maps or []
    try:
        target.open_all()
    except BaseException:
        target.close()
        raise
    return target
