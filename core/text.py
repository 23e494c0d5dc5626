"""Making target-controlled text safe to show to a person.

Command lines, thread and function names, exception messages and tracebacks come from the target (its
owner chooses them). Printed raw they reach the viewer's terminal, where escape sequences can rewrite the
screen, set the clipboard (OSC 52) or hide text. Every human front end passes such text through `visible`
(one line) or `visible_block` (tracebacks: real newlines kept) first; JSON output stays exact.

Control characters become escapes a reader can see: C0 controls and DEL as `\\xNN` (newline, tab and
carriage return as `\\n`, `\\t`, `\\r`), C1 controls (U+0080 to U+009F) as `\\xNN`, bidirectional overrides and
the Unicode line/paragraph separators as `\\uNNNN`, and undecodable bytes carried as lone surrogates (what
`os.fsdecode` produces) as `\\xNN` of the original byte. Other printable Unicode is kept.
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
# bidi embeddings/overrides/isolates and marks, line/paragraph separators: they reorder or break what is shown
_UNICODE_HIDERS = frozenset(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C, 0x2028, 0x2029, 0xFEFF]
)


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def _needs_escape(code: int) -> bool:
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code in _UNICODE_HIDERS


def visible(text: object) -> str:
    """One line of target-controlled text with every control character shown as an escape."""
    s = text if isinstance(text, str) else str(text)
    if not any(_needs_escape(ord(c)) for c in s):
        return s
    return "".join(_escape(c) if _needs_escape(ord(c)) else c for c in s)


def visible_block(text: object) -> str:
    """Multi-line target-controlled text (a traceback): newlines kept, everything else as in `visible`."""
    s = text if isinstance(text, str) else str(text)
    return "\n".join(visible(line) for line in s.replace("\r\n", "\n").split("\n"))
