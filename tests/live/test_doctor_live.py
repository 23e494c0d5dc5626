"""`doctor` on real targets: healthy, legacy-only, opted out (two ways), traced by another process, bad PIDs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from live_targets import TargetPool, require

from core.doctor import Status, diagnose
from core.errors import FailureKind

CLI = [sys.executable, "-m", "app.cli"]
# holds a PTRACE_SEIZE on the PID in argv[1] (no stop) until killed
TRACER = ("import ctypes, sys, time\nlibc = ctypes.CDLL(None, use_errno=True)\n"
          "assert libc.ptrace(0x4206, int(sys.argv[1]), None, None) == 0, ctypes.get_errno()\n"
          "print('ready', flush=True)\ntime.sleep(60)\n")


def by_check(d: object) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for f in d.findings:  # type: ignore[attr-defined]
        out.setdefault(f.check, []).append(f)
    return out


@pytest.mark.parametrize("name,path", [("3.14", "safe"), ("3.15", "safe"), ("3.13", "legacy"), ("3.9", "legacy")])
def test_healthy_targets(targets: TargetPool, name: str, path: str) -> None:
    target = targets.spawn_script(require(name), "stacks.py")
    # its five threads wake every 0.5 s: read until a look finds them all parked (a thread in state R, e.g.
    # waiting for a CPU on a loaded machine, rightly suppresses the warning)
    for _ in range(40):
        d = diagnose(target.pid)
        blocked = [f for f in d.findings if f.check == "threads.blocked"]
        if len(blocked) == 5:
            break
    assert d.path == path and d.exit_code == 0 and d.blocking is None
    assert len(blocked) == 5, [f.message for f in d.findings]
    assert any("main thread" in f.message and "<module> at <string>:" in f.message for f in blocked)
    safe_point = [f for f in d.findings if f.check == "threads.safe_point"]
    assert [f.status for f in safe_point] == ([Status.WARN] if path == "safe" else [])


@pytest.mark.parametrize("env,flags,sources", [
    ({"PYTHON_DISABLE_REMOTE_DEBUG": "1"}, (), ("memory", "environment")),
    ({}, ("-X", "disable-remote-debug"), ("memory",)),
], ids=["environ", "X-flag"])
def test_opted_out(targets: TargetPool, env: dict[str, str], flags: tuple[str, ...],
                   sources: tuple[str, ...]) -> None:
    target = targets.spawn_script(require("3.14"), "stacks.py", env=env, python_flags=flags)
    out = subprocess.run([*CLI, "doctor", str(target.pid), "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 20, out.stderr
    data = json.loads(out.stdout)
    assert data["attach_should_work"] is False and data["blocking_kind"] == "policyDisabled"
    (policy,) = [f for f in data["findings"] if f["check"] == "policy"]
    assert all(s in policy["message"] for s in sources)
    assert ("environment" in policy["message"]) is ("environment" in sources)
    assert "--allow-opted-out" in policy["fixes"][-1]


@pytest.mark.parametrize("name,code", [("3.11", 41), ("3.14", 0)])
def test_existing_tracer(targets: TargetPool, name: str, code: int) -> None:
    target = targets.spawn_script(require(name), "stacks.py")
    targets.spawn([sys.executable, "-c", TRACER, str(target.pid)])
    d = diagnose(target.pid)
    (tracer,) = [f for f in d.findings if f.check == "ptrace.tracer"]
    assert tracer.kind is FailureKind.PTRACE_DENIED and tracer.affects == "legacy"
    assert d.exit_code == code
    assert tracer.status is (Status.FAIL if code else Status.WARN)


def test_bad_pids(targets: TargetPool) -> None:
    missing = subprocess.run([*CLI, "doctor", "999999999"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 10 and "Traceback" not in missing.stderr
    sleeper = targets.spawn(["sleep", "30"], ready=None)
    text = subprocess.run([*CLI, "doctor", str(sleeper.pid)], capture_output=True, text=True, timeout=60)
    assert text.returncode == 13 and "Traceback" not in text.stderr + text.stdout
    assert all(len(line) <= 80 for line in text.stdout.splitlines())
    assert "verdict: an attach would fail at read (exit 13)" in text.stdout


def test_script_visibility(targets: TargetPool, tmp_path: Path) -> None:
    target = targets.spawn_script(require("3.14"), "stacks.py")
    readable = tmp_path / "ok.py"
    readable.write_text("x = 1\n")
    tmp_path.chmod(0o755)
    d = diagnose(target.pid, script=str(readable))
    (ok,) = [f for f in d.findings if f.check == "script"]
    assert ok.status is Status.OK and "copied" in ok.message  # the chroot cannot see the host's tmp_path
    d = diagnose(target.pid, script=str(tmp_path / "missing.py"))
    (missing,) = [f for f in d.findings if f.check == "script"]
    assert missing.status is Status.FAIL and missing.kind is FailureKind.SCRIPT_UNREADABLE
    assert d.exit_code == 23
