"""ProcessMemory writes through /proc/PID/mem only into memory the process may write itself: the kernel
forces a /proc/PID/mem write through read-only pages, so the range is checked against /proc/PID/maps first.
Checked on this test process's own memory (a writable buffer, a read-only mapping, code, a range that runs
off the end of a writable mapping)."""

from __future__ import annotations

import ctypes
import mmap
import os
from collections.abc import Iterator

import pytest

from core.errors import FailureKind, SafeAttachError
from core.memory import ProcessMemory, covered

PAGE = mmap.PAGESIZE
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


@pytest.fixture
def pages() -> Iterator[int]:
    """Two anonymous pages: the first read-write, the second read-only."""
    address = libc.mmap(None, 2 * PAGE, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                        -1, 0)
    assert address not in (None, ctypes.c_void_p(-1).value)
    ctypes.memset(address, 0x11, 2 * PAGE)
    assert libc.mprotect(address + PAGE, PAGE, mmap.PROT_READ) == 0
    yield address
    libc.munmap(address, 2 * PAGE)


def _refused(mem: ProcessMemory, address: int, data: bytes) -> SafeAttachError:
    with pytest.raises(SafeAttachError) as info:
        mem.write(address, data)
    assert info.value.kind is FailureKind.PARSE
    assert "not writable" in info.value.message
    return info.value


def test_writes_into_writable_memory(pages: int) -> None:
    with ProcessMemory(os.getpid()) as mem:
        mem.write(pages + 8, b"written")
        mem.write_u64(pages + 64, 0x1122334455667788)
        assert ctypes.string_at(pages + 8, 7) == b"written"
        assert mem.read_u64(pages + 64) == 0x1122334455667788


def test_a_read_only_mapping_is_left_unchanged(pages: int) -> None:
    with ProcessMemory(os.getpid()) as mem:
        _refused(mem, pages + PAGE + 16, b"\xff" * 8)
        _refused(mem, pages + PAGE - 4, b"\xff" * 8)  # starts writable, runs into the read-only page
    assert ctypes.string_at(pages + PAGE - 4, 12) == b"\x11" * 12


def test_code_is_left_unchanged() -> None:
    code = ctypes.cast(libc.getpid, ctypes.c_void_p).value
    assert code is not None
    before = ctypes.string_at(code, 8)
    with ProcessMemory(os.getpid()) as mem:
        _refused(mem, code, b"\xcc" * 8)  # int3: what a forced write would leave in getpid
    assert ctypes.string_at(code, 8) == before
    assert libc.getpid() == os.getpid()


def test_memory_mapped_after_the_first_write_is_found(pages: int) -> None:
    with ProcessMemory(os.getpid()) as mem:
        mem.write(pages, b"a")  # the writable mappings are read now
        later = libc.mmap(None, PAGE, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                          -1, 0)
        try:
            mem.write(later, b"later")  # not in the mappings read before: read again, then written
            assert ctypes.string_at(later, 5) == b"later"
        finally:
            libc.munmap(later, PAGE)


def test_a_page_made_read_only_after_a_write_is_refused(pages: int) -> None:
    """The mappings are read again for every write: one read before the page changed must not let a later
    write through (a forced /proc/PID/mem write would change a read-only or PROT_NONE page)."""
    with ProcessMemory(os.getpid()) as mem:
        mem.write(pages, b"first")
        assert libc.mprotect(pages, PAGE, mmap.PROT_READ) == 0
        _refused(mem, pages, b"SECOND")
        assert libc.mprotect(pages, PAGE, 0) == 0  # PROT_NONE
        _refused(mem, pages, b"THIRD!")
        assert libc.mprotect(pages, PAGE, mmap.PROT_READ | mmap.PROT_WRITE) == 0
    assert ctypes.string_at(pages, 6) == b"first\x11"


def test_ranges_across_adjacent_writable_mappings() -> None:
    ranges = [(0x1000, 0x2000), (0x2000, 0x3000), (0x4000, 0x5000)]
    assert covered(ranges, 0x1ff0, 0x20)  # across the boundary of two mappings
    assert covered(ranges, 0x1000, 0x2000)
    assert not covered(ranges, 0x2ff0, 0x20)  # into the gap
    assert not covered(ranges, 0x0ff0, 0x20)
    assert covered(ranges, 0x4000, 0x1000)
    assert not covered(ranges, 0x4000, 0x1001)


@pytest.mark.parametrize("address,data", [(0, b"x"), (0x1000, b""), ((1 << 63) - 2, b"xyz")])
def test_implausible_writes_are_refused(address: int, data: bytes) -> None:
    with ProcessMemory(os.getpid()) as mem, pytest.raises(SafeAttachError) as info:
        mem.write(address, data)
    assert info.value.kind is FailureKind.INTERNAL
