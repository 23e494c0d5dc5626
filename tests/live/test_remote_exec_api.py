"""core.remote_exec: the sys.remote_exec contract from a 3.11 client into 3.14/3.15 targets, and
exec_and_wait's structured result."""

from __future__ import annotations

import os
import selectors
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from attach_helpers import SLEEP_THEN_RUN, Marker, make_marker, request_state, wait_parked
from live_targets import Target, TargetPool, chroot_command, require
from repo_paths import TARGETS_DIR

from core.errors import FailureKind
from core.remote_exec import ExecResult, exec_and_wait, remote_exec


@pytest.fixture
def marker() -> Iterator[Marker]:
    yield from make_marker()


@pytest.fixture
def twin(marker: Marker) -> Iterator[Path]:
    """The marker's script also present at the same path on the host: sys.remote_exec checks the path in the
    caller's view and the target opens it in its own (chroot) view."""
    script = marker.script()
    host_dir = Path(marker.target_dir)
    host_dir.mkdir()
    shutil.copy(script, host_dir / "script.py")
    try:
        yield host_dir / "script.py"
    finally:
        shutil.rmtree(host_dir, ignore_errors=True)


def _stderr_until(target: Target, needle: bytes, timeout: float = 10.0) -> bytes:
    assert target.proc.stderr is not None
    buf, deadline = b"", time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(target.proc.stderr, selectors.EVENT_READ)
        while needle not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise TimeoutError(f"no {needle!r} on stderr: {buf!r}")
            chunk = os.read(target.proc.stderr.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
    return buf


def _wait_file(path: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.005)
    return path.read_text()


def test_argument_types() -> None:
    with pytest.raises(TypeError):
        remote_exec(os.getpid(), 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        remote_exec("1", "/dev/null")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="embedded null byte"):
        remote_exec(os.getpid(), "a\0b")


def test_missing_script(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        remote_exec(os.getpid(), tmp_path / "nope.py")
    assert str(err.value) == "Script file does not exist"


@pytest.mark.parametrize("name", ["3.14", "3.15"])
def test_runs_in_target_non_blocking(targets: TargetPool, marker: Marker, twin: Path, name: str) -> None:
    interp = require(name)
    target = targets.spawn(chroot_command(interp.root, [interp.argv0, "-c", SLEEP_THEN_RUN, "2"]), interp)
    wait_parked(target.pid)
    assert remote_exec(target.pid, str(twin)) is None  # returns at once: the target is still asleep
    assert request_state(target.pid).pending == 1
    assert not marker.host_file.exists()
    assert target.wait_for("woke", 15) == "woke"
    assert _wait_file(marker.host_file) == f"MainThread {target.pid}"
    assert request_state(target.pid).pending == 0


def test_accepts_bytes_and_pathlike(targets: TargetPool, marker: Marker, twin: Path) -> None:
    target = targets.spawn_script(require("3.14"), "busy.py")
    remote_exec(target.pid, os.fsencode(twin))
    _wait_file(marker.host_file)
    marker.host_file.unlink()
    remote_exec(target.pid, twin)
    _wait_file(marker.host_file)


def test_exception_reported_in_target(targets: TargetPool, marker: Marker) -> None:
    bad_dir = Path(marker.target_dir)
    bad_dir.mkdir()
    try:
        for d in (bad_dir, marker.host_dir):
            (d / "bad.py").write_text("raise LookupError('from the script')\n")
        target = targets.spawn_script(require("3.14"), "busy.py")
        remote_exec(target.pid, bad_dir / "bad.py")
        err = _stderr_until(target, b"LookupError: from the script")
        assert b"Error executing debugger script" in err
        assert target.alive()
    finally:
        shutil.rmtree(bad_dir, ignore_errors=True)


def test_path_too_long(targets: TargetPool, tmp_path: Path) -> None:
    target = targets.spawn_script(require("3.14"), "blocked.py")
    deep = tmp_path
    while len(os.fsencode(deep)) < 520:
        deep = deep / ("d" * 100)
    deep.mkdir(parents=True)
    (deep / "s.py").write_text("pass\n")
    before = request_state(target.pid)
    with pytest.raises(ValueError) as err:
        remote_exec(target.pid, deep / "s.py")
    assert str(err.value) == "Debugger script path is too long"
    assert request_state(target.pid) == before


@pytest.mark.parametrize(
    ("env", "flags"),
    [({"PYTHON_DISABLE_REMOTE_DEBUG": "1"}, ()), ({}, ("-X", "disable-remote-debug"))],
)
def test_disabled_target(targets: TargetPool, env: dict[str, str], flags: tuple[str, ...]) -> None:
    target = targets.spawn_script(require("3.15"), "busy.py", env=env, python_flags=flags)
    with pytest.raises(RuntimeError) as err:
        remote_exec(target.pid, "/dev/null")
    assert str(err.value) == "Remote debugging is not enabled in the remote process"
    assert request_state(target.pid).pending == 0


def test_old_target_refused(targets: TargetPool) -> None:
    target = targets.spawn_script(require("3.13"), "busy.py")
    with pytest.raises(RuntimeError) as err:
        remote_exec(target.pid, "/dev/null")
    assert "Python 3.13 process" in str(err.value)


def test_no_such_process() -> None:
    with pytest.raises(RuntimeError) as err:
        remote_exec(2**22 + 4321, "/dev/null")
    assert str(err.value) == "PyRuntime address lookup failed during debug offsets initialization"


def test_embedded_target_without_threads_main(targets: TargetPool, marker: Marker, twin: Path) -> None:
    busy = (TARGETS_DIR / "busy.py").read_text()
    target = targets.spawn_embedded(busy)
    remote_exec(target.pid, twin)  # CPython's own client refuses: "Can't find the main thread"
    _wait_file(marker.host_file)


def test_exec_and_wait(targets: TargetPool, marker: Marker, tmp_path: Path) -> None:
    target = targets.spawn_script(require("3.15"), "busy.py")
    res = exec_and_wait(target.pid, marker.script(), timeout=10)
    assert isinstance(res, ExecResult)
    assert res.ok and res.ran
    assert res.thread_name == "MainThread" and res.native_thread_id == target.pid
    assert res.thread_selection == "main"
    assert "awaitRun" in res.steps_ms
    bad = tmp_path / "bad.py"
    bad.write_text("1/0\n")
    res = exec_and_wait(target.pid, bad, timeout=10)
    assert not res.ok and res.ran
    assert res.kind is FailureKind.SCRIPT_FAILED
    assert res.exc_type == "ZeroDivisionError"
    assert "1/0" in res.traceback


def test_exec_and_wait_timeout(targets: TargetPool, marker: Marker) -> None:
    target = targets.spawn_script(require("3.14"), "blocked.py")
    wait_parked(target.pid)
    res = exec_and_wait(target.pid, marker.script(), timeout=1)
    assert not res.ok and not res.ran
    assert res.kind is FailureKind.TIMEOUT_RUN
    assert request_state(target.pid).pending == 0


def test_waits_for_the_attach_lock_and_never_arms_under_a_running_chain(
    targets: TargetPool, marker: Marker, twin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """remote_exec takes the attach chain's per-target lock: while another attach holds it, nothing is
    written (a busy error after the wait); once it is free, the request is armed as usual."""
    import core.remote_exec as api
    from core.attach.guard import TargetLock
    from core.procfs import start_ticks_of

    interp = require("3.14")
    target = targets.spawn(chroot_command(interp.root, [interp.argv0, "-c", SLEEP_THEN_RUN, "3"]), interp)
    wait_parked(target.pid)
    before = request_state(target.pid)
    ticks = start_ticks_of(target.pid)
    assert ticks is not None
    held = TargetLock(str(interp.root), 0, 0, target.pid, ticks)
    held.acquire(5.0, None, lambda _line: None)
    monkeypatch.setattr(api, "LOCK_WAIT", 0.3)
    try:
        with pytest.raises(RuntimeError, match="in progress"):
            remote_exec(target.pid, str(twin))
        assert request_state(target.pid) == before  # nothing armed
    finally:
        held.release()
    assert remote_exec(target.pid, str(twin)) is None
    assert request_state(target.pid).pending == 1
    assert target.wait_for("woke", 15) == "woke"
    assert _wait_file(marker.host_file) == f"MainThread {target.pid}"
