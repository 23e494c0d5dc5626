"""core.offsets against tables recorded from the live Debian interpreters (and the computed FT ones)."""

from __future__ import annotations

import dataclasses

import pytest
from repo_paths import DATA_DIR

from core.errors import FailureKind, SafeAttachError
from core.model import PythonVersion
from core.offsets import (
    LAYOUTS,
    MAX_TABLE_SIZE,
    DebugOffsets,
    build_debug_offsets,
    layout_for_version,
    layout_named,
    parse_debug_offsets,
    please_stop_mask,
    table_size,
)

DATA = DATA_DIR / "offsets"
BLOBS = ("3.13", "3.13d", "3.14", "3.14d", "3.14t", "3.15", "3.15t")


def blob(name: str) -> bytes:
    return (DATA / f"{name}.bin").read_bytes()


def parsed(name: str) -> DebugOffsets:
    return parse_debug_offsets(blob(name))


def patched(raw: bytes, dotted: str, value: int) -> bytes:
    """The table with one u64 field overwritten at its position (found from the version's layout)."""
    layout = layout_for_version(int.from_bytes(raw[8:16], "little"))
    assert layout is not None
    at = layout.field_offsets()[dotted]
    return raw[:at] + value.to_bytes(8, "little") + raw[at + 8 :]


def parse_error(raw: bytes) -> SafeAttachError:
    with pytest.raises(SafeAttachError) as info:
        parse_debug_offsets(raw)
    return info.value


# -- layouts ----------------------------------------------------------------------------------------


def test_layout_sizes_and_field_counts() -> None:
    assert {n: (lay.size, lay.field_count) for n, lay in LAYOUTS.items()} == {
        "3.13": (584, 73),
        "3.14": (760, 95),
        "3.15": (888, 111),
    }
    assert MAX_TABLE_SIZE == 888


def test_layout_and_table_size_by_hexversion() -> None:
    assert table_size(0x030D12F0) == 584
    assert table_size(0x030E0AF0) == 760
    assert table_size(0x030E00A1) == 760  # 3.14.0a1: same minor, same layout
    assert table_size(0x030F02F0) == 888
    assert table_size(0x031000F0) is None
    assert table_size(0x030C00F0) is None
    lay = layout_for_version(0x030F02F0)
    assert lay is not None and lay.name == "3.15"
    assert layout_named("3.15t") is lay
    with pytest.raises(ValueError, match=r"3\.16"):
        layout_named("3.16")


def test_field_positions_match_spec() -> None:
    offs = LAYOUTS["3.14"].field_offsets()
    assert offs["interpreter_state.threads_main"] == 80
    assert offs["debugger_support.eval_breaker"] == 712
    assert offs["debugger_support.debugger_script_path_size"] == 752
    offs15 = LAYOUTS["3.15"].field_offsets()
    assert offs15["err_stackitem.exc_value"] == 304
    assert offs15["debugger_support.remote_debugging_enabled"] == 856
    assert LAYOUTS["3.13"].field_offsets()["gc.collecting"] == 576


# -- parsing the recorded tables -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "version", "layout", "free_threaded"),
    [
        ("3.13", "3.13.18", "3.13", False),
        ("3.13d", "3.13.18", "3.13", False),
        ("3.14", "3.14.10", "3.14", False),
        ("3.14d", "3.14.10", "3.14", False),
        ("3.14t", "3.14.10", "3.14t", True),
        ("3.15", "3.15.2", "3.15", False),
        ("3.15t", "3.15.2", "3.15t", True),
    ],
)
def test_parse_recorded(name: str, version: str, layout: str, free_threaded: bool) -> None:
    d = parsed(name)
    assert str(d.version) == version
    assert d.version.source == "_Py_DebugOffsets.version"
    assert d.layout == layout
    assert d.free_threaded is free_threaded
    assert d.size == len(blob(name))
    assert d.problems == ()
    assert d.values["free_threaded"] == int(free_threaded)


def test_values_314() -> None:
    d = parsed("3.14")
    assert d.pep768_capable
    assert d.interpreters_head == 808
    assert d.interp_threads_head == 7344
    assert d.interp_threads_main == 7360
    assert (d.interp_next, d.interp_id) == (7272, 7280)
    assert (d.tstate_next, d.tstate_thread_id, d.tstate_native_thread_id) == (8, 152, 160)
    assert d.tstate_current_frame == 72
    assert d.eval_breaker == 24
    assert d.remote_debugger_support == 304
    assert d.remote_debugging_enabled == 8076
    assert (d.debugger_pending_call, d.debugger_script_path, d.debugger_script_path_size) == (0, 4, 512)
    assert d["thread_state.size"] == 832
    assert (d.gil_runtime_state_holder, d.gil_runtime_state_locked) == (7792, 7800)
    assert d.tstate_holds_gil is None


