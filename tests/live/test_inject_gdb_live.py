"""Injection through gdb (`--injector gdb`), against real CPython processes (3.9 .. 3.14).

gdb is used only after its health probe passed on this machine (on AMX hosts Debian's gdb 13.1 fails it):
where it fails, every test here instead asserts the refusal (gdbUnhealthy, before gdb touches the target)
and that the target was left running.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from live_targets import IN_CI, Target, TargetPool, chroot_command, require
from repo_paths import REPO

from core.errors import FailureKind, SafeAttachError
from core.inject.gdb import LegacyInjection, gdb_available, inject_python
from core.inject.gdb.health import gdb_health
from core.inject.safe_point import process_state
from core.requests import CancelToken

needs_gdb = pytest.mark.skipif(gdb_available() is None and not IN_CI, reason="gdb is not installed")


@pytest.fixture(scope="module")
def healthy() -> bool:
    """This machine's verdict on its gdb (probed once, in a throwaway process of our own)."""
    gdb = gdb_available()
    return gdb is not None and gdb_health(gdb, use_cache=False).healthy


def inject_or_refused(healthy: bool, pid: int, code: str, **kw: Any) -> LegacyInjection | None:
    """inject_python; None when the probe failed and the injection was refused as it must be."""
    try:
        return inject_python(pid, code, **kw)
    except SafeAttachError as exc:
        if not healthy and exc.kind is FailureKind.GDB_UNHEALTHY:
            return None
        raise


def expected_kind(healthy: bool, kind: FailureKind) -> set[FailureKind]:
    return {kind} if healthy else {FailureKind.GDB_UNHEALTHY}


def marker_code(marker: str) -> str:
    return f"import sys; open({marker!r}, 'w').write(repr(tuple(sys.version_info[:2])))"


def read_marker(target: Target, marker: str) -> str:
    # a chrooted target wrote inside its own root: read it through /proc/PID/root
    path = Path(f"/proc/{target.pid}/root") / marker.lstrip("/")
    try:
        return path.read_text()
    finally:
        path.unlink(missing_ok=True)


def assert_running(target: Target) -> None:
    assert target.alive()
    assert process_state(target.pid) not in ("t", "T", None)


def assert_heartbeat(target: Target) -> None:
    """Three consecutive ticks: at most one can predate the injection, so the target kept printing after it."""
    ticks = [int(target.wait_for("tick", 5.0).split()[1]) for _ in range(3)]
    assert ticks == [ticks[0], ticks[0] + 1, ticks[0] + 2]


