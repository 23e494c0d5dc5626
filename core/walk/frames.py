"""One thread's Python stack, innermost first: follow the frame chain from its thread state.

Bounded (MAX_FRAMES), loop-checked, every pointer validated; corrupt or changing memory ends the walk with
what was read so far and the reason, never an exception other than the process going away.
"""

from __future__ import annotations

import struct

from core.errors import FailureKind, SafeAttachError
from core.offsets import DebugOffsets
from core.offsets.pre313 import Pre313Layout
from core.records import dataclass
from core.walk.code import CodeReader
from core.walk.layouts import InstrKind
from core.walk.model import FrameRecord, LocalVar
from core.walk.objects import RemoteObjects, WalkError

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    LocalsReader = Callable[[int, int], tuple[LocalVar, ...]]  # (frame, code address) -> locals

MAX_FRAMES = 4096  # well above the default recursion limit (1000)


@dataclass
class WalkResult:
    frames: list[FrameRecord]
    partial: str | None = None


def fatal(exc: SafeAttachError) -> bool:
    """Errors that end the whole snapshot rather than one thread's walk."""
    return exc.kind in (FailureKind.PROCESS_EXITED, FailureKind.OPEN_PROCESS, FailureKind.NO_SUCH_PROCESS)


class FrameWalker:
    def __init__(self, objects: RemoteObjects, offsets: DebugOffsets | None, legacy: Pre313Layout | None,
                 locals_reader: LocalsReader | None = None) -> None:
        self.objects, self.offsets, self.legacy = objects, offsets, legacy
        self.code = CodeReader(objects)
        self.locals_reader = locals_reader

    def first_frame(self, tstate: int) -> int:
        obj = self.objects
        if self.offsets is not None:
            return obj.pointer(tstate + self.offsets.tstate_current_frame, "current_frame", nullable=True)
        assert self.legacy is not None
        start = obj.pointer(tstate + self.legacy.tstate.frame, "frame", nullable=True)
        if self.legacy.cframe is None or not start:  # 3.9: the frame itself
            return start
        return obj.pointer(start + self.legacy.cframe.current_frame, "cframe.current_frame", nullable=True)

    def walk(self, tstate: int) -> WalkResult:
        result = WalkResult([])
        try:
            self._walk(self.first_frame(tstate), result)
        except SafeAttachError as exc:
            if fatal(exc):
                raise
            result.partial = exc.message
        return result

    def _walk(self, frame: int, result: WalkResult) -> None:
        obj, lay = self.objects, self.objects.layout
        seen: set[int] = set()
        while frame:
            if frame in seen:
                raise WalkError(f"the frame chain loops back to 0x{frame:x}")
            if len(seen) >= MAX_FRAMES:
                raise WalkError(f"more than {MAX_FRAMES} frames; the rest is not shown")
            seen.add(frame)
            if lay.instr_kind is InstrKind.LASTI_BYTES and not obj.is_a(frame, "frame"):
                raise WalkError(f"0x{frame:x} is not a frame object")
            raw = obj.mem.read(frame, lay.frame_span)
            record = self._record(frame, raw)
            if record is not None:
                result.frames.append(record)
            frame = _u64(raw, lay.frame_previous)
            if frame and (not obj.plausible(frame, lay.frame_span) or frame % 8):
                raise WalkError(f"implausible previous-frame pointer 0x{frame:x}")

    def _record(self, frame: int, raw: bytes) -> FrameRecord | None:
        obj, lay = self.objects, self.objects.layout
        if lay.frame_owner is not None and raw[lay.frame_owner] == lay.cstack_owner:
            return None  # a shim frame the interpreter pushes when C calls into Python
        code_addr = _u64(raw, lay.frame_code) & ~lay.code_tag_mask
        known = self.code.cached(code_addr)  # a code object already read in this snapshot
        if lay.instr_kind is InstrKind.POINTER and not known and not obj.is_a(code_addr, "code"):
            return None  # 3.13+: entry frames and frames of non-code executables hold None or another object
        code = self.code.read(code_addr)
        if lay.instr_kind is InstrKind.LASTI_BYTES:
            instr = struct.unpack_from("<i", raw, lay.frame_instr)[0]
        else:
            instr = _u64(raw, lay.frame_instr)
        local_vars = self.locals_reader(frame, code_addr) if self.locals_reader is not None else None
        return FrameRecord(code.name, code.qualname, code.filename, self.code.line(code, instr), code.first_line,
                           local_vars)


def _u64(raw: bytes, offset: int) -> int:
    return int(struct.unpack_from("<Q", raw, offset)[0])