def test_values_314_debug_differs_only_in_sizes() -> None:
    release, debug = parsed("3.14").values, parsed("3.14d").values
    diff = {k: (release[k], debug[k]) for k in release if release[k] != debug[k]}
    assert diff == {"runtime_state.size": (316616, 332632), "interpreter_state.size": (225864, 225880)}


def test_values_315() -> None:
    d = parsed("3.15")
    assert d.interpreters_head == 936
    assert (d.interp_threads_head, d.interp_threads_main) == (7336, 7352)
    assert d.remote_debugging_enabled == 8028
    assert d.remote_debugger_support == 344
    assert d["thread_state.size"] == 888
    assert d.tstate_native_thread_id == 184
    assert d.tstate_holds_gil == 36
    assert d["gc.generation_stats_size"] == 1120


def test_values_313_has_no_pep768() -> None:
    d = parsed("3.13")
    assert not d.pep768_capable
    assert d.interpreters_head == 632
    assert d.interp_threads_main is None
    assert d.tstate_holds_gil is None
    assert not d.has("debugger_support.eval_breaker")
    assert d.get("debugger_support.eval_breaker") is None
    with pytest.raises(SafeAttachError) as info:
        _ = d.eval_breaker
    assert info.value.kind is FailureKind.NOT_CAPABLE
    with pytest.raises(SafeAttachError) as info:
        d["interpreter_state.threads_main"]
    assert info.value.kind is FailureKind.PARSE
    assert "interpreter_state.threads_main" in info.value.message


@pytest.mark.parametrize(
    ("name", "config_offset", "tlbc_generation"), [("3.14t", 8108, 17300), ("3.15t", 8036, 17252)]
)
def test_values_free_threaded(name: str, config_offset: int, tlbc_generation: int) -> None:
    d = parsed(name)
    assert d.free_threaded
    assert d.remote_debugging_enabled == config_offset
    assert d["interpreter_state.tlbc_generation"] == tlbc_generation
    assert d["pyobject.size"] == 32
    assert d["code_object.co_tlbc"] == 224
    # the thread-state side of PEP 768 does not move in FT builds
    assert (d.eval_breaker, d["thread_state.size"]) == (24, 832 if name == "3.14t" else 888)


def test_zero_by_design_fields_are_not_flagged() -> None:
    d = parsed("3.14")
    zero = [
        "thread_state.prev",
        "interpreter_frame.executable",
        "interpreter_frame.tlbc_index",
        "interpreter_state.tlbc_generation",
        "interpreter_state.gil_runtime_state_enabled",
        "code_object.co_tlbc",
        "llist_node.next",
        "debugger_support.debugger_pending_call",
    ]
    assert {name: d[name] for name in zero} == dict.fromkeys(zero, 0)
    assert all(f.problem is None for s in d.tree().sections for f in s.fields)


def test_longer_input_is_accepted() -> None:
    d = parse_debug_offsets(blob("3.14") + b"\xff" * 128)
    assert d.size == 760 and d.interp_threads_main == 7360


def test_debug_offsets_is_frozen() -> None:
    d = parsed("3.14")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.layout = "3.15"  # type: ignore[misc]
    with pytest.raises(TypeError):
        d.values["thread_state.size"] = 1  # type: ignore[index]


# -- tree ----------------------------------------------------------------------------------------

SECTIONS_313 = [
    "header",
    "runtime_state",
    "interpreter_state",
    "thread_state",
    "interpreter_frame",
    "code_object",
    "pyobject",
    "type_object",
    "tuple_object",
    "list_object",
    "dict_object",
    "float_object",
    "long_object",
    "bytes_object",
    "unicode_object",
    "gc",
]
SECTIONS_314 = [
    "header",
    "runtime_state",
    "interpreter_state",
    "thread_state",
    "interpreter_frame",
    "code_object",
    "pyobject",
    "type_object",
    "tuple_object",
    "list_object",
    "set_object",
    "dict_object",
    "float_object",
    "long_object",
    "bytes_object",
    "unicode_object",
    "gc",
    "gen_object",
    "llist_node",
    "debugger_support",
]
SECTIONS_315 = [
    "header",
    "runtime_state",
    "interpreter_state",
    "thread_state",
    "err_stackitem",
    "interpreter_frame",
    "code_object",
    "pyobject",
    "type_object",
    "heap_type_object",
    "tuple_object",
    "list_object",
    "set_object",
    "dict_object",
    "float_object",
    "long_object",
    "bytes_object",
    "unicode_object",
    "gc",
    "gen_object",
    "llist_node",
    "debugger_support",
]


