"""Reading Python objects out of a target: type names, str, bytes; every pointer checked, every size capped.

Anything implausible raises `WalkError` (a `SafeAttachError` of kind parse) so that a walker can stop and
mark its result partial.
"""

from __future__ import annotations

import struct

from core.errors import FailureKind, SafeAttachError
from core.memory import ProcessMemory
from core.walk.layouts import FrameLayout

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Plausible = Callable[[int, int], bool]

MAX_STR_CHARS = 4096  # file names and function names; longer is treated as corrupt
MAX_BYTES = 1 << 20  # a location table larger than 1 MiB is not a real one
MAX_TYPE_NAME = 128


class WalkError(SafeAttachError):
    def __init__(self, message: str) -> None:
        super().__init__(FailureKind.PARSE, message,
                         "The target's memory changed or is corrupt here; what was read before is shown.")


class RemoteObjects:
    """Typed reads of objects in one target, with small caches (types and strings do not move)."""

    def __init__(self, mem: ProcessMemory, plausible: Plausible, layout: FrameLayout) -> None:
        self.mem, self.plausible, self.layout = mem, plausible, layout
        self._type_names: dict[int, str | None] = {}

    def pointer(self, address: int, what: str, *, nullable: bool = False) -> int:
        value = self.mem.read_u64(address)
        if value == 0 and nullable:
            return 0
        if not self.plausible(value, 8) or value % 8:
            raise WalkError(f"implausible {what} pointer 0x{value:x} read at 0x{address:x}")
        return value

    def i32(self, address: int) -> int:
        return self.mem.read_i32(address)

    def type_name(self, obj: int) -> str | None:
        """tp_name of an object's type (None when the type pointer does not lead to a readable name)."""
        if not self.plausible(obj, 16):
            return None
        tp = self.mem.read_u64(obj + self.layout.ob_type)
        if tp in self._type_names:
            return self._type_names[tp]
        name: str | None = None
        if self.plausible(tp, 8) and not tp % 8:
            name_ptr = self.mem.read_u64(tp + self.layout.tp_name)
            if self.plausible(name_ptr, 1):
                name = self.mem.read_cstring(name_ptr, MAX_TYPE_NAME).decode("utf-8", "replace")
        self._type_names[tp] = name
        return name

    def is_a(self, obj: int, type_name: str) -> bool:
        return self.type_name(obj) == type_name

    def string(self, obj: int, what: str) -> str:
        """A compact str object's text (ASCII, latin-1, UCS-2 or UCS-4)."""
        if not self.is_a(obj, "str"):
            raise WalkError(f"{what} at 0x{obj:x} is not a str")
        lay = self.layout.strings
        length = self.mem.read_u64(obj + lay.length)
        state = self.mem.read_u32(obj + lay.state) >> lay.state_shift
        kind, compact, ascii_ = (state >> 2) & 7, (state >> 5) & 1, (state >> 6) & 1
        if length > MAX_STR_CHARS or not compact or kind not in (1, 2, 4) or (ascii_ and kind != 1):
            raise WalkError(f"{what} at 0x{obj:x} is not a plausible compact str (length {length})")
        start = obj + (lay.ascii_data if ascii_ else lay.compact_data)
        data = self.mem.read(start, length * kind)
        if kind == 1:
            return data.decode("ascii" if ascii_ else "latin-1", "replace")
        return data.decode("utf-16-le" if kind == 2 else "utf-32-le", "replace")

    def bytes_(self, obj: int, what: str, limit: int = MAX_BYTES) -> bytes:
        if not self.is_a(obj, "bytes"):
            raise WalkError(f"{what} at 0x{obj:x} is not a bytes object")
        size = self.mem.read_u64(obj + self.layout.var_size)
        if size > limit:
            raise WalkError(f"{what} at 0x{obj:x} claims {size} bytes")
        return self.mem.read(obj + self.layout.bytes_sval, size)

    def tuple_items(self, obj: int, what: str, limit: int) -> list[int]:
        if not self.is_a(obj, "tuple"):
            raise WalkError(f"{what} at 0x{obj:x} is not a tuple")
        size = self.mem.read_u64(obj + self.layout.var_size)
        if size > limit:
            raise WalkError(f"{what} at 0x{obj:x} claims {size} items")
        raw = self.mem.read(obj + self.layout.tuple_items, 8 * size)
        return list(struct.unpack(f"<{size}Q", raw))
