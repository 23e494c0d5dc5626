"""Where frames and code objects keep what a stack walk needs, per CPython version (x86_64).

3.13+ take every offset from the target's `_Py_DebugOffsets`; 3.9, 3.11 and 3.12 take theirs from the
hand-checked tables of `core/offsets/pre313.py` (where they are named and their provenance is given).
"""

from __future__ import annotations

from core.enums import Enum
from core.offsets import DebugOffsets
from core.offsets.pre313 import PRE313_LAYOUTS, Pre313Layout
from core.records import dataclass


class InstrKind(str, Enum):
    LASTI_BYTES = "lasti"  # 3.9: int f_lasti, a byte offset into co_code
    POINTER = "pointer"  # 3.11+: a pointer into co_code_adaptive (prev_instr / instr_ptr)


class LineKind(str, Enum):
    LNOTAB = "lnotab"  # 3.9
    LOCATIONS = "locations"  # 3.11+


@dataclass(frozen=True)
class StringLayout:
    state: int
    length: int
    ascii_data: int  # characters of a compact ASCII string
    compact_data: int  # characters of a compact non-ASCII string
    state_shift: int = 0  # free-threaded builds keep `interned` in a whole byte before the bit fields


@dataclass(frozen=True)
class FrameLayout:
    frame_previous: int
    frame_code: int  # f_code / f_executable
    frame_instr: int
    instr_kind: InstrKind
    frame_owner: int | None  # char owner (3.12+), to skip the C-stack shim frames
    cstack_owner: int | None  # FRAME_OWNED_BY_CSTACK
    code_tag_mask: int  # 3.14+ f_executable is a tagged _PyStackRef
    code_filename: int
    code_name: int
    code_qualname: int | None
    code_firstlineno: int
    code_linetable: int
    code_adaptive: int | None  # co_code_adaptive (3.11+)
    code_localsplusnames: int | None
    code_argcount: int
    frame_localsplus: int | None  # 3.9: f_localsplus after the 20 PyTryBlocks of f_blockstack
    line_kind: LineKind
    long_tagged: bool = True  # 3.12+: int objects carry lv_tag (ndigits << 3 | sign) instead of a signed ob_size
    long_digits: int = 24
    float_value: int = 16
    set_used: int = 24
    ob_type: int = 8
    tp_name: int = 24
    var_size: int = 16  # ob_size of a PyVarObject (bytes length, code units of a code object)
    bytes_sval: int = 32
    tuple_items: int = 24
    strings: StringLayout = StringLayout(32, 16, 48, 72)

    @property
    def frame_span(self) -> int:
        """Bytes of a frame the walk uses, read at once (one read per frame, not one per field)."""
        return max(self.frame_previous, self.frame_code, self.frame_instr, self.frame_owner or 0) + 8


def layout_from_pre313(t: Pre313Layout) -> FrameLayout:
    """3.9, 3.11, 3.12: from the version's hand-checked table."""
    fr, co, ob = t.frame, t.code, t.objects
    before_311 = t.version < (3, 11)
    return FrameLayout(
        frame_previous=fr.previous, frame_code=fr.code, frame_instr=fr.instr,
        instr_kind=InstrKind.LASTI_BYTES if before_311 else InstrKind.POINTER,
        frame_owner=fr.owner, cstack_owner=fr.owned_by_cstack, code_tag_mask=0,
        code_filename=co.filename, code_name=co.name, code_qualname=co.qualname, code_firstlineno=co.firstlineno,
        code_linetable=co.linetable, code_adaptive=co.code_adaptive, code_localsplusnames=co.localsplusnames,
        code_argcount=co.argcount, frame_localsplus=fr.localsplus,
        line_kind=LineKind.LNOTAB if before_311 else LineKind.LOCATIONS,
        long_tagged=ob.long_tagged, long_digits=ob.long_digits, float_value=ob.float_value, set_used=ob.set_used,
        ob_type=ob.ob_type, tp_name=ob.tp_name, var_size=ob.var_size, bytes_sval=ob.bytes_sval,
        tuple_items=ob.tuple_items,
        strings=StringLayout(t.unicode.state, t.unicode.length, t.unicode.ascii_data, t.unicode.compact_data),
    )


LEGACY_FRAME_LAYOUTS: dict[tuple[int, int], FrameLayout] = {
    version: layout_from_pre313(table) for version, table in PRE313_LAYOUTS.items()
}
VERIFIED_LIVE = frozenset(version for version, table in PRE313_LAYOUTS.items() if table.verified_live)

# FRAME_OWNED_BY_CSTACK: 3 in 3.13 (pycore_frame.h), 4 in 3.14+ where FRAME_OWNED_BY_INTERPRETER = 3 came in
_CSTACK_OWNER = {13: 3}


def layout_from_offsets(off: DebugOffsets, minor: int) -> FrameLayout:
    """3.13+: every field from the target's own table."""
    ascii_size = off["unicode_object.asciiobject_size"]
    compact = off.get("unicode_object.compactunicodeobject_size") or ascii_size + 16  # + utf8_length, utf8
    return FrameLayout(
        frame_previous=off["interpreter_frame.previous"], frame_code=off["interpreter_frame.executable"],
        frame_instr=off["interpreter_frame.instr_ptr"], instr_kind=InstrKind.POINTER,
        frame_owner=off["interpreter_frame.owner"], cstack_owner=_CSTACK_OWNER.get(minor, 4),
        code_tag_mask=0x3 if minor >= 14 else 0,
        code_filename=off["code_object.filename"], code_name=off["code_object.name"],
        code_qualname=off["code_object.qualname"], code_firstlineno=off["code_object.firstlineno"],
        code_linetable=off["code_object.linetable"], code_adaptive=off["code_object.co_code_adaptive"],
        code_localsplusnames=off["code_object.localsplusnames"], code_argcount=off["code_object.argcount"],
        frame_localsplus=off["interpreter_frame.localsplus"], line_kind=LineKind.LOCATIONS,
        ob_type=off["pyobject.ob_type"], tp_name=off["type_object.tp_name"],
        var_size=off["bytes_object.ob_size"], bytes_sval=off["bytes_object.ob_sval"],
        tuple_items=off["tuple_object.ob_item"], long_digits=off["long_object.ob_digit"],
        float_value=off["float_object.ob_fval"], set_used=off.get("set_object.used") or 24,
        strings=StringLayout(off["unicode_object.state"], off["unicode_object.length"], ascii_size, compact,
                             state_shift=6 if off.free_threaded else 0),
    )


def frame_layout(major: int, minor: int, off: DebugOffsets | None) -> FrameLayout | None:
    if off is not None:
        return layout_from_offsets(off, minor)
    return LEGACY_FRAME_LAYOUTS.get((major, minor))
