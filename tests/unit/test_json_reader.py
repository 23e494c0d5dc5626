"""core.json_reader.loads gives json.loads's value, and its error, for any text."""

from __future__ import annotations

import json
import math
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from live_targets import chroot_command, require
from repo_paths import REPO

from core.json_reader import loads

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)
JSONISH = st.text(st.sampled_from(list(' \t\n\r{}[]:,"\\-+.0123456789eEnulltruefalsNaInfiy\ufeff\u00e9\x00')),
                  max_size=40)


def _same(a: object, b: object) -> bool:
    """Equal, NaN included (json.loads's NaN and ours are different float objects)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _outcome(text: str) -> tuple[str, object]:
    try:
        return "value", json.loads(text)
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=500, deadline=None)
@given(VALUES, st.sampled_from([None, 2]), st.sampled_from(["", " ", "\n\t "]))
def test_reads_what_json_writes(value: object, indent: int | None, pad: str) -> None:
    text = pad + json.dumps(value, indent=indent) + pad
    assert _same(loads(text), json.loads(text))


@settings(max_examples=1000, deadline=None)
@given(JSONISH)
def test_any_text_gives_jsons_value_or_jsons_error(text: str) -> None:
    kind, expected = _outcome(text)
    try:
        got: tuple[str, object] = ("value", loads(text))
    except (ValueError, RecursionError) as exc:
        got = (type(exc).__name__, str(exc))
    assert got[0] == kind, (got, expected)
    assert _same(got[1], expected) if kind == "value" else got[1] == expected


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 100_000])
def test_nesting_too_deep_is_jsons_recursion_error(text: str) -> None:
    with pytest.raises(RecursionError):
        json.loads(text)
    with pytest.raises(RecursionError):
        loads(text)


def test_megabytes_of_padding_read_as_json_reads_them() -> None:
    """The whitespace around the value is skipped by str.lstrip, not a loop per character: a report padded with
    4 MiB of spaces (the reader's cap) is one C pass, as json's regex is."""
    text = "{}" + " " * (4 << 20)
    assert loads(text) == {} and loads(" " * (4 << 20) + "[]") == []
    with pytest.raises(json.JSONDecodeError) as err:
        loads(" " * (4 << 20))
    assert err.value.pos == 4 << 20


# run by each interpreter: json_reader's source uses its C scanner (not the fallback), and its context holds
# every option of that version's JSONDecoder (3.15 added array_hook) at json's default
CONTEXT_PROBE = """
import json, math, sys
ns = {"__name__": "json_reader"}
exec(compile(sys.argv[1], "json_reader.py", "exec"), ns)
assert ns["_scan"] is not None, "fell back to json.loads"
decoder = vars(json.JSONDecoder())
python_scanner = {"memo", "scan_once", "parse_object", "parse_array", "parse_string"}
for name in sorted(set(decoder) - python_scanner):
    ours = getattr(ns["_Context"], name)
    if name == "parse_constant":
        assert all(math.isnan(ours(c)) if c == "NaN" else ours(c) == decoder[name](c)
                   for c in ("NaN", "Infinity", "-Infinity")), name
    else:
        assert ours == decoder[name], (name, ours, decoder[name])
text = ' {"a": [1, 2.5, -0.0, 1e400, NaN, "\\u00e9", true, null]} '
assert repr(ns["loads"](text)) == repr(json.loads(text))
print("ok", sorted(set(decoder) - python_scanner))
"""


@pytest.mark.parametrize("name", ["3.9", "3.11", "3.13", "3.14", "3.15"])
def test_each_interpreters_scanner_gets_every_option(name: str) -> None:
    interp = require(name)
    source = (REPO / "core" / "json_reader.py").read_text()
    done = subprocess.run(chroot_command(interp.root, [interp.argv0, "-c", CONTEXT_PROBE, source]),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok"), done.stdout
