"""The client starts debugpy's adapter itself (core.dap.fast_adapter), in parallel with the injection: the
adapter exists before the payload ran, runs as the target's user (never as the root client), and a client
killed right after starting it leaves nothing behind once the adapter's idle timeout passed."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from debugpy_attach import CLI, Session, cli_attach, drive_session, engine_attach
from live_targets import SID, Target, chroot_command, require
from repo_paths import REPO

from core.dap import fast_adapter
from core.dap.reattach import listening_ports
from core.events import StepOutput
from core.procfs import start_ticks_of, start_time_of, status_field

TARGET_USER = 64124
# the main thread sleeps most of the time: the loader runs only when a sleep ends
SLEEPY = """\
import sys, time
print("ready", flush=True)
n = 0
while True:
    time.sleep(float(sys.argv[1]))
    n += 1
    print("tick %d" % n, flush=True)
"""


def _sleepy(session: Session, period: float, user: int | None = None) -> Target:
    interp = require("3.14")
    host = Path(tempfile.mkdtemp(prefix="sa-fast-", dir=SID / "tmp"))
    os.chmod(host, 0o755)
    session.dirs.append(host)
    (host / "sleepy.py").write_text(SLEEPY)
    argv = chroot_command(interp.root, [interp.argv0, "/" + str((host / "sleepy.py").relative_to(SID)), str(period)])
    if user is not None:
        argv.insert(1, f"--userspec={user}:{user}")
    return session.targets.spawn(argv, interp, timeout=30)


def _fast_adapters(target: Target) -> dict[int, int]:
    """pid -> start ticks of the adapters safeattach started for `target` (and no one else's: other
    processes on this machine run debugpy too). Its gate configuration names the target's adapter directory."""
    ticks = start_ticks_of(target.pid)
    mark = f"-adapter/{target.pid}-{ticks}-".encode()
    found: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            if not any(a.endswith(b"debugpy/adapter") for a in argv):
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if mark not in f.read():
                    continue
        except OSError:
            continue
        t = start_ticks_of(int(entry))
        if t is not None:
            found[int(entry)] = t
    return found


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def test_the_adapter_is_started_by_the_client_before_the_payload_runs(session: Session) -> None:
    target = _sleepy(session, 1.5)
    code, events, outcome, stderr = cli_attach(session, target.pid)
    end = time.time()
    assert code == 0, (outcome.message, stderr)
    r = outcome.result
    listener = int(r["debugpy"]["listener_pid"])
    await_ms = float(r["steps_ms"]["awaitRun"])
    assert await_ms > 300, r["steps_ms"]  # the loader waited for a sleep to end
    # the target would have spawned its adapter only once the payload ran, at the end of awaitRun
    assert start_time_of(listener) < end - (await_ms / 1000) + 0.2, (start_time_of(listener), end, r["steps_ms"])
    assert _ppid(listener) != target.pid
    assert listener in _fast_adapters(target)
    lines = [e["text"] for e in events if e["event"] == "StepOutput"]
    assert any("debug adapter: started by safeattach" in line for line in lines), lines
    assert r["debugpy"]["adapter_python"] == "/usr/bin/python3.14"
    assert listening_ports(listener) >= {int(r["connect"]["port"])}


def test_the_adapter_runs_as_the_targets_user_not_the_root_client(session: Session) -> None:
    assert os.geteuid() == 0
    interp = require("3.14")
    prog = session.program(interp.root)
    argv = chroot_command(interp.root, [interp.argv0, prog])
    argv.insert(1, f"--userspec={TARGET_USER}:{TARGET_USER}")
    target = session.targets.spawn(argv, interp, timeout=30)
    code, events, outcome, stderr = cli_attach(session, target.pid)
    assert code == 0, (outcome.message, stderr)
    listener = int(outcome.result["debugpy"]["listener_pid"])
    assert listener != target.pid
    lines = [e["text"] for e in events if e["event"] == "StepOutput"]
    assert any(f"started by safeattach as uid {TARGET_USER}" in line for line in lines), lines
    assert (status_field(listener, "Uid") or "").split() == [str(TARGET_USER)] * 4
    assert (status_field(listener, "Gid") or "").split() == [str(TARGET_USER)] * 4
    assert (status_field(listener, "Groups") or "").split() == (status_field(target.pid, "Groups") or "").split()
    for cap in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert int(status_field(listener, cap) or "1", 16) == 0, cap
    theirs, adapters = os.stat(f"/proc/{target.pid}/root"), os.stat(f"/proc/{listener}/root")
    assert (theirs.st_dev, theirs.st_ino) == (adapters.st_dev, adapters.st_ino)  # in the target's root
    drive_session(int(outcome.result["connect"]["port"]), prog, target)


