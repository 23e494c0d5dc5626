"""Version recognition order: Py_Version symbol -> _Py_DebugOffsets.version -> string in the binary -> name."""

from __future__ import annotations

import io
import re
import struct

import pytest

from core.elf import _VERSION_STRING, ElfFacts
from core.errors import FailureKind, SafeAttachError
from core.runtime import RuntimeLocation
from core.target import recognise_version


class Mem:
    def __init__(self, head: bytes) -> None:
        self.head = head

    def read(self, address: int, size: int) -> bytes:
        if not self.head:
            raise SafeAttachError(FailureKind.PARSE, "unmapped")
        return self.head[:size]


def facts(py_version: int | None = None, version_string: tuple[int, int, int, str] | None = None) -> ElfFacts:
    return ElfFacts(False, None, 0x400000, None, None, 0x1000, py_version, version_string, False, False, False)


def loc(f: ElfFacts | None, binary: str = "/usr/bin/python3.8") -> RuntimeLocation:
    return RuntimeLocation(0x1000, binary, "direct", "_PyRuntime symbol", f, True, False, False)


def test_py_version_symbol_wins() -> None:
    table_head = b"xdebugpy" + struct.pack("<Q", 0x030E0AF0)
    v = recognise_version(loc(facts(0x030F02F0, (3, 15, 1, "3.15.1"))), Mem(table_head))
    assert (str(v), v.source) == ("3.15.2", "Py_Version symbol")


def test_offsets_version_next() -> None:
    v = recognise_version(loc(facts()), Mem(b"xdebugpy" + struct.pack("<Q", 0x030E00B2)))
    assert (str(v), v.source, v.releaselevel, v.serial) == ("3.14.0b2", "_Py_DebugOffsets.version", "beta", 2)


@pytest.mark.parametrize("text", [b"\x003.6.15\x00", b"\x003.7.17\x00", b"\x003.8.20\x00", b"\x003.10.12+\x00"])
def test_version_string_in_binary(text: bytes) -> None:
    m = re.search(_VERSION_STRING, b"junk" + text + b"more")  # compiled on use (start-up)
    assert m is not None
    f = facts(None, (3, int(m.group(2)), int(m.group(3)), m.group(1).decode()))
    v = recognise_version(loc(f), Mem(b"\0" * 16))
    assert v.source == "version string in the binary" and str(v) == text.strip(b"\0+").decode()


def test_binary_name_last() -> None:
    v = recognise_version(loc(None, "/opt/py/bin/python3.7m"), Mem(b""))
    assert (v.major, v.minor, v.source) == (3, 7, "binary name")


def test_unknown_is_typed() -> None:
    with pytest.raises(SafeAttachError) as info:
        recognise_version(loc(None, "/usr/bin/myapp"), Mem(b""))
    assert info.value.kind is FailureKind.UNSUPPORTED_VERSION


def test_elf_garbage_is_not_python() -> None:
    from core.elf import read_elf_facts

    with pytest.raises(SafeAttachError) as info:
        read_elf_facts(io.BytesIO(b"\x7fELF" + b"\xff" * 100))
    assert info.value.kind is FailureKind.NOT_PYTHON
