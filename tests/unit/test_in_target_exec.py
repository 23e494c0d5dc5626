"""The exec payload's source decoding (run in the target) gives importlib.util.decode_source's text, without
importing tokenize for the scripts that declare no encoding."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.util import decode_source

from hypothesis import given, settings
from hypothesis import strategies as st

from core.payloads.in_target_exec import _source_text

LINE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30)
NEWLINE = st.sampled_from(["\n", "\r\n", "\r"])
COOKIE = st.sampled_from(["", "# -*- coding: latin-1 -*-", "# vim: set fileencoding=utf-8 :", "# coding=cp1252",
                          "#!/usr/bin/env python3", "x = 'a plain first line'", "# encoding: utf-8"])


@settings(max_examples=400, deadline=None)
@given(st.lists(LINE, max_size=6), st.lists(NEWLINE, min_size=8, max_size=8), COOKIE, COOKIE, st.booleans())
def test_equal_to_decode_source(lines: list[str], newlines: list[str], first: str, second: str,
                                bom: bool) -> None:
    head = [first, second] if second else [first]
    text = "".join(line + newlines[i] for i, line in enumerate([*head, *lines]))
    declared = next((enc for enc in ("latin-1", "cp1252") if enc in first or (enc in second and
                     first.startswith("#"))), None)
    if declared is not None:
        try:
            source = text.encode(declared)
        except UnicodeEncodeError:
            return  # not a script this encoding can hold
    else:
        source = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    assert _outcome(_source_text, source) == _outcome(decode_source, source) or not _comparable(source)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=60), st.sampled_from([b"", b"\xef\xbb\xbf", b"# coding: latin-1\n", b"#!x\r\n"]))
def test_any_bytes_give_decode_sources_text_or_its_error(tail: bytes, head: bytes) -> None:
    source = head + tail
    assert _outcome(_source_text, source) == _outcome(decode_source, source) or not _comparable(source)


def _comparable(source: bytes) -> bool:
    """Whether this client's decode_source is the reference for `source`: from 3.14 it refuses NUL bytes
    (compile refuses them before the payload decodes anything), and 3.15's ends a lone last CR as a newline
    (ours keeps to the older decode_source, the cached lines differ by that one newline)."""
    if sys.version_info >= (3, 14) and b"\0" in source:
        return False
    return not (sys.version_info >= (3, 15) and source.endswith(b"\r"))


def _outcome(decode: Callable[[bytes], str], source: bytes) -> tuple[str, str]:
    """The text, or that it failed: the payload then runs the script without its lines, whatever the error
    (decode_source's is a SyntaxError where the first line is not UTF-8, ours a UnicodeDecodeError; compile
    refused such a script before either runs)."""
    try:
        return "text", decode(source)
    except Exception:
        return "error", ""

