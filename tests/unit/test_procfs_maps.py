"""core.procfs.read_maps builds its entries without MapEntry's __init__ (the listing's hot loop): they must be
the entries the constructor would build, field for field, and parse every kind of line the kernel prints."""

from __future__ import annotations

import dataclasses
import os

import pytest

from core import procfs
from core.procfs import MapEntry, read_maps

MAPS = """\
55d0c0a00000-55d0c0a2c000 r--p 00000000 fd:01 1317 /usr/bin/python3.14
55d0c0a2c000-55d0c0d00000 r-xp 0002c000 fd:01 1317 /usr/bin/python3.14
7f0000000000-7f0000021000 rw-p 00000000 00:00 0
7f1000000000-7f1000001000 rw-s 00000000 00:01 4242 /memfd:cave (deleted)
7f2000000000-7f2000002000 r--p 00001000 fd:01 99 /opt/my app/lib python.so
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
garbage
"""


def test_entries_are_what_the_constructor_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(procfs, "read_text", lambda path, errors="strict": MAPS)
    entries = read_maps(1)
    assert entries == [
        MapEntry(0x55D0C0A00000, 0x55D0C0A2C000, "r--p", 0, 1317, "/usr/bin/python3.14", False),
        MapEntry(0x55D0C0A2C000, 0x55D0C0D00000, "r-xp", 0x2C000, 1317, "/usr/bin/python3.14", False),
        MapEntry(0x7F0000000000, 0x7F0000021000, "rw-p", 0, 0, "", False),
        MapEntry(0x7F1000000000, 0x7F1000001000, "rw-s", 0, 4242, "/memfd:cave", True),
        MapEntry(0x7F2000000000, 0x7F2000002000, "r--p", 0x1000, 99, "/opt/my app/lib python.so", False),
        MapEntry(0xFFFFFFFFFF600000, 0xFFFFFFFFFF601000, "--xp", 0, 0, "[vsyscall]", False),
    ]
    names = [f.name for f in dataclasses.fields(MapEntry)]
    for entry in entries:  # every field set, no other attribute, and frozen as a constructed one is
        assert list(vars(entry)) == names
        assert hash(entry) == hash(MapEntry(**vars(entry)))
        with pytest.raises(AttributeError):
            entry.start = 0  # type: ignore[misc]
    assert entries[2].writable and not entries[0].writable and entries[0].is_file and not entries[5].is_file


def test_mapentry_has_nothing_its_constructor_would_add() -> None:
    # read_maps sets the fields' values only: a __post_init__, a default or an init=False field would be skipped
    assert getattr(MapEntry, "__post_init__", None) is None
    assert all(f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
               for f in dataclasses.fields(MapEntry))


def test_our_own_maps_round_trip() -> None:
    entries = read_maps(os.getpid())
    assert entries and all(MapEntry(**vars(e)) == e for e in entries)
    assert any(e.path and e.readable for e in entries)
