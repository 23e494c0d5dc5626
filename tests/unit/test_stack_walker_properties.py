"""Property tests: the frame and code-object walkers over a synthetic 3.14 image, then mutated.

A good image walks to the expected stack; any mutation of frames, code objects, strings, line tables or
values (for --locals) gives a (possibly partial) result or a typed SafeAttachError, never another
exception or an endless loop.
"""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from repo_paths import DATA_DIR

from core.errors import FailureKind, SafeAttachError
from core.memory import ProcessMemory
from core.offsets import parse_debug_offsets
from core.walk.frames import FrameWalker
from core.walk.layouts import layout_from_offsets
from core.walk.linetable import lnotab_line, location_line
from core.walk.objects import RemoteObjects
from core.walk.values import LocalsReader

BASE, SIZE = 0x20000000, 0x4000
OFF = parse_debug_offsets((DATA_DIR / "offsets/3.14.bin").read_bytes())
LAYOUT = layout_from_offsets(OFF, 14)
TSTATE, TYPES, STRS, CODE, FRAMES = BASE + 0x100, BASE + 0x400, BASE + 0x1000, BASE + 0x2000, BASE + 0x3000
TYPE_NAMES = ("code", "str", "bytes")
# one line-table entry per code unit pair: "NO_COLUMNS, 2 units, line +1" three times
LINETABLE = bytes([0x80 | (13 << 3) | 1, 2]) * 3


class FakeMemory(ProcessMemory):
    def __init__(self, image: bytearray) -> None:
        super().__init__(0x3FFFFFFF)
        self.image = image

    def read(self, address: int, size: int) -> bytes:
        if size < 0 or address < BASE or address + size > BASE + len(self.image):
            raise SafeAttachError(FailureKind.PARSE, f"0x{address:x} unmapped")
        return bytes(self.image[address - BASE: address - BASE + size])


def _put(img: bytearray, addr: int, value: int, fmt: str = "<Q") -> None:
    struct.pack_into(fmt, img, addr - BASE, value)


def good_image() -> tuple[bytearray, int]:
    """A thread state whose chain is f2 -> f1 -> f0 (innermost first); f1 is a C-stack shim frame."""
    img = bytearray(SIZE)
    types = {}
    for i, name in enumerate(TYPE_NAMES):
        tp, text = TYPES + 0x80 * i, TYPES + 0x80 * i + 0x40
        img[text - BASE: text - BASE + len(name) + 1] = name.encode() + b"\0"
        _put(img, tp + LAYOUT.tp_name, text)
        types[name] = tp
    strings = {}
    for i, text in enumerate(("work", "module.work", "app.py")):
        obj = STRS + 0x100 * i
        _put(img, obj + LAYOUT.ob_type, types["str"])
        _put(img, obj + LAYOUT.strings.length, len(text))
        _put(img, obj + LAYOUT.strings.state, (1 << 2) | (1 << 5) | (1 << 6), "<I")  # kind 1, compact, ascii
        img[obj + LAYOUT.strings.ascii_data - BASE: obj + LAYOUT.strings.ascii_data - BASE + len(text)] = text.encode()
        strings[text] = obj
    table = STRS + 0x400
    _put(img, table + LAYOUT.ob_type, types["bytes"])
    _put(img, table + LAYOUT.var_size, len(LINETABLE))
    img[table + LAYOUT.bytes_sval - BASE: table + LAYOUT.bytes_sval - BASE + len(LINETABLE)] = LINETABLE
    _put(img, CODE + LAYOUT.ob_type, types["code"])
    _put(img, CODE + LAYOUT.var_size, 6)
    _put(img, CODE + LAYOUT.code_name, strings["work"])
    assert LAYOUT.code_qualname is not None and LAYOUT.code_adaptive is not None
    _put(img, CODE + LAYOUT.code_qualname, strings["module.work"])
    _put(img, CODE + LAYOUT.code_filename, strings["app.py"])
    _put(img, CODE + LAYOUT.code_linetable, table)
    _put(img, CODE + LAYOUT.code_firstlineno, 10, "<i")
    frames = [FRAMES + 0x100 * i for i in range(3)]
    for i, frame in enumerate(frames):
        _put(img, frame + LAYOUT.frame_code, CODE | 1)  # a tagged stack reference
        _put(img, frame + LAYOUT.frame_instr, CODE + LAYOUT.code_adaptive + 2 * (2 * i))
        _put(img, frame + LAYOUT.frame_previous, frames[i - 1] if i else 0)
    assert LAYOUT.frame_owner is not None and LAYOUT.cstack_owner is not None
    img[frames[1] + LAYOUT.frame_owner - BASE] = LAYOUT.cstack_owner
    _put(img, TSTATE + OFF.tstate_current_frame, frames[2])
    return img, len(frames)


def walker(img: bytearray) -> FrameWalker:
    mem = FakeMemory(img)

    def plausible(address: int, size: int) -> bool:
        return BASE <= address and address + size <= BASE + SIZE

    return FrameWalker(RemoteObjects(mem, plausible, LAYOUT), OFF, None)


def test_good_image_walks() -> None:
    img, _ = good_image()
    result = walker(img).walk(TSTATE)
    assert result.partial is None
    assert [(f.function, f.qualname, f.filename, f.line) for f in result.frames] == [
        ("work", "module.work", "app.py", 13), ("work", "module.work", "app.py", 11)]


def test_loop_is_partial() -> None:
    img, _ = good_image()
    _put(img, FRAMES + LAYOUT.frame_previous, FRAMES + 0x200)  # f0 -> f2 again
    result = walker(img).walk(TSTATE)
    assert result.partial is not None and "loops" in result.partial
    assert len(result.frames) == 2


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, SIZE - 1), st.integers(0, 255)), min_size=1, max_size=24))
def test_mutated_bytes_give_partial_or_typed(mutations: list[tuple[int, int]]) -> None:
    img, count = good_image()
    for pos, value in mutations:
        img[pos] = value
    try:
        result = walker(img).walk(TSTATE)
    except SafeAttachError:
        return
    assert len(result.frames) <= count or result.partial is not None


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["frame_previous", "frame_code", "frame_instr", "code_name", "code_filename",
                        "code_linetable", "code_firstlineno", "var_size"]),
       st.integers(0, 2), st.integers(0, (1 << 64) - 1))
def test_mutated_fields_give_partial_or_typed(field: str, which: int, value: int) -> None:
    img, _ = good_image()
    base = FRAMES + 0x100 * which if field.startswith("frame") else CODE
    _put(img, base + getattr(LAYOUT, field), value)
    try:
        walker(img).walk(TSTATE)
    except SafeAttachError:
        pass


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64), st.integers(-5, 200), st.integers(-(1 << 31), 1 << 31))
def test_line_tables_never_raise(table: bytes, addr: int, first: int) -> None:
    line = location_line(table, first, addr)
    assert line is None or isinstance(line, int)
    assert isinstance(lnotab_line(table, first, addr), int)


@settings(max_examples=300, deadline=None)
@given(st.integers(BASE - 64, BASE + SIZE + 64), st.binary(min_size=64, max_size=64))
def test_value_reprs_never_raise_untyped(address: int, noise: bytes) -> None:
    img, _ = good_image()
    spot = (address - BASE) % (SIZE - 64)
    img[spot: spot + 64] = noise
    reader = LocalsReader(walker(img).objects)
    try:
        assert isinstance(reader.repr(address), str)
    except SafeAttachError:
        pass
    try:
        reader.read(FRAMES, CODE)
    except SafeAttachError:
        pass