def test_a_client_killed_after_starting_the_adapter_leaves_no_adapter_behind(session: Session) -> None:
    target = _sleepy(session, 6.0)  # the request (2 s) expires before the target would run it
    cli = subprocess.Popen([*CLI, "attach", str(target.pid), "--json", "--timeout", "2", "--idle-timeout", "2"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    session.clis.append(cli)
    deadline = time.monotonic() + 20
    ours: dict[int, int] = {}
    while not ours:
        assert time.monotonic() < deadline and cli.poll() is None, "no adapter appeared while the client ran"
        ours = _fast_adapters(target)
        time.sleep(0.005)
    cli.send_signal(signal.SIGKILL)
    cli.wait(timeout=10)
    session.listeners += list(ours.items())  # reaped by the session if this test fails
    deadline = time.monotonic() + 2 + 10
    while left := _fast_adapters(target):  # its daemonised child, too
        session.listeners += [item for item in left.items() if item not in session.listeners]
        assert time.monotonic() < deadline, f"the adapter outlived its idle timeout: {left}"
        time.sleep(0.1)
    first = int(target.wait_for("tick ", timeout=15).split()[1])
    assert int(target.wait_for("tick ", timeout=15).split()[1]) > first  # the program goes on
    assert not _fast_adapters(target)
    assert target.alive()


def test_an_adapter_that_cannot_start_leaves_the_attach_to_the_target(session: Session,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The bootstrap fails before its exec (here: entering the root): the payload starts the adapter itself."""
    monkeypatch.setattr(fast_adapter, "BOOT", fast_adapter.BOOT.replace('os.chdir("/")', 'raise OSError("no root")'))
    target, prog = session.spawn("3.14")
    events, outcome = engine_attach(session, target.pid)
    assert outcome.ok, outcome.message
    lines = [e.text for e in events if isinstance(e, StepOutput)]
    assert any("safeattach could not start it (OSError('no root'))" in line for line in lines), lines
    assert not _fast_adapters(target)
    listener = int(outcome.result["debugpy"]["listener_pid"])
    assert listener != target.pid
    drive_session(int(outcome.result["connect"]["port"]), prog, target)


NO_PYDEVD = """\
import sys, time
class LateFailure:  # pydevd imports xmlrpc.client (the debugpy package does not): it fails, after a while
    def find_spec(self, name, path=None, target=None):
        if name == "xmlrpc.client":
            time.sleep(1.0)
            raise ImportError("no xmlrpc.client in this program")
        return None
sys.meta_path.insert(0, LateFailure())
print("ready", flush=True)
n = 0
while True:
    time.sleep(0.05)
    n += 1
    if n % 4 == 0:
        print("tick %d" % n, flush=True)
"""


def test_pydevd_failing_after_the_attach_returned_stops_the_adapter_and_the_next_attach_says_why(
        session: Session) -> None:
    """The attach returns once the adapter listens, while pydevd still imports in the target's listen thread:
    when that import fails, the adapter stops at once (no DAP client waits for a server that cannot come) and
    the next attach reports the reason; the program goes on."""
    interp = require("3.14")
    host = Path(tempfile.mkdtemp(prefix="sa-fast-", dir=SID / "tmp"))
    os.chmod(host, 0o755)
    session.dirs.append(host)
    (host / "no_pydevd.py").write_text(NO_PYDEVD)
    target = session.targets.spawn(
        chroot_command(interp.root, [interp.argv0, "/" + str((host / "no_pydevd.py").relative_to(SID))]),
        interp, timeout=30)
    _events, outcome = engine_attach(session, target.pid)
    assert outcome.ok, (outcome.message, outcome.hint)
    listener = int(outcome.result["debugpy"]["listener_pid"])
    deadline = time.monotonic() + 10
    while listener in _fast_adapters(target):
        assert time.monotonic() < deadline, "the adapter kept waiting for a debug server that failed"
        time.sleep(0.02)
    _events, again = engine_attach(session, target.pid)
    assert not again.ok
    assert "failed after the attach returned" in again.message and "ImportError" in again.message, again.message
    first = int(target.wait_for("tick ", timeout=15).split()[1])
    assert int(target.wait_for("tick ", timeout=15).split()[1]) > first  # the program goes on
    assert target.alive()


def _bootstraps() -> set[int]:
    """Processes running fast_adapter's bootstrap (it waits for its configuration on stdin)."""
    found: set[int] = set()
    marker = fast_adapter.BOOT.encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker in f.read():
                        found.add(int(entry))
            except OSError:
                continue
    return found


def test_the_cli_leaves_no_prestarted_bootstrap_behind_when_no_adapter_is_started(session: Session) -> None:
    """`attach` starts the adapter's bootstrap before it reads the target (its start-up overlaps the CLI's); an
    attach that ends before the adapter (here: an opted-out target) ends it, before the CLI exits."""
    interp = require("3.14")
    prog = session.program(interp.root)
    target = session.targets.spawn(chroot_command(interp.root, [interp.argv0, prog]), interp, timeout=30,
                                   env={"PYTHON_DISABLE_REMOTE_DEBUG": "1"})
    before = _bootstraps()
    code, _events, outcome, _stderr = cli_attach(session, target.pid)
    assert code == 20 and not outcome.ok, (code, outcome.message)
    assert _bootstraps() <= before
    assert target.alive()
