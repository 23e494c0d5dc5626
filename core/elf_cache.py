"""An on-disk cache of the ELF facts of each CPython binary, so a fresh CLI process skips pyelftools.

An entry is keyed by the file's (dev, inode, size, mtime) and its GNU build-id, and used only when the open
file still matches all of them (core.runtime also re-reads the load segment and `.PyRuntime` from the file's
headers and compares). The cache directory is the user's own, but a cache file is still input: one that is
not ours, writable by others, unreadable, oversized, a link, or has a field of the wrong type or range is
ignored (and the facts are read from the binary again), never trusted. Entries are written atomically
(temporary file + rename).

An entry is a few lines of `name value`, not JSON: json's import (1-4 ms, with re 2.5-9) was paid by every exec
and info, which read one entry before they touch the target. Not marshal either: it is not meant for damaged
input (`marshal.loads(b"[" * 100_000)` allocates without end). A value is tagged: `n` None, `t`/`f` a bool, `i`
a decimal int, `s` a string as hex of its UTF-8, `l` a flat comma-separated list of those; anything else makes
the entry invalid. Decoding is linear in the capped file size.
"""

from __future__ import annotations

import os
import stat

from core.elf import ElfFacts
from core.paths import write_atomic, xdg_location
from core.records import asdict, fields

FORMAT = 2  # 1 was JSON
_MAX_FILE = 1 << 14
_U64 = (1 << 64) - 1
_MAX_TEXT = 4096

StatKey = tuple[int, int, int, int]  # dev, inode, size, mtime_ns


def cache_dir() -> str:
    return os.path.join(xdg_location("SAFEATTACH_CACHE_DIR", "XDG_CACHE_HOME", ".cache"), "elf-facts")


def _entry_path(key: StatKey) -> str:
    """One entry per file (device and inode); what it holds is checked against the whole key on load."""
    return os.path.join(cache_dir(), f"{key[0]:x}-{key[1]:x}.facts")


def _u64(value: object, nullable: bool) -> bool:
    if value is None:
        return nullable
    return type(value) is int and 0 <= value <= _U64


def _facts_from(raw: object) -> ElfFacts | None:
    """ElfFacts from a decoded entry, or None unless every field has its type and range."""
    if not isinstance(raw, dict) or set(raw) != {f.name for f in fields(ElfFacts)}:
        return None
    flags = ("pie_or_shared", "remote_debug_compiled", "debug_build", "free_threaded_symbol")
    if not all(type(raw[name]) is bool for name in flags):
        return None
    if not _u64(raw["first_load_vaddr"], nullable=False):
        return None
    if not all(_u64(raw[name], nullable=True) for name in ("pyruntime_vaddr", "pyruntime_size",
                                                          "pyruntime_symbol", "py_version")):
        return None
    soname = raw["soname"]
    if soname is not None and not (isinstance(soname, str) and len(soname) <= _MAX_TEXT):
        return None
    version: object = raw["version_string"]
    if version is not None:
        if not (isinstance(version, list) and len(version) == 4 and isinstance(version[3], str)
                and len(version[3]) <= 32 and all(type(v) is int and 0 <= v < 1000 for v in version[:3])):
            return None
        version = tuple(version)
    return ElfFacts(**{**raw, "version_string": version})


def load(key: StatKey, build_id: str | None) -> ElfFacts | None:
    """The cached facts of the file with this key and build-id, or None (missing, stale or not valid)."""
    try:
        fd = os.open(_entry_path(key), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return None  # only a file we wrote ourselves, and that nobody else may rewrite
        data = os.read(fd, _MAX_FILE + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) > _MAX_FILE:
        return None
    try:
        entry = _decode(data)
    except (ValueError, UnicodeDecodeError):  # damaged, or not an entry of this format
        return None
    if not isinstance(entry, dict) or entry.get("format") != FORMAT:
        return None
    if entry.get("key") != list(key) or entry.get("build_id") != build_id:
        return None  # a hash collision or an edited file: not this binary's entry
    return _facts_from(entry.get("facts"))


def _encode_value(value: object, nested: bool = False) -> str:
    if value is None or type(value) is bool:
        return {None: "n", True: "t", False: "f"}[value]
    if type(value) is int:
        return f"i{value}"
    if type(value) is str:
        return "s" + value.encode("utf-8").hex()
    if isinstance(value, (list, tuple)) and not nested:
        return "l" + ",".join(_encode_value(v, nested=True) for v in value)
    raise TypeError(f"an ELF fact of type {type(value).__name__}")


def _decode_value(text: str, nested: bool = False) -> object:
    tag, rest = text[:1], text[1:]
    if tag in ("n", "t", "f") and not rest:
        return {"n": None, "t": True, "f": False}[tag]
    if tag == "i" and len(rest) <= 24 and rest.isascii() and rest.removeprefix("-").isdigit():
        return int(rest)
    if tag == "s" and rest.isascii() and (rest.isalnum() or not rest):  # no spaces, which fromhex would skip
        return bytes.fromhex(rest).decode("utf-8")  # ValueError unless hex digits in pairs
    if tag == "l" and not nested:
        return [_decode_value(v, nested=True) for v in rest.split(",")] if rest else []
    raise ValueError(f"not an entry value: {text[:40]!r}")


def _encode(entry: dict[str, object]) -> bytes:
    facts = entry["facts"]
    assert isinstance(facts, dict)
    lines = [f"{name} {_encode_value(entry[name])}" for name in ("format", "key", "build_id")]
    lines += [f"facts.{name} {_encode_value(value)}" for name, value in facts.items()]
    return ("\n".join(lines) + "\n").encode("ascii")


def _decode(data: bytes) -> dict[str, object]:
    """The entry's dict, as `_encode` was given it; ValueError for anything else (a repeated name too)."""
    entry: dict[str, object] = {}
    facts: dict[str, object] = {}
    for line in data.decode("ascii").split("\n")[:-1] if data.endswith(b"\n") else ["-"]:
        name, sep, value = line.partition(" ")
        where, short = (facts, name[6:]) if name.startswith("facts.") else (entry, name)
        if not sep or not short or short in where or name == "facts":
            raise ValueError(f"not an entry line: {line[:40]!r}")
        where[short] = _decode_value(value)
    entry["facts"] = facts
    return entry


def store(key: StatKey, build_id: str | None, facts: ElfFacts) -> None:
    """Write the entry atomically; a cache that cannot be written only costs a slower start next time."""
    path = _entry_path(key)
    try:
        body = _encode({"format": FORMAT, "key": list(key), "build_id": build_id, "facts": asdict(facts)})
    except (TypeError, ValueError):  # a fact of a type the format does not hold: read from the binary next time
        return
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_atomic(path, body)
    except OSError:
        pass
