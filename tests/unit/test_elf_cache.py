"""The struct-based ELF header reader agrees with pyelftools, and the on-disk ELF facts cache trusts nothing."""

from __future__ import annotations

import io
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from live_targets import INTERPRETERS

from core import elf_cache
from core.elf import ElfFacts, read_elf_facts
from core.elf_headers import build_id, first_load, section_names, sections
from core.procfs import read_maps
from core.runtime import _facts_cache, elf_facts_for

BINARIES = [p for p in (Path(os.path.realpath(sys.executable)), Path("/bin/ls"),
                        INTERPRETERS["3.14"].host_path, INTERPRETERS["3.13"].host_path) if p.exists()]
FACTS = ElfFacts(False, None, 0x400000, 0x9A0000, 0x2F0, 0x9A0000, 0x030E0AF0, (3, 14, 10, "3.14.10"), True,
                 False, False)
KEY = (2049, 123456, 7654321, 1_700_000_000_000_000_000)


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFEATTACH_CACHE_DIR", str(tmp_path))
    return tmp_path / "elf-facts"


@pytest.mark.parametrize("path", BINARIES, ids=str)
def test_section_names_match_pyelftools(path: Path) -> None:
    with open(path, "rb") as f:
        expected = {s.name for s in ELFFile(f).iter_sections()}
        assert section_names(f) == expected


@pytest.mark.parametrize("path", BINARIES, ids=str)
def test_sections_and_first_load_match_pyelftools(path: Path) -> None:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        found = sections(f)
        assert found is not None
        for sec in elf.iter_sections():
            if sec.name and elf.get_section_by_name(sec.name) is sec:
                assert found[sec.name] == (sec["sh_addr"], sec["sh_size"]), sec.name
        load = next(s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD")
        assert first_load(f) == (load["p_vaddr"] & ~(max(load["p_align"], 1) - 1), elf["e_type"] == "ET_DYN")
        with open(path, "rb") as g:
            facts = read_elf_facts(g)
        assert (facts.first_load_vaddr, facts.pie_or_shared) == first_load(f)


@pytest.mark.parametrize("path", BINARIES, ids=str)
def test_build_id_matches_the_note_section(path: Path) -> None:
    with open(path, "rb") as f:
        note = ELFFile(f).get_section_by_name(".note.gnu.build-id")
        expected = next(iter(note.iter_notes()))["n_desc"] if note is not None else None
        assert build_id(f) == expected


@pytest.mark.parametrize("data", [
    b"", b"\x7fELF", b"\x7fELF\x02\x01" + b"\0" * 58, b"\x7fELF\x01\x01" + b"\0" * 100, os.urandom(4096),
    # a header whose tables point far past the end of the file, with the largest counts
    b"\x7fELF\x02\x01" + b"\0" * 26 + (1 << 62).to_bytes(8, "little") * 2 + b"\0" * 6 + b"\xff" * 10,
])
def test_malformed_headers_give_none(data: bytes) -> None:
    assert section_names(io.BytesIO(data)) is None
    assert build_id(io.BytesIO(data)) is None
    assert sections(io.BytesIO(data)) is None


def test_round_trip() -> None:
    elf_cache.store(KEY, "ab12", FACTS)
    assert elf_cache.load(KEY, "ab12") == FACTS


def test_another_file_or_build_misses() -> None:
    elf_cache.store(KEY, "ab12", FACTS)
    assert elf_cache.load(KEY, "ab13") is None
    assert elf_cache.load(KEY, None) is None
    assert elf_cache.load((*KEY[:3], KEY[3] + 1), "ab12") is None  # touched since


def _entry(cache_home: Path) -> Path:
    (entry,) = cache_home.iterdir()
    return entry


def _read(cache_home: Path) -> dict[str, object]:
    return elf_cache._decode(_entry(cache_home).read_bytes())


def _tamper(cache_home: Path, **facts: object) -> None:
    data = _read(cache_home)
    data["facts"].update(facts)  # type: ignore[attr-defined]
    _entry(cache_home).write_bytes(elf_cache._encode(data))


@pytest.mark.parametrize("bad", [
    {"first_load_vaddr": -1}, {"first_load_vaddr": 1 << 64}, {"first_load_vaddr": True},
    {"first_load_vaddr": None}, {"pyruntime_vaddr": "0x1000"}, {"py_version": [1, 5]},
    {"pie_or_shared": 1}, {"debug_build": "no"}, {"soname": 7}, {"soname": "x" * 5000},
    {"version_string": [3, 14]}, {"version_string": [3, 14, -1, "3.14"]}, {"version_string": "3.14.0"},
    {"extra_field": 1},
])
def test_wrong_types_or_ranges_are_ignored(cache_home: Path, bad: dict[str, object]) -> None:
    elf_cache.store(KEY, "ab12", FACTS)
    _tamper(cache_home, **bad)
    assert elf_cache.load(KEY, "ab12") is None


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b"null", b'{"format": 2}', b"[" * 100_000, b" " * 20_000,
                                     b"format i2\n", b"\xff\n", b"format i2\nformat i2\n", b"facts. i1\n",
                                     b"format i\xd9\xa3\n", b"format i1_0\n", b"format i" + b"9" * 30 + b"\n",
                                     b"build_id s4\n", b"build_id sxy\n", b"build_id s41 42\n", b"facts i5\n",
                                     b"key ll\n", b"format d1.5\n"])
