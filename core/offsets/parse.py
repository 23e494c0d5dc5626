"""The one parser for `_Py_DebugOffsets` bytes read from a target: any input gives a DebugOffsets or a
SafeAttachError (PARSE, or UNSUPPORTED_VERSION for a well-formed table of an unknown minor version)."""

from __future__ import annotations

from types import MappingProxyType

from core.errors import FailureKind, SafeAttachError
from core.model import PythonVersion

from .checks import validate
from .decoded import DebugOffsets
from .layouts import COOKIE, HEADER_SIZE, SUPPORTED_MINORS, layout_for_version

_RELEASE_LEVELS = (0xA, 0xB, 0xC, 0xF)
# Minor versions past the newest known one that still look like a real (future) CPython.
_FUTURE_MINOR_LIMIT = 99
# Tables already decoded and validated, by their bytes: the result is a pure function of them, and `ps` reads
# the same table from every process of one build (validation was a fifth of a 200-process `ps`). Results
# are frozen (values are read-only mappings); failures are not kept.
_PARSED: dict[bytes, DebugOffsets] = {}
_PARSED_MAX = 16


def _parse_error(message: str, **detail: object) -> SafeAttachError:
    return SafeAttachError(FailureKind.PARSE, message, detail=detail)


def _check_version(version: int) -> None:
    """PARSE when `version` is not a PY_VERSION_HEX of a CPython that has the table; UNSUPPORTED_VERSION
    when it is plausible but newer than every known layout."""
    text = f"version = {version:#x}"
    if version >> 32:
        raise _parse_error(
            f"{text} is not a PY_VERSION_HEX (upper 32 bits set)", field="version", value=version
        )
    major, minor = (version >> 24) & 0xFF, (version >> 16) & 0xFF
    level, serial = (version >> 4) & 0xF, version & 0xF
    if major != 3:
        raise _parse_error(
            f"{text} is not a CPython 3 version (major {major})", field="version", value=version
        )
    if level not in _RELEASE_LEVELS:
        raise _parse_error(
            f"{text} has an invalid release level nibble {level:#x}", field="version", value=version
        )
    if level == 0xF and serial:
        raise _parse_error(f"{text} is a final release with serial {serial}", field="version", value=version)
    if minor < SUPPORTED_MINORS[0]:
        raise _parse_error(
            f"{text} claims 3.{minor}, which has no _Py_DebugOffsets table (added in 3.13)",
            field="version",
            value=version,
        )
    if minor > _FUTURE_MINOR_LIMIT:
        raise _parse_error(
            f"{text} claims an implausible minor version 3.{minor}", field="version", value=version
        )


def parse_debug_offsets(raw: bytes) -> DebugOffsets:
    """Decode and validate a table; `raw` may be longer than the table (the rest is ignored)."""
    data = bytes(raw)
    if len(data) < len(COOKIE):
        raise _parse_error(f"table truncated: {len(data)} bytes, the cookie alone needs 8", field="cookie")
    if data[:8] != COOKIE:
        raise _parse_error(
            f"cookie = {data[:8]!r}, expected {COOKIE!r}", field="cookie", value=data[:8].hex()
        )
    if len(data) < HEADER_SIZE:
        raise _parse_error(
            f"table truncated: {len(data)} bytes, the header needs {HEADER_SIZE}",
            field="version",
            length=len(data),
        )
    version = int.from_bytes(data[8:16], "little")
    free_threaded = int.from_bytes(data[16:24], "little")
    _check_version(version)
    if free_threaded not in (0, 1):
        raise _parse_error(
            f"free_threaded = {free_threaded}, expected 0 or 1", field="free_threaded", value=free_threaded
        )
    layout = layout_for_version(version)
    if layout is None:
        known = ", ".join(f"3.{m}" for m in SUPPORTED_MINORS)
        raise SafeAttachError(
            FailureKind.UNSUPPORTED_VERSION,
            f"_Py_DebugOffsets version = {version:#x} (3.{(version >> 16) & 0xFF}) has no known layout; "
            f"supported: {known}",
            detail={"field": "version", "value": version},
        )
    if len(data) < layout.size:
        raise _parse_error(
            f"table truncated: {len(data)} bytes, a {layout.name} table needs {layout.size}",
            field="size",
            length=len(data),
            expected=layout.size,
        )
    table = data[: layout.size]
    seen = _PARSED.get(table)
    if seen is not None:
        return seen
    _cookie, values = layout.decode(table)  # cookie, header and length were checked above

    fatal, warnings = validate(layout, values)
    name = layout.name + ("t" if free_threaded else "")
    if fatal:
        first = fatal[0]
        more = f" (and {len(fatal) - 1} more)" if len(fatal) > 1 else ""
        raise _parse_error(
            f"implausible _Py_DebugOffsets {name}: {first.message}{more}",
            field=first.field,
            value=values.get(first.field),
            problems=[f.message for f in fatal],
        )
    field_problems: dict[str, str] = {}
    for finding in warnings:
        field_problems.setdefault(finding.field, finding.message)
    parsed = DebugOffsets(
        version=PythonVersion.from_hex(version, "_Py_DebugOffsets.version"),
        free_threaded=bool(free_threaded),
        layout=name,
        size=layout.size,
        values=MappingProxyType(values),
        problems=tuple(f.message for f in warnings),
        field_problems=MappingProxyType(field_problems),
    )
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[table] = parsed
    return parsed
