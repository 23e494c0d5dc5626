"""`loads`: what `json.loads(text)` returns for a str, without importing json: the engine's reader of what a
target wrote (the loader's report and claim).

json's import (json.decoder, json.scanner, json.encoder) is 1.5-3 ms, and it came due while the engine waited
for the report: longer than a target that is running bytecode takes to run an exec's loader (about 2.5 ms), so
it was the last thing such an exec waited for. The parsing is json's own either way: its C scanner
(`_json.make_scanner`, which json.decoder builds its decoder on), given json's defaults (strict strings, int
and float, NaN and the infinities); only the whitespace around the value is skipped here. Errors are json's
(json.JSONDecodeError, a ValueError; json.decoder is imported only to raise one); a value nested too deep
raises RecursionError, as in json (a level or two deeper: fewer of our frames are on the stack).
tests/unit/test_json_reader.py holds the results and the errors equal to json.loads.
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
    """What _json.make_scanner reads off a json.decoder.JSONDecoder(): its defaults. Every hook a version adds
    is one more attribute here (3.15's array_hook); tests/unit/test_json_reader.py checks them against each
    provisioned interpreter's JSONDecoder."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    array_hook = None  # 3.15
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


def _scanner() -> Callable[[str, int], tuple[object, int]] | None:
    try:
        from _json import make_scanner

        scan: Callable[[str, int], tuple[object, int]] = make_scanner(_Context())  # type: ignore[arg-type]
        probe = '[1, 2.5, -Infinity, {"a": ""}]'  # each kind of value the scanner hands to a context member
        if scan(probe, 0) == ([1, 2.5, -_INF, {"a": ""}], len(probe)):
            return scan
    except Exception:  # no accelerator, or one that wants more than _Context holds: json.loads itself
        pass
    return None


_scan = _scanner()


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
    """The first index from `at` on that is not JSON whitespace (str.lstrip's C loop: a report padded with
    megabytes of spaces costs what it costs json)."""
    rest = text[at:] if at else text
    return len(text) - len(rest.lstrip(_WHITESPACE))


def _fail(message: str, text: str, at: int) -> NoReturn:
    from json import JSONDecodeError

    raise JSONDecodeError(message, text, at) from None
