"""Locals of a frame as bounded, validated reprs: None, bool, int, float, str, bytes; sizes of containers;
anything else by its type name. Nothing is called in the target (no tp_repr): every value is decoded here.
"""

from __future__ import annotations

import struct

from core.errors import SafeAttachError
from core.walk.frames import fatal
from core.walk.model import LocalVar
from core.walk.objects import RemoteObjects, WalkError

MAX_LOCALS = 64  # per frame
MAX_NAMES = 4096  # a co_localsplusnames larger than this is corrupt
MAX_INT_DIGITS = 8  # 30-bit digits: ints up to 2**240 are shown, larger ones by size
MAX_SHOWN_CHARS = 60
MAX_CONTAINER = 1 << 40
CONTAINERS = {"list": "var", "tuple": "var", "dict": "var", "set": "set", "frozenset": "set"}


class LocalsReader:
    def __init__(self, objects: RemoteObjects) -> None:
        self.objects = objects

    def read(self, frame: int, code: int) -> tuple[LocalVar, ...]:
        obj, lay = self.objects, self.objects.layout
        if lay.code_localsplusnames is None or lay.frame_localsplus is None:
            return ()
        names_tuple = obj.pointer(code + lay.code_localsplusnames, "co_localsplusnames")
        names = obj.tuple_items(names_tuple, "co_localsplusnames", MAX_NAMES)[:MAX_LOCALS]
        raw = obj.mem.read(frame + lay.frame_localsplus, 8 * len(names)) if names else b""
        values = struct.unpack(f"<{len(names)}Q", raw)
        out = []
        for name_ptr, value in zip(names, values, strict=True):
            value &= ~lay.code_tag_mask  # 3.14+: tagged stack references
            if not value:
                continue  # not bound yet
            try:
                name = obj.string(name_ptr, "local name")
                shown = self.repr(value)
            except SafeAttachError as exc:
                if fatal(exc):
                    raise
                continue
            out.append(LocalVar(name, shown))
        return tuple(out)

    def repr(self, value: int) -> str:
        obj, lay = self.objects, self.objects.layout
        type_name = obj.type_name(value)
        if type_name is None:
            raise WalkError(f"local at 0x{value:x} has no readable type")
        if type_name == "NoneType":
            return "None"
        if type_name in ("int", "bool"):
            number = self._int(value)
            return ("True" if number else "False") if type_name == "bool" else number_repr(number)
        if type_name == "float":
            return repr(struct.unpack("<d", obj.mem.read(value + lay.float_value, 8))[0])
        if type_name == "str":
            try:
                return _cut(repr(obj.string(value, "str local")))
            except WalkError:
                return "str (not shown)"
        if type_name == "bytes":
            size = obj.mem.read_u64(value + lay.var_size)
            if size > MAX_CONTAINER:
                raise WalkError("implausible bytes size")
            data = obj.mem.read(value + lay.bytes_sval, min(size, MAX_SHOWN_CHARS))
            return _cut(repr(data)) + ("" if size <= MAX_SHOWN_CHARS else f" ({size} bytes)")
        how = CONTAINERS.get(type_name)
        if how is not None:
            size = obj.mem.read_u64(value + (lay.var_size if how == "var" else lay.set_used))
            if size > MAX_CONTAINER:
                raise WalkError(f"implausible {type_name} size")
            return f"{type_name} ({size} items)"
        return f"<{type_name}>"

    def _int(self, value: int) -> int | None:
        obj, lay = self.objects, self.objects.layout
        header = obj.mem.read_u64(value + lay.var_size)
        if lay.long_tagged:
            ndigits, sign = header >> 3, header & 3
            negative, zero = sign == 2, sign == 1
        else:
            signed = struct.unpack("<q", struct.pack("<Q", header))[0]
            ndigits, negative, zero = abs(signed), signed < 0, signed == 0
        if zero or ndigits == 0:
            return 0
        if ndigits > MAX_INT_DIGITS:
            return None
        digits = struct.unpack(f"<{ndigits}I", obj.mem.read(value + lay.long_digits, 4 * ndigits))
        number = sum(int(d & 0x3FFFFFFF) << (30 * i) for i, d in enumerate(digits))
        return -number if negative else number


def number_repr(number: int | None) -> str:
    return "int (too large to show)" if number is None else str(number)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"