def read_stderr_until(target: Target, needle: bytes, timeout: float = 5.0) -> bytes:
    assert target.proc.stderr is not None
    data = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(target.proc.stderr, selectors.EVENT_READ)
        while needle not in data and time.monotonic() < deadline:
            if sel.select(deadline - time.monotonic()):
                chunk = os.read(target.proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                data += chunk
    return data


@needs_gdb
@pytest.mark.parametrize("name", ["3.9", "3.11", "3.13", "3.13d"])
def test_inject_into_sleepy_target(targets: TargetPool, healthy: bool, name: str) -> None:
    interp = require(name)
    target = targets.spawn_script(interp, "sleepy.py")
    marker = f"/tmp/safeattach-legacy-{uuid.uuid4().hex}"
    lines: list[str] = []
    result = inject_or_refused(healthy, target.pid, marker_code(marker), timeout=30, progress=lines.append)
    if result is None:
        assert_heartbeat(target)
        return
    assert result.return_code == 0
    assert read_marker(target, marker) == repr(interp.version)
    assert result.pid == target.pid and result.gdb_version.startswith("GNU gdb")
    assert any(line.startswith("gdb attached") for line in lines)
    assert any(line.startswith("safe point:") for line in lines)
    assert "PyRun_SimpleString returned 0" in lines
    assert_running(target)
    assert_heartbeat(target)
    assert_running(target)


@needs_gdb
@pytest.mark.parametrize("name", ["3.11", "3.13"])
def test_inject_into_busy_target_uses_pending_call(targets: TargetPool, healthy: bool, name: str) -> None:
    interp = require(name)
    target = targets.spawn_script(interp, "busy.py")
    marker = f"/tmp/safeattach-legacy-{uuid.uuid4().hex}"
    result = inject_or_refused(healthy, target.pid, marker_code(marker), timeout=30)
    if result is None:
        assert_running(target)
        return
    assert read_marker(target, marker) == repr(interp.version)
    assert result.safe_point == "pending call from the eval loop"
    assert result.thread_id == target.pid  # pending calls run on the main thread
    assert_running(target)


@needs_gdb
def test_inject_into_fully_blocked_314_target(targets: TargetPool, healthy: bool) -> None:
    interp = require("3.14")
    target = targets.spawn_script(interp, "blocked.py")
    marker = f"/tmp/safeattach-legacy-{uuid.uuid4().hex}"
    result = inject_or_refused(healthy, target.pid, marker_code(marker), timeout=30)
    if result is None:
        assert_running(target)
        return
    assert read_marker(target, marker) == "(3, 14)"
    assert result.safe_point == "thread parked in clock_nanosleep"
    assert_running(target)


@needs_gdb
def test_code_that_raises_is_inject_failed_and_target_survives(targets: TargetPool, healthy: bool) -> None:
    target = targets.spawn_script(require("3.11"), "sleepy.py")
    with pytest.raises(SafeAttachError) as exc:
        inject_python(target.pid, "raise RuntimeError('legacy-boom')", timeout=30)
    assert exc.value.kind in expected_kind(healthy, FailureKind.INJECT_FAILED)
    if not healthy:
        assert_heartbeat(target)
        return
    assert exc.value.detail["return_code"] == -1
    assert b"RuntimeError: legacy-boom" in read_stderr_until(target, b"legacy-boom")
    assert_running(target)
    assert_heartbeat(target)


@needs_gdb
def test_no_safe_point_in_time_is_timeout_and_target_left_running(targets: TargetPool, healthy: bool) -> None:
    interp = require("3.11")
    # one long C call that holds the GIL: no bytecode boundary, no parked syscall
    source = "print('ready', flush=True); sum(range(10**14))"
    target = targets.spawn(chroot_command(interp.root, [interp.argv0, "-c", source]), interp)
    started = time.monotonic()
    with pytest.raises(SafeAttachError) as exc:
        inject_python(target.pid, "pass", timeout=1.0)
    assert exc.value.kind in expected_kind(healthy, FailureKind.TIMEOUT_RUN)
    assert time.monotonic() - started < 10
    assert_running(target)
    assert process_state(target.pid) == "R"


@needs_gdb
def test_cancel_before_safe_point(targets: TargetPool, healthy: bool) -> None:
    target = targets.spawn_script(require("3.11"), "busy.py")
    token = CancelToken()
    token.cancel()
    with pytest.raises(SafeAttachError) as exc:
        inject_python(target.pid, "pass", timeout=30, cancel=token)
    assert exc.value.kind in expected_kind(healthy, FailureKind.CANCELLED)
    assert_running(target)


def test_gdb_path_missing(targets: TargetPool) -> None:
    target = targets.spawn_script(require("3.11"), "sleepy.py")
    assert gdb_available("/nonexistent/gdb") is None
    with pytest.raises(SafeAttachError) as exc:
        inject_python(target.pid, "pass", gdb="/nonexistent/gdb")
    assert exc.value.kind is FailureKind.GDB_MISSING
    assert "/nonexistent/gdb" in exc.value.message and "apt-get install gdb" in exc.value.hint


def test_gdb_not_on_path(targets: TargetPool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = targets.spawn_script(require("3.11"), "sleepy.py")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert gdb_available() is None
    with pytest.raises(SafeAttachError) as exc:
        inject_python(target.pid, "pass")
    assert exc.value.kind is FailureKind.GDB_MISSING
    assert_running(target)


@needs_gdb
def test_non_python_process_is_symbol_not_found(targets: TargetPool, healthy: bool) -> None:
    sleeper = targets.spawn(["sleep", "60"], ready=None)
    with pytest.raises(SafeAttachError) as exc:
        inject_python(sleeper.pid, "pass", timeout=30)
    assert exc.value.kind in expected_kind(healthy, FailureKind.SYMBOL_NOT_FOUND)
    assert not healthy or "PyRun_SimpleString" in exc.value.message
    assert_running(sleeper)


CLIENT = """
import json, sys
from core.errors import SafeAttachError
from core.inject.gdb import inject_python
try:
    inject_python(int(sys.argv[1]), "pass", timeout=20)
    print(json.dumps({"kind": None}))
except SafeAttachError as exc:
    print(json.dumps(exc.to_dict()))
"""


@needs_gdb
def test_unprivileged_client_is_ptrace_denied(targets: TargetPool, healthy: bool) -> None:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run the client as another user")
    target = targets.spawn_script(require("3.11"), "sleepy.py")
    argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            sys.executable, "-c", CLIENT, str(target.pid)]
    out = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # the probe runs as that user too; where it cannot run there, gdb is refused before it attaches
    assert report["kind"] in {FailureKind.PTRACE_DENIED.value, FailureKind.GDB_UNHEALTHY.value}, report
    if report["kind"] == FailureKind.PTRACE_DENIED.value:
        assert "uid 0" in report["hint"] and "uid 65534" in report["hint"]
    assert_running(target)
    assert_heartbeat(target)
