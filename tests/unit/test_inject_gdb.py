"""The gdb injector without a target: its MI parser, C string literals, typed errors on bad input or a gone
process, and the health probe that refuses a gdb whose inferior calls break (injections: tests/live)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from live_targets import IN_CI

from core.errors import FailureKind, SafeAttachError
from core.inject.gdb import gdb_available, inject_python
from core.inject.gdb.inject import c_string_literal
from core.inject.gdb.mi import parse_record

needs_gdb = pytest.mark.skipif(gdb_available() is None and not IN_CI, reason="gdb is not installed")


def test_parse_mi_records() -> None:
    rec = parse_record('12^error,msg="ptrace: Operation not permitted."')
    assert rec is not None and (rec.token, rec.kind, rec.cls) == (12, "^", "error")
    assert rec.results["msg"] == "ptrace: Operation not permitted."
    stop = parse_record('*stopped,reason="breakpoint-hit",bkpt={number="1"},thread-id="1",list=["a","b"]')
    assert stop is not None and stop.results["reason"] == "breakpoint-hit"
    assert stop.results["bkpt"] == {"number": "1"} and stop.results["list"] == ["a", "b"]
    stream = parse_record('~"GNU gdb 13.1\\n"')
    assert stream is not None and stream.text == "GNU gdb 13.1\n"
    assert parse_record("(gdb) ") is None


def test_c_string_literal_escapes_quotes_and_non_ascii() -> None:
    assert c_string_literal('print("a\\\\b")') == '"print(\\042a\\134\\134b\\042)"'
    assert c_string_literal("é") == '"\\303\\251"'


def test_bad_input_is_a_typed_error() -> None:
    with pytest.raises(SafeAttachError) as exc:
        inject_python(os.getpid(), "a = 1\nb = 2")
    assert exc.value.kind is FailureKind.INJECT_FAILED and "single line" in exc.value.message


@needs_gdb
def test_nonexistent_pid() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    with pytest.raises(SafeAttachError) as exc:
        inject_python(gone.pid, "pass", timeout=10)
    assert exc.value.kind is FailureKind.NO_SUCH_PROCESS
    assert str(gone.pid) in exc.value.message


def test_health_probe_passes_a_working_gdb_and_fails_one_that_breaks_inferior_calls(tmp_path: Path) -> None:
    from core.inject.gdb.health import run_probe

    gdb = gdb_available()
    if gdb is None:
        pytest.fail("gdb is provisioned by tests/provision.sh") if IN_CI else pytest.skip("gdb is not installed")
    healthy, reason = run_probe(gdb)
    cpu = Path("/proc/cpuinfo").read_text()
    if healthy:
        assert "inferior call returned" in reason
    else:  # this is the AMX lesson: say exactly what failed
        assert "amx_tile" in cpu or reason, reason
    broken = tmp_path / "gdb"
    broken.write_text("#!/bin/sh\necho \"Couldn't write extended state status: Bad address.\" >&2\nexit 1\n")
    broken.chmod(0o755)
    healthy, reason = run_probe(str(broken))
    assert not healthy and "Couldn't write extended state status" in reason
    silent = tmp_path / "gdb-silent"
    silent.write_text("#!/bin/sh\nexit 0\n")
    silent.chmod(0o755)
    assert run_probe(str(silent)) == (False, "gdb's inferior call returned no value (exit 0)")
