"""Property tests: the asyncio task walker over memory recorded from a live 3.14 target, then mutated.

tests/data/tasks/3.14.json holds every read a walk of tests/targets/asyncio_tasks.py (with its await cycle)
made (tests/support/record_tasks_image.py). Replayed unchanged it gives the recorded tasks; any mutation of task
lists, tasks, names, coroutines, frames, awaiter sets or the `.AsyncioDebug` table gives a (possibly
partial) result or a typed SafeAttachError, never another exception or an endless walk.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from repo_paths import DATA_DIR

from core.errors import FailureKind, SafeAttachError
from core.memory import ProcessMemory
from core.offsets import parse_debug_offsets
from core.walk.asyncio_offsets import TABLE_SIZE, AsyncioOffsets, parse_asyncio_offsets
from core.walk.layouts import layout_from_offsets
from core.walk.objects import RemoteObjects
from core.walk.pages import PagedMemory
from core.walk.tasks import TaskRecord, TaskWalker, ThreadTasks, _list, cycles_of

DATA = json.loads((DATA_DIR / "tasks/3.14.json").read_text())
OFF = parse_debug_offsets((DATA_DIR / "offsets/3.14.bin").read_bytes())
LAYOUT = layout_from_offsets(OFF, 14)
TABLE = bytes.fromhex(DATA["table"])


def _segments() -> list[tuple[int, bytearray]]:
    """The recorded reads merged into contiguous segments (start, bytes)."""
    out: list[tuple[int, bytearray]] = []
    for address, hexdata in sorted((int(a), h) for a, h in DATA["reads"]):
        data = bytes.fromhex(hexdata)
        if out and address <= out[-1][0] + len(out[-1][1]):
            start, seg = out[-1]
            end = address + len(data)
            if end > start + len(seg):
                seg.extend(b"\0" * (end - start - len(seg)))
            seg[address - start: end - start] = data
        else:
            out.append((address, bytearray(data)))
    return out


SEGMENTS = _segments()
TOTAL = sum(len(seg) for _, seg in SEGMENTS)


PAGE = 4096


class ImageMemory(ProcessMemory):
    """The pages the recorded reads touched are mapped (unrecorded bytes in them read as zero); any other
    address reads as a typed error, like an unmapped page."""

    def __init__(self, segments: list[tuple[int, bytearray]]) -> None:
        super().__init__(0x3FFFFFFF)
        self.pages: dict[int, bytearray] = {}
        for start, seg in segments:
            for at in range(start, start + len(seg)):
                page = self.pages.setdefault(at // PAGE, bytearray(PAGE))
                page[at % PAGE] = seg[at - start]

    def plausible(self, address: int, size: int = 8) -> bool:
        if address <= 0 or not 0 <= size <= 1 << 24:
            return False
        return all(p in self.pages for p in range(address // PAGE, (address + max(size, 1) - 1) // PAGE + 1))

    def read(self, address: int, size: int) -> bytes:
        if not self.plausible(address, size):
            raise SafeAttachError(FailureKind.PARSE, f"0x{address:x} unmapped")
        out = bytearray()
        at = address
        while len(out) < size:
            page = self.pages[at // PAGE]
            take = min(size - len(out), PAGE - at % PAGE)
            out += page[at % PAGE: at % PAGE + take]
            at += take
        return bytes(out)


def walk(segments: list[tuple[int, bytearray]], aio: AsyncioOffsets) -> list[ThreadTasks]:
    mem = ImageMemory(segments)
    walker = TaskWalker(RemoteObjects(mem, mem.plausible, LAYOUT), OFF, aio, 14)
    threads = [_list(walker, 0, i, None, h["head"], 0, h["running"]) for i, h in enumerate(DATA["heads"])]
    cycles_of({t.address: t for th in threads for t in th.tasks})
    return threads


def copy() -> list[tuple[int, bytearray]]:
    return [(start, bytearray(seg)) for start, seg in SEGMENTS]


def locate(flat: int) -> tuple[int, int]:
    """(segment index, offset) of the flat-th recorded byte."""
    for i, (_, seg) in enumerate(SEGMENTS):
        if flat < len(seg):
            return i, flat
        flat -= len(seg)
    raise IndexError(flat)


def _tasks(threads: list[ThreadTasks]) -> dict[int, TaskRecord]:
    return {t.address: t for th in threads for t in th.tasks}


def test_recorded_image_walks_as_recorded() -> None:
    threads = walk(copy(), parse_asyncio_offsets(TABLE))
    tasks = _tasks(threads)
    expected: dict[str, Any] = DATA["expected"]
    assert {str(a) for a in tasks} == set(expected)
    for address, want in expected.items():
        task = tasks[int(address)]
        assert (task.name, list(task.awaited_by), [f.qualname for f in task.coroutine_stack]) == (
            want["name"], want["awaited_by"], want["stack"])
        assert task.partial is None
    assert [list(c) for c in cycles_of(tasks)] == DATA["cycles"] and len(DATA["cycles"]) == 1


def test_list_loop_is_partial() -> None:
    segments = copy()
    mem = ImageMemory(segments)
    index = next(i for i, h in enumerate(DATA["heads"]) if mem.read_u64(h["head"]) != h["head"])
    first = mem.read_u64(DATA["heads"][index]["head"])
    for i, (start, seg) in enumerate(segments):  # the first node's next points back at itself
        if start <= first < start + len(seg):
            struct.pack_into("<Q", segments[i][1], first - start, first)
    threads = walk(segments, parse_asyncio_offsets(TABLE))
    assert threads[index].partial and "loops back" in threads[index].partial
    assert len(threads[index].tasks) == 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, TOTAL - 1), st.integers(0, 255)), min_size=1, max_size=24))
def test_mutated_bytes_give_partial_or_typed(mutations: list[tuple[int, int]]) -> None:
    segments = copy()
    for flat, value in mutations:
        i, at = locate(flat)
        segments[i][1][at] = value
    try:
        walk(segments, parse_asyncio_offsets(TABLE))
    except SafeAttachError:
        pass


POINTERS = [start for start, _ in SEGMENTS]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, TOTAL // 8), st.one_of(
    st.just(0), st.integers(0, (1 << 64) - 1),
    st.builds(lambda p, d: (p + d) % (1 << 64), st.sampled_from(POINTERS), st.integers(-64, 256)),
)), min_size=1, max_size=12))
def test_mutated_pointers_give_partial_or_typed(mutations: list[tuple[int, int]]) -> None:
    """Words replaced by null, noise, or pointers into other recorded objects (cross-links and loops)."""
    segments = copy()
    for word, value in mutations:
        i, at = locate(min(word * 8, TOTAL - 1))
        at -= at % 8
        if at + 8 <= len(segments[i][1]):
            struct.pack_into("<Q", segments[i][1], at, value)
    try:
        walk(segments, parse_asyncio_offsets(TABLE))
    except SafeAttachError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 1 << 20)), min_size=1, max_size=6))
def test_mutated_table_gives_typed_errors(fields: list[tuple[int, int]]) -> None:
    values = list(struct.unpack("<13Q", TABLE))
    for index, value in fields:
        values[index] = value
    try:
        aio = parse_asyncio_offsets(struct.pack("<13Q", *values))
    except SafeAttachError as exc:
        assert exc.kind is FailureKind.PARSE
        return
    try:
        walk(copy(), aio)
    except SafeAttachError:
        pass


@given(st.binary(max_size=TABLE_SIZE + 8))
def test_table_noise_gives_typed_errors(raw: bytes) -> None:
    try:
        parse_asyncio_offsets(raw)
    except SafeAttachError as exc:
        assert exc.kind is FailureKind.PARSE


PAGED_POINTS = st.builds(lambda p, d: max(1, p + d), st.sampled_from(POINTERS), st.integers(-8192, 8192))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(PAGED_POINTS, st.integers(0, 3 * 4096)), min_size=1, max_size=20))
def test_paged_reads_match_exact_reads(reads: list[tuple[int, int]]) -> None:
    """The walk's page cache returns exactly what the exact reads return, and fails where they fail."""
    inner = ImageMemory(copy())
    paged = PagedMemory(inner)
    for address, size in reads:
        try:
            want: bytes | None = inner.read(address, size)
        except SafeAttachError:
            want = None
        try:
            got: bytes | None = paged.read(address, size)
        except SafeAttachError:
            got = None
        assert got == want
