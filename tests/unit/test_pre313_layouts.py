"""The pre-3.13 tables (core/offsets/pre313.py) hold exactly the numbers the readers were verified with.

No raw recording of a pre-3.13 target exists in tests/data (those versions have no `_Py_DebugOffsets` to
record); the live checks are tests/live/test_read_live.py and tests/live/test_stack_live.py. This pins every value as
it stood when the tables were positional (core/legacy_layouts.py, core/walk/layouts.py), so a later edit
changes one named number on purpose, never one by position."""

from __future__ import annotations

import dataclasses

import pytest

from core.offsets.pre313 import PRE313_LAYOUTS, PTHREAD_TID_OFFSET, Pre313Layout
from core.walk.layouts import LEGACY_FRAME_LAYOUTS, VERIFIED_LIVE, InstrKind, LineKind, StringLayout, frame_layout

# the thread walk's table as it was: interpreters_head, interpreters_main, interp_next, interp_threads_head,
# interp_id, tstate_next, tstate_frame, cframe_current_frame, tstate_thread_id, tstate_native_thread_id,
# frame_code, frame_previous, code_name, ascii_data
THREAD_WALK = {
    (3, 9): (32, 40, 0, 8, 24, 8, 24, None, 176, None, 32, 24, 112, 48),
    (3, 11): (40, 48, 0, 16, 48, 8, 56, 8, 152, 160, 32, 48, 120, 48),
    (3, 12): (40, 48, 0, 72, 8, 8, 56, 0, 136, 144, 0, 8, 120, 40),
}
# the stack walk's table as it was (fields with their defaults omitted)
STACK_WALK = {
    (3, 9): dict(frame_previous=24, frame_code=32, frame_instr=104, instr_kind=InstrKind.LASTI_BYTES,
                 frame_owner=None, cstack_owner=None, code_tag_mask=0, code_filename=104, code_name=112,
                 code_qualname=None, code_firstlineno=40, code_linetable=120, code_adaptive=None,
                 code_localsplusnames=72, code_argcount=16, frame_localsplus=360, line_kind=LineKind.LNOTAB,
                 long_tagged=False),
    (3, 11): dict(frame_previous=48, frame_code=32, frame_instr=56, instr_kind=InstrKind.POINTER, frame_owner=None,
                  cstack_owner=None, code_tag_mask=0, code_filename=112, code_name=120, code_qualname=128,
                  code_firstlineno=72, code_linetable=136, code_adaptive=184, code_localsplusnames=96,
                  code_argcount=56, frame_localsplus=72, line_kind=LineKind.LOCATIONS, long_tagged=False),
    (3, 12): dict(frame_previous=8, frame_code=0, frame_instr=56, instr_kind=InstrKind.POINTER, frame_owner=70,
                  cstack_owner=3, code_tag_mask=0, code_filename=112, code_name=120, code_qualname=128,
                  code_firstlineno=68, code_linetable=136, code_adaptive=192, code_localsplusnames=96,
                  code_argcount=52, frame_localsplus=72, line_kind=LineKind.LOCATIONS,
                  strings=StringLayout(32, 16, 40, 56)),
}
DEFAULTS = dict(long_tagged=True, long_digits=24, float_value=16, set_used=24, ob_type=8, tp_name=24, var_size=16,
                bytes_sval=32, tuple_items=24, strings=StringLayout(32, 16, 48, 72))


def flat(t: Pre313Layout) -> tuple[int | None, ...]:
    return (t.runtime.interpreters_head, t.runtime.interpreters_main, t.interp.next, t.interp.threads_head,
            t.interp.id, t.tstate.next, t.tstate.frame, t.cframe.current_frame if t.cframe else None,
            t.tstate.thread_id, t.tstate.native_thread_id, t.frame.code, t.frame.previous, t.code.name,
            t.unicode.ascii_data)


def test_the_versions_are_the_same() -> None:
    assert set(PRE313_LAYOUTS) == set(THREAD_WALK) == set(STACK_WALK) == set(LEGACY_FRAME_LAYOUTS)
    assert all(t.version == v for v, t in PRE313_LAYOUTS.items())
    assert VERIFIED_LIVE == {(3, 9), (3, 11)}
    assert PTHREAD_TID_OFFSET == 0x2D0


@pytest.mark.parametrize("version", sorted(THREAD_WALK))
def test_thread_walk_values_unchanged(version: tuple[int, int]) -> None:
    assert flat(PRE313_LAYOUTS[version]) == THREAD_WALK[version]


@pytest.mark.parametrize("version", sorted(STACK_WALK))
def test_stack_walk_values_unchanged(version: tuple[int, int]) -> None:
    expected = {**DEFAULTS, **STACK_WALK[version]}
    assert dataclasses.asdict(LEGACY_FRAME_LAYOUTS[version]) == {
        k: dataclasses.asdict(v) if isinstance(v, StringLayout) else v for k, v in expected.items()
    }
    assert frame_layout(*version, None) is LEGACY_FRAME_LAYOUTS[version]


def test_every_field_is_named_and_typed() -> None:
    """One table per version of frozen per-struct records: no positional tuple, no field left unset."""
    for table in PRE313_LAYOUTS.values():
        for part in dataclasses.fields(table):
            value = getattr(table, part.name)
            if dataclasses.is_dataclass(value):
                first = dataclasses.fields(value)[0].name
                with pytest.raises(dataclasses.FrozenInstanceError):
                    setattr(value, first, 0)
                for f in dataclasses.fields(value):
                    v = getattr(value, f.name)
                    assert v is None or (isinstance(v, int) and v >= 0), (table.version, part.name, f.name)