@pytest.mark.parametrize(
    ("name", "sections", "count"),
    [
        ("3.13", SECTIONS_313, 73),
        ("3.14", SECTIONS_314, 95),
        ("3.14t", SECTIONS_314, 95),
        ("3.15", SECTIONS_315, 111),
    ],
)
def test_tree_shape(name: str, sections: list[str], count: int) -> None:
    tree = parsed(name).tree()
    assert tree.layout == name
    assert [s.name for s in tree.sections] == sections
    fields = [f for s in tree.sections for f in s.fields]
    assert len(fields) == count
    # contiguous u64 slots from 0 to the end of the table, each section covering its own fields
    assert [f.offset for f in fields] == list(range(0, tree.size, 8))
    for section in tree.sections:
        assert section.size == 8 * len(section.fields)
        assert section.fields[0].offset == section.offset
    assert tree.sections[0].fields[0].value == int.from_bytes(b"xdebugpy", "little")
    assert tree.problems == ()


def test_tree_values_314() -> None:
    tree = parsed("3.14").tree()
    ds = next(s for s in tree.sections if s.name == "debugger_support")
    assert (ds.offset, ds.size) == (712, 48)
    assert {f.name: (f.offset, f.value) for f in ds.fields}["remote_debugging_enabled"] == (728, 8076)


def test_warning_is_attached_to_its_field() -> None:
    # a default-build table with a free-threaded-only field set: suspicious, not fatal
    d = parse_debug_offsets(patched(blob("3.14"), "code_object.co_tlbc", 200))
    assert d.problems == (
        "code_object.co_tlbc = 200 although free_threaded = 0 (0 by design in default builds)",
    )
    code = next(s for s in d.tree().sections if s.name == "code_object")
    assert next(f for f in code.fields if f.name == "co_tlbc").problem == d.problems[0]


def test_warning_for_free_threaded_flag_on_default_values() -> None:
    raw = bytearray(blob("3.15"))
    raw[16] = 1
    d = parse_debug_offsets(bytes(raw))
    assert d.layout == "3.15t"
    assert "pyobject.size = 16, expected 32 for a free-threaded build" in d.problems
    assert any(
        p.startswith("interpreter_state.tlbc_generation = 0 although free_threaded = 1") for p in d.problems
    )


# -- please-stop mask ------------------------------------------------------------------------------


def test_please_stop_mask_per_version() -> None:
    assert please_stop_mask(parsed("3.14").version) == 0x20
    assert please_stop_mask(parsed("3.15").version) == 0x20
    for hexversion in (0x030D12F0, 0x031000F0):
        with pytest.raises(SafeAttachError) as info:
            please_stop_mask(PythonVersion.from_hex(hexversion, "test"))
        assert info.value.kind is FailureKind.UNSUPPORTED_VERSION


# -- build ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BLOBS)
def test_build_round_trips(name: str) -> None:
    d = parsed(name)
    rebuilt = build_debug_offsets(
        d.layout, d.values, version=d.version.hexversion, free_threaded=d.free_threaded
    )
    assert rebuilt == blob(name)


@pytest.mark.parametrize("name", BLOBS)
def test_struct_decoder_agrees_with_the_construct_declaration(name: str) -> None:
    """The hot path decodes with one precompiled struct; the construct Struct (built lazily) reads the same."""
    layout = layout_named(parsed(name).layout)
    data = blob(name)[: layout.size]
    cookie, values = layout.decode(data)
    tree = layout.struct.parse(data)
    assert cookie == tree.cookie
    assert values == {
        "version": tree.version, "free_threaded": tree.free_threaded,
        **{f"{s.name}.{f}": tree[s.name][f] for s in layout.sections for f in s.fields},
    }


def test_build_rejects_missing_and_unknown_fields() -> None:
    values = dict(parsed("3.14").values)
    del values["thread_state.size"]
    with pytest.raises(ValueError, match=r"missing fields \['thread_state.size'\]"):
        build_debug_offsets("3.14", values, version=0x030E0AF0, free_threaded=False)
    values = {**parsed("3.13").values, "interpreter_state.threads_main": 1}
    with pytest.raises(ValueError, match="unknown fields"):
        build_debug_offsets("3.13", values, version=0x030D12F0, free_threaded=False)


# -- targeted corruptions --------------------------------------------------------------------------


