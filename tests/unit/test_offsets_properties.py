"""Property tests: for any bytes, parse_debug_offsets returns a consistent DebugOffsets or raises
SafeAttachError (PARSE / UNSUPPORTED_VERSION) and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from repo_paths import DATA_DIR

from core.errors import FailureKind, SafeAttachError
from core.offsets import COOKIE, LAYOUTS, DebugOffsets, parse_debug_offsets

DATA = DATA_DIR / "offsets"
BLOBS = {
    name: (DATA / f"{name}.bin").read_bytes() for name in ("3.13", "3.13d", "3.14", "3.14d", "3.14t", "3.15", "3.15t")
}
BOUNDED = settings(max_examples=300, deadline=None, database=None)
U64 = st.one_of(
    st.sampled_from([0, 1, 2, 7, 8, 16, 511, 512, 4096, 2**31, 2**32 - 1, 2**63, 2**64 - 1]),
    st.integers(min_value=0, max_value=2**64 - 1),
    st.integers(min_value=0, max_value=1 << 20),
)


def check(raw: bytes) -> DebugOffsets | None:
    """Parse; the only exception allowed is SafeAttachError, and a success must be self-consistent."""
    try:
        d = parse_debug_offsets(raw)
    except SafeAttachError as err:
        assert err.kind in (FailureKind.PARSE, FailureKind.UNSUPPORTED_VERSION)
        assert err.message
        return None
    assert raw[:8] == COOKIE and len(raw) >= d.size
    tree = d.tree()
    assert tree.size == d.size == LAYOUTS[d.layout.removesuffix("t")].size
    for section in tree.sections:
        assert 0 <= section.offset and section.offset + section.size <= tree.size
        for f in section.fields:
            assert 0 <= f.offset and f.offset + 8 <= tree.size
            assert section.offset <= f.offset < section.offset + section.size
    # what the engine dereferences stays inside the structs the table declares
    isize, tsize = d["interpreter_state.size"], d["thread_state.size"]
    assert d.interpreters_head + 8 <= d["runtime_state.size"]
    assert d.interp_threads_head + 8 <= isize and d.interp_next + 8 <= isize
    assert d.tstate_next + 8 <= tsize and d.tstate_native_thread_id + 8 <= tsize
    if d.pep768_capable:
        assert d.eval_breaker + 8 <= tsize
        assert d.remote_debugging_enabled + 4 <= isize
        base = d.remote_debugger_support
        assert base + d.debugger_pending_call + 4 <= tsize
        assert base + d.debugger_script_path + d.debugger_script_path_size <= tsize
        assert 16 <= d.debugger_script_path_size <= 4096
    return d


@BOUNDED
@given(st.binary(max_size=1000))
def test_random_bytes(raw: bytes) -> None:
    check(raw)


@BOUNDED
@given(
    st.sampled_from([0x030D12F0, 0x030E0AF0, 0x030F02F0, 0x031000F0, 0x030E00A1]),
    st.integers(min_value=0, max_value=2),
    st.binary(min_size=0, max_size=900),
)
def test_random_body_behind_a_valid_header(version: int, free_threaded: int, body: bytes) -> None:
    check(COOKIE + version.to_bytes(8, "little") + free_threaded.to_bytes(8, "little") + body)


@BOUNDED
@given(st.sampled_from(sorted(BLOBS)), st.data())
def test_single_byte_mutation(name: str, data: st.DataObject) -> None:
    raw = bytearray(BLOBS[name])
    at = data.draw(st.integers(min_value=0, max_value=len(raw) - 1), label="position")
    raw[at] = data.draw(st.integers(min_value=0, max_value=255), label="byte")
    check(bytes(raw))


@BOUNDED
@given(st.sampled_from(sorted(BLOBS)), st.data())
def test_u64_mutation(name: str, data: st.DataObject) -> None:
    raw = bytearray(BLOBS[name])
    slot = data.draw(st.integers(min_value=0, max_value=len(raw) // 8 - 1), label="slot")
    raw[8 * slot : 8 * slot + 8] = data.draw(U64, label="value").to_bytes(8, "little")
    check(bytes(raw))


@BOUNDED
@given(st.sampled_from(sorted(BLOBS)), st.data())
def test_several_u64_mutations(name: str, data: st.DataObject) -> None:
    raw = bytearray(BLOBS[name])
    for _ in range(data.draw(st.integers(min_value=2, max_value=6), label="count")):
        slot = data.draw(st.integers(min_value=1, max_value=len(raw) // 8 - 1), label="slot")
        raw[8 * slot : 8 * slot + 8] = data.draw(U64, label="value").to_bytes(8, "little")
    check(bytes(raw))


@pytest.mark.parametrize("name", sorted(BLOBS))
def test_every_truncation(name: str) -> None:
    """Every prefix shorter than the table fails as PARSE; the full table and longer inputs parse."""
    raw = BLOBS[name]
    for length in range(len(raw)):
        with pytest.raises(SafeAttachError) as info:
            parse_debug_offsets(raw[:length])
        assert info.value.kind is FailureKind.PARSE
        assert "truncated" in info.value.message
    assert check(raw) is not None
    assert check(raw + b"\0" * 64) is not None


@BOUNDED
@given(st.sampled_from(sorted(BLOBS)), st.integers(min_value=0, max_value=1000), st.binary(max_size=200))
def test_truncation_or_extension(name: str, length: int, tail: bytes) -> None:
    raw = BLOBS[name][:length] + (tail if length >= len(BLOBS[name]) else b"")
    assert (check(raw) is not None) == (length >= len(BLOBS[name]))
