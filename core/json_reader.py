"""`loads`: what `json.loads(text)` returns for a str, without importing json: the engine's reader of what a
target wrote (the loader's report and claim).

json's import (json.decoder, json.scanner, json.encoder) is 1.5-3 ms, and it came due while the engine waited
for the report: longer than a target that is running bytecode takes to run an exec's loader (about 2.5 ms), so
it was the last thing such an exec waited for. The parsing is json's own either way: its C scanner
(`_json.make_scanner`, which json.decoder builds its decoder on), given json's defaults (strict strings, int
and float, NaN and the infinities); only the whitespace around the value is skipped here. Errors are json's
(json.JSONDecodeError, a ValueError; json.decoder is imported only to raise one), and so is the RecursionError of
a value nested too deep. tests/unit/test_json_reader.py holds the results and the errors equal to json.loads.
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn

_INF = float("inf")
_CONSTANTS = {"-Infinity": -_INF, "Infinity": _INF, "NaN": float("nan")}
_WHITESPACE = " \t\n\r"  # json.decoder's WHITESPACE


class _Context:
    """What _json.make_scanner reads off a json.decoder.JSONDecoder() (its defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


_scan: Callable[[str, int], tuple[object, int]] | None
try:
    from _json import make_scanner
except ImportError:  # an interpreter without json's accelerator: json.loads itself
    _scan = None
else:
    _scan = make_scanner(_Context())  # type: ignore[arg-type]  # typeshed asks for a scanner; it reads these six


def loads(text: str) -> object:
    if _scan is None:
        import json

        value: object = json.loads(text)
        return value
    if text.startswith("\ufeff"):
        _fail("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    start = _skip(text, 0)
    try:
        value, end = _scan(text, start)
    except StopIteration as exc:
        _fail("Expecting value", text, exc.value)
    end = _skip(text, end)
    if end != len(text):
        _fail("Extra data", text, end)
    return value


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _WHITESPACE:
        at += 1
    return at


def _fail(message: str, text: str, at: int) -> NoReturn:
    from json import JSONDecodeError

    raise JSONDecodeError(message, text, at) from None
