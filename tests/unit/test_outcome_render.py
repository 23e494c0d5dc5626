"""The outcome in words: the connect block's extra lines (who may connect, the `ssh -L` forward over SSH) and the
result as labelled sentences."""

from __future__ import annotations

from app.render.words import access_line, result_lines, ssh_forward_line

RESULT = {"connect": {"host": "127.0.0.1", "port": 40493},
          "access": {"allowed_uids": [0, 1000], "idle_timeout": 600.0, "open_to_network": False}}


def test_access_line() -> None:
    assert access_line(RESULT) == "Only uid 0, 1000 may connect; the server stops 600s after its last client leaves."
    assert access_line({"access": None}) is None
    opened = {"access": {**RESULT["access"], "open_to_network": True}}  # type: ignore[dict-item]
    assert "remote hosts are not checked" in (access_line(opened) or "")


def test_ssh_forward_line() -> None:
    assert ssh_forward_line(RESULT, None) is None
    assert ssh_forward_line(RESULT, "10.0.0.5 51234 10.0.0.9 22") == "ssh -N -L 40493:127.0.0.1:40493 10.0.0.9"
    assert ssh_forward_line(RESULT, "fe80::1 51234 2001:db8::9 2222") == (
        "ssh -N -L 40493:127.0.0.1:40493 -p 2222 [2001:db8::9]")
    assert ssh_forward_line(RESULT, "garbage") is None
    v6 = {"connect": {"host": "::1", "port": 5}}
    assert ssh_forward_line(v6, "a 1 b 22") == "ssh -N -L 5:[::1]:5 b"


def test_the_result_reads_as_sentences_without_raw_dicts() -> None:
    result = {"thread_selection": "main", "steps_ms": {"openProcess": 0.4, "parse": 2.0, "policy": 0.1,
                                                      "awaitRun": 300.2, "legacyAwait": 9.0},
              "legacy": False, "flags": ["legacy_fallback", "ptrace"], "ran": True, "thread_name": "MainThread",
              "native_thread_id": 4242, "payload": {}, "warnings": [], "bridge": None}
    lines = result_lines(312.0, result)
    assert lines == [
        'Ran in thread "MainThread" TID 4242 (chosen: the main thread).',
        "Took 312 ms: parse 2.0 ms, awaitRun 300 ms, legacyAwait 9.0 ms, 2 other step(s) 0.5 ms.",
        "Also: fell back to legacy injection, ptrace injector.",
    ]  # empty ones (payload, warnings, bridge, flags when none) are left out
    assert result_lines(4.0, {"flags": [], "steps_ms": {}, "ran": False}) == ["Took 4.0 ms."]
    assert result_lines(1.0, {"exit": {"code": 3}}) == ["Took 1.0 ms.", "exit: code=3"]
