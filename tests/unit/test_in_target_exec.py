"""The exec payload's source decoding (run in the target) gives importlib.util.decode_source's text, without
importing tokenize for the scripts that declare no encoding."""

from __future__ import annotations

from importlib.util import decode_source

from hypothesis import given, settings
from hypothesis import strategies as st

from core.payloads.in_target_exec import _source_text

LINE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30)
NEWLINE = st.sampled_from(["\n", "\r\n", "\r"])
COOKIE = st.sampled_from(["", "# -*- coding: latin-1 -*-", "# vim: set fileencoding=utf-8 :", "# coding=cp1252",
                          "#!/usr/bin/env python3", "x = 'no coding here'", "# encoding: utf-8"])


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
    try:
        expected = decode_source(source)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return  # the target's fallback: the script runs, its lines go unshown
    assert _source_text(source) == expected

