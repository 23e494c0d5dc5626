"""Line numbers from a code object's line table, as CPython computes them (pure functions over bytes).

Two formats:
- 3.9 `co_lnotab`: pairs of (address increment in bytes, signed line increment); `PyCode_Addr2Line` in
  3.9's Objects/codeobject.c.
- 3.11+ `co_linetable` (the location table, InternalDocs/code_objects.md): entries of a header byte
  (bit 7 set, bits 3-6 the code, bits 0-2 the length in code units minus 1) followed by varints; the
  same walk as `parse_linetable` in CPython's Modules/_remote_debugging.

Both take bytes read from an untrusted target: a malformed table returns None, never raises.
"""

from __future__ import annotations

_NONE, _LONG, _NO_COLUMNS = 15, 14, 13
_ONE_LINE_FIRST, _ONE_LINE_LAST = 10, 12


def lnotab_line(table: bytes, firstlineno: int, lasti: int) -> int:
    """3.9: the line of the instruction at byte offset `lasti`."""
    line, addr = firstlineno, 0
    for i in range(0, len(table) - 1, 2):
        addr += table[i]
        if addr > lasti:
            break
        delta = table[i + 1]
        line += delta - 256 if delta >= 128 else delta
    return line


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise IndexError("location table ends inside an entry")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        value, shift = 0, 0
        while True:
            b = self.byte()
            value |= (b & 0x3F) << shift
            if not b & 0x40:
                return value
            shift += 6
            if shift > 60:
                raise ValueError("varint too long")

    def svarint(self) -> int:
        value = self.varint()
        return -(value >> 1) if value & 1 else value >> 1


def location_line(table: bytes, firstlineno: int, addrq: int) -> int | None:
    """3.11+: the line of the code unit at index `addrq` (None: no line, e.g. an artificial instruction,
    or a malformed table). A negative `addrq` (a frame that has not started) is its first line."""
    if addrq < 0:
        return firstlineno
    cur = _Cursor(table)
    line, addr = firstlineno, 0
    try:
        while cur.pos < len(table):
            first = cur.byte()
            if not first & 0x80:
                return None  # every entry starts with bit 7 set
            code, length = (first >> 3) & 15, (first & 7) + 1
            has_line = True
            if code == _NONE:
                has_line = False
            elif code == _LONG:
                line += cur.svarint()
                cur.varint()
                cur.varint()
                cur.varint()
            elif code == _NO_COLUMNS:
                line += cur.svarint()
            elif _ONE_LINE_FIRST <= code <= _ONE_LINE_LAST:
                line += code - _ONE_LINE_FIRST
                cur.byte()
                cur.byte()
            else:  # short form: same line, one byte of columns
                if cur.byte() & 0x80:
                    return None
            if addr <= addrq < addr + length:
                return line if has_line else None
            addr += length
    except (IndexError, ValueError):
        return None
    return None
