"""Property tests: the interpreter/thread walker over random and mutated memory images.

Whatever the target's memory holds, walking it raises only SafeAttachError (never another exception,
never an endless loop).
"""

from __future__ import annotations

import random
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from repo_paths import DATA_DIR

from core.errors import FailureKind, SafeAttachError
from core.memory import ProcessMemory
from core.model import PythonVersion
from core.offsets import parse_debug_offsets
from core.runtime import RuntimeLocation
from core.target import Target, _Bounds

BASE = 0x10000000
SIZE = 0x80000
BLOB = (DATA_DIR / "offsets/3.14.bin").read_bytes()
OFF = parse_debug_offsets(BLOB)
INTERP, TS1, TS2 = BASE + 0x1000, BASE + 0x60000, BASE + 0x70000


class FakeMemory(ProcessMemory):
    """ProcessMemory over a bytearray image; reads outside it fail like an unmapped address."""

    def __init__(self, image: bytearray) -> None:
        super().__init__(0x3FFFFFFF)
        self.image = image

    def read(self, address: int, size: int) -> bytes:
        if address < BASE or address + size > BASE + len(self.image) or size < 0:
            raise SafeAttachError(FailureKind.PARSE, f"0x{address:x} unmapped")
        return bytes(self.image[address - BASE : address - BASE + size])


def good_image() -> bytearray:
    img = bytearray(SIZE)

    def put(addr: int, value: int, fmt: str = "<Q") -> None:
        struct.pack_into(fmt, img, addr - BASE, value)

    img[0 : len(BLOB)] = BLOB
    put(BASE + OFF.interpreters_head, INTERP)
    put(INTERP + OFF.interp_threads_head, TS1)
    put(INTERP + OFF["interpreter_state.threads_main"], TS1)
    put(INTERP + OFF.remote_debugging_enabled, 1, "<i")
    put(TS1 + OFF.tstate_next, TS2)
    for ts, native in ((TS1, 0x3FFFFFF0), (TS2, 0x3FFFFFF1)):
        put(ts + OFF.tstate_thread_id, 0x7F0000000000 + native)
        put(ts + OFF.tstate_native_thread_id, native)
    return img


def make_target(image: bytearray) -> Target:
    target = Target(0x3FFFFFFF)
    target.mem = FakeMemory(image)
    target.offsets = OFF
    target.version = PythonVersion.from_hex(0x030E0AF0, "test")
    target.location = RuntimeLocation(BASE, "fake", "direct", "test", None, True, False, False)
    target._bounds = _Bounds([(BASE, BASE + SIZE)])
    return target


def walk(target: Target) -> None:
    try:
        target.interpreters()
        target.threads()
    except SafeAttachError:
        pass


def test_good_image_walks() -> None:
    target = make_target(good_image())
    (interp,) = target.interpreters()
    assert interp.threads_main == TS1 and interp.remote_debugging_enabled is True
    threads = target.threads()
    assert [t.native_thread_id for t in threads] == [0x3FFFFFF0, 0x3FFFFFF1]
    assert [t.is_main for t in threads] == [True, False]
    assert all(t.os_state == "?" for t in threads)


def test_cyclic_thread_list_is_a_parse_error() -> None:
    img = good_image()
    struct.pack_into("<Q", img, TS2 + OFF.tstate_next - BASE, TS1)
    target = make_target(img)
    try:
        target.threads()
    except SafeAttachError as exc:
        assert "loops" in exc.message
    else:
        raise AssertionError("a cyclic list must be reported")


pointer = st.one_of(
    st.integers(0, 2**64 - 1),
    st.integers(BASE - 64, BASE + SIZE + 64),
    st.sampled_from([0, INTERP, TS1, TS2, BASE]),
)
hot_words = st.sampled_from(
    [BASE + OFF.interpreters_head, INTERP + OFF.interp_threads_head, INTERP + OFF.interp_next,
     INTERP + OFF["interpreter_state.threads_main"], TS1 + OFF.tstate_next, TS2 + OFF.tstate_next,
     TS1 + OFF.tstate_current_frame, TS2 + OFF.tstate_current_frame, INTERP + OFF.interp_id]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(st.lists(st.tuples(hot_words, pointer), min_size=1, max_size=6))
def test_mutated_pointers_only_raise_typed_errors(mutations: list[tuple[int, int]]) -> None:
    img = good_image()
    for addr, value in mutations:
        struct.pack_into("<Q", img, addr - BASE, value)
    walk(make_target(img))


@settings(max_examples=100, deadline=None, database=None)
@given(st.integers(0, 2**32))
def test_random_images_only_raise_typed_errors(seed: int) -> None:
    img = bytearray(random.Random(seed).randbytes(SIZE))
    img[0 : len(BLOB)] = BLOB
    walk(make_target(img))


@settings(max_examples=200, deadline=None, database=None)
@given(st.integers(0, SIZE - 8), st.integers(0, 2**64 - 1))
def test_any_word_mutation_only_raises_typed_errors(offset: int, value: int) -> None:
    img = good_image()
    struct.pack_into("<Q", img, offset - offset % 8, value)
    walk(make_target(img))