def test_corrupt_files_are_ignored(cache_home: Path, content: bytes) -> None:
    elf_cache.store(KEY, "ab12", FACTS)
    _entry(cache_home).write_bytes(content)
    assert elf_cache.load(KEY, "ab12") is None


def test_a_truncated_entry_is_ignored(cache_home: Path) -> None:
    elf_cache.store(KEY, "ab12", FACTS)
    whole = _entry(cache_home).read_bytes()
    for cut in range(len(whole)):
        _entry(cache_home).write_bytes(whole[:cut])
        assert elf_cache.load(KEY, "ab12") is None, whole[:cut]


def test_an_entry_naming_another_file_is_ignored(cache_home: Path) -> None:
    elf_cache.store(KEY, "ab12", FACTS)
    data = _read(cache_home)
    data["key"][1] += 1  # type: ignore[index]
    _entry(cache_home).write_bytes(elf_cache._encode(data))
    assert elf_cache.load(KEY, "ab12") is None


def test_links_and_fifos_are_not_followed(cache_home: Path, tmp_path: Path) -> None:
    elf_cache.store(KEY, "ab12", FACTS)
    path = _entry(cache_home)
    real = tmp_path / "planted.facts"
    path.rename(real)
    path.symlink_to(real)
    assert elf_cache.load(KEY, "ab12") is None
    path.unlink()
    os.mkfifo(path)
    assert elf_cache.load(KEY, "ab12") is None  # and does not block


def test_entries_others_wrote_or_may_rewrite_are_ignored(cache_home: Path) -> None:
    elf_cache.store(KEY, "ab12", FACTS)
    path = _entry(cache_home)
    path.chmod(0o620)
    assert elf_cache.load(KEY, "ab12") is None
    path.chmod(0o600)
    assert elf_cache.load(KEY, "ab12") == FACTS
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
        assert elf_cache.load(KEY, "ab12") is None


def test_store_is_atomic_and_leaves_no_temporaries(cache_home: Path) -> None:
    elf_cache.store(KEY, "ab12", FACTS)
    elf_cache.store(KEY, "ab12", replace(FACTS, debug_build=True))
    assert [p.name for p in cache_home.iterdir()] == [_entry(cache_home).name]
    assert elf_cache.load(KEY, "ab12") == replace(FACTS, debug_build=True)


def test_unwritable_cache_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("SAFEATTACH_CACHE_DIR", str(blocker))  # a file where the directory should be
    elf_cache.store(KEY, "ab12", FACTS)
    assert elf_cache.load(KEY, "ab12") is None


def test_facts_for_a_live_process_come_back_the_same_from_disk(cache_home: Path) -> None:
    """This test process: the first look reads the binary and stores; after forgetting the in-memory copy,
    the second comes from disk and equals what pyelftools reads; a tampered entry is re-read and replaced,
    also one whose types are right but whose placement facts disagree with the binary's headers."""
    exe = os.path.realpath(f"/proc/{os.getpid()}/exe")
    entry = next(e for e in read_maps(os.getpid()) if e.path == exe and e.offset == 0)
    _facts_cache.clear()
    first, _ = elf_facts_for(os.getpid(), entry)
    with open(exe, "rb") as f:
        assert first == read_elf_facts(f)
    assert len(list(cache_home.iterdir())) == 1
    _facts_cache.clear()
    assert elf_facts_for(os.getpid(), entry)[0] == first
    for hostile in ({"first_load_vaddr": "hostile"}, {"first_load_vaddr": first.first_load_vaddr + 0x1000},
                    {"pie_or_shared": not first.pie_or_shared}, {"pyruntime_vaddr": 0x1000, "pyruntime_size": 8}):
        _tamper(cache_home, **hostile)  # wrong types, or well-typed but disagreeing with the file's headers
        _facts_cache.clear()
        assert elf_facts_for(os.getpid(), entry)[0] == first
        assert _read(cache_home)["facts"] == {**asdict(first), "version_string": list(first.version_string or ())
                                              or None}
