"""Code objects: names, file, first line and line table, read once per code object and cached."""

from __future__ import annotations

from core.records import dataclass
from core.walk.layouts import InstrKind, LineKind
from core.walk.linetable import lnotab_line, location_line
from core.walk.objects import RemoteObjects, WalkError

MAX_CODE_UNITS = 1 << 22  # ob_size of a code object (code units); larger is corrupt


@dataclass(frozen=True)
class CodeInfo:
    address: int
    name: str
    qualname: str | None
    filename: str
    first_line: int
    linetable: bytes
    code_units: int  # 3.11+: length of co_code_adaptive in code units (0 before)


class CodeReader:
    def __init__(self, objects: RemoteObjects) -> None:
        self.objects = objects
        self._cache: dict[int, CodeInfo] = {}
        self._lines: dict[tuple[int, int], int | None] = {}

    def cached(self, address: int) -> bool:
        return address in self._cache

    def read(self, address: int) -> CodeInfo:
        cached = self._cache.get(address)
        if cached is not None:
            return cached
        obj, lay = self.objects, self.objects.layout
        if not obj.is_a(address, "code"):
            raise WalkError(f"0x{address:x} is not a code object")
        name = obj.string(obj.pointer(address + lay.code_name, "co_name"), "co_name")
        qualname = None
        if lay.code_qualname is not None:
            qualname = obj.string(obj.pointer(address + lay.code_qualname, "co_qualname"), "co_qualname")
        filename = obj.string(obj.pointer(address + lay.code_filename, "co_filename"), "co_filename")
        first_line = obj.i32(address + lay.code_firstlineno)
        linetable = obj.bytes_(obj.pointer(address + lay.code_linetable, "co_linetable"), "co_linetable")
        units = 0
        if lay.code_adaptive is not None:
            units = obj.mem.read_u64(address + lay.var_size)
            if units > MAX_CODE_UNITS:
                raise WalkError(f"code object at 0x{address:x} claims {units} code units")
        info = CodeInfo(address, name, qualname, filename, first_line, linetable, units)
        self._cache[address] = info
        return info

    def line(self, code: CodeInfo, instr: int) -> int | None:
        """The line being executed, from the frame's instruction field (lasti or an instruction pointer)."""
        key = (code.address, instr)
        if key not in self._lines:
            self._lines[key] = self._line(code, instr)
        return self._lines[key]

    def _line(self, code: CodeInfo, instr: int) -> int | None:
        lay = self.objects.layout
        if lay.line_kind is LineKind.LNOTAB:
            return lnotab_line(code.linetable, code.first_line, instr) if instr >= -1 else None
        assert lay.code_adaptive is not None and lay.instr_kind is InstrKind.POINTER
        start = code.address + lay.code_adaptive
        delta = instr - start
        if delta % 2 or not -2 <= delta <= 2 * code.code_units:
            return None  # the pointer is outside this code object: a frame being set up or torn down
        return location_line(code.linetable, code.first_line, delta // 2)