def test_bad_cookie() -> None:
    err = parse_error(b"xdebugpY" + blob("3.14")[8:])
    assert err.kind is FailureKind.PARSE
    assert err.message == "cookie = b'xdebugpY', expected b'xdebugpy'"


@pytest.mark.parametrize("length", [0, 7, 8, 23, 24, 583, 759])
def test_truncated(length: int) -> None:
    err = parse_error(blob("3.14")[:length])
    assert err.kind is FailureKind.PARSE
    assert "truncated" in err.message and f"{length} bytes" in err.message
    if length >= 24:
        assert "a 3.14 table needs 760" in err.message


def test_version_316_is_unsupported() -> None:
    err = parse_error(patched(blob("3.15"), "version", 0x031000A2))
    assert err.kind is FailureKind.UNSUPPORTED_VERSION
    assert "0x31000a2" in err.message and "3.16" in err.message


@pytest.mark.parametrize(
    ("version", "words"),
    [
        (0x030C00F0, "3.12, which has no _Py_DebugOffsets"),
        (0x020E0AF0, "major 2"),
        (0x030E0A50, "release level nibble 0x5"),
        (0x030E0AF3, "final release with serial 3"),
        (0x1_030E0AF0, "upper 32 bits"),
    ],
)
def test_implausible_version(version: int, words: str) -> None:
    err = parse_error(patched(blob("3.14"), "version", version))
    assert err.kind is FailureKind.PARSE
    assert err.message.startswith(f"version = {version:#x}") and words in err.message


def test_free_threaded_flag_2() -> None:
    err = parse_error(patched(blob("3.14"), "free_threaded", 2))
    assert err.kind is FailureKind.PARSE
    assert err.message == "free_threaded = 2, expected 0 or 1"


@pytest.mark.parametrize(
    ("name", "field", "value", "words"),
    [
        ("3.14", "interpreter_state.threads_head", 225864, "interpreter_state.threads_head = 225864"),
        ("3.14", "thread_state.native_thread_id", 830, "outside thread_state.size = 832"),
        ("3.13", "code_object.filename", 4000, "code_object.filename = 4000"),
        ("3.14", "runtime_state.size", 16 * 1024 * 1024, "runtime_state.size = 16777216"),
        ("3.14", "interpreter_state.size", 4 * 1024 * 1024, "interpreter_state.size = 4194304"),
        ("3.15", "thread_state.size", 64 * 1024, "thread_state.size = 65536"),
        ("3.14", "type_object.size", 4096, "type_object.size = 4096"),
        (
            "3.14",
            "runtime_state.interpreters_head",
            600,
            "runtime_state.interpreters_head = 600 points inside",
        ),
        ("3.14", "debugger_support.eval_breaker", 832, "debugger_support.eval_breaker = 832"),
        ("3.14", "debugger_support.remote_debugging_enabled", 225861, "lies outside interpreter_state.size"),
        (
            "3.15",
            "debugger_support.remote_debugger_support",
            380,
            "debugger_support.debugger_script_path = 4",
        ),
        (
            "3.14",
            "debugger_support.debugger_pending_call",
            829,
            "debugger_support.debugger_pending_call = 829",
        ),
        ("3.14", "debugger_support.debugger_script_path_size", 8, "debugger_script_path_size = 8 is not"),
        ("3.14", "debugger_support.debugger_script_path_size", 8192, "debugger_script_path_size = 8192"),
        (
            "3.14",
            "debugger_support.debugger_script_path",
            0,
            "overlaps debugger_support.debugger_pending_call",
        ),
        ("3.15", "err_stackitem.exc_value", 600, "err_stackitem.exc_value = 600"),
        ("3.14", "interpreter_state.gc", 225700, "interpreter_state.gc = 225700 (+264 bytes"),
        ("3.14t", "interpreter_state.tlbc_generation", 249974, "interpreter_state.tlbc_generation = 249974"),
        ("3.15", "unicode_object.compactunicodeobject_size", 65, "compactunicodeobject_size = 65"),
    ],
)
def test_field_outside_its_struct(name: str, field: str, value: int, words: str) -> None:
    err = parse_error(patched(blob(name), field, value))
    assert err.kind is FailureKind.PARSE
    assert words in err.message
    assert err.detail["field"] == field or field in err.message


def test_every_fatal_problem_is_listed_in_detail() -> None:
    raw = patched(patched(blob("3.14"), "interpreter_state.threads_head", 10**7), "thread_state.next", 10**6)
    err = parse_error(raw)
    assert "(and 1 more)" in err.message
    assert len(err.detail["problems"]) == 2
