"""The connect block's extra lines: who may connect, and the `ssh -L` forward over SSH."""

from __future__ import annotations

from app.outcome_render import access_line, ssh_forward_line

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
