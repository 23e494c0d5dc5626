"""The everyday case: a developer without root attaches to their own process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from live_targets import SID, Target, TargetPool, require
from repo_paths import REPO, TARGETS_DIR

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def nobody_target(targets: TargetPool) -> Target:
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is required")
    interp = require("3.14")
    source = (TARGETS_DIR / "sleepy.py").read_text()
    return targets.spawn(["chroot", str(SID), *NOBODY, interp.argv0, "-c", source], interp)


def as_nobody(*args: str, state_dir: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "SAFEATTACH_STATE_DIR": state_dir, "HOME": "/nonexistent"}
    return subprocess.run([*NOBODY, sys.executable, "-m", "app", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=120, env=env)


def test_unprivileged_info_and_exec_on_own_process(nobody_target: Target) -> None:
    target = nobody_target
    assert Path(f"/proc/{target.pid}").stat().st_uid == 65534
    info = as_nobody("info", str(target.pid), "--json", state_dir="/nonexistent/state")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["summary"]["user"] == "nobody" and data["summary"]["version"].startswith("3.14.")
    assert data["binary_access"] in ("root", "direct")  # map_files needs CAP_SYS_ADMIN, which we lack

    marker = f"/tmp/unpriv-{uuid.uuid4().hex}"
    shared = Path(tempfile.mkdtemp(prefix="sa-unpriv-"))  # pytest's tmp_path is private to root
    shared.chmod(0o755)
    script = shared / "script.py"
    script.write_text(f"import os\nopen({marker!r}, 'w').write(str(os.getuid()))\n")
    script.chmod(0o644)
    # an attempt log that cannot be written must not break the attach
    out = as_nobody("exec", str(target.pid), str(script), "--json", state_dir="/nonexistent/state")
    outcome = json.loads(out.stdout.splitlines()[-1])
    assert out.returncode == 0 and outcome["ok"], out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    shutil.rmtree(shared)
    assert (SID / marker.lstrip("/")).read_text() == "65534"
    (SID / marker.lstrip("/")).unlink()
    assert target.alive()


def test_unprivileged_client_cannot_touch_roots_process(targets: TargetPool) -> None:
    target = targets.spawn_script(require("3.14"), "sleepy.py")
    out = as_nobody("exec", str(target.pid), "/etc/hostname", "--json", state_dir="/nonexistent/state")
    outcome = json.loads(out.stdout.splitlines()[-1])
    assert out.returncode == 11 and outcome["kind"] == "openProcess", out.stdout
    assert "uid" in outcome["message"]
    assert target.alive()


def test_unprivileged_stack_and_doctor(targets: TargetPool, nobody_target: Target) -> None:
    """As nobody: `stack` and `doctor` work on nobody's own process; on root's, doctor names the uid first."""
    state = tempfile.mkdtemp(prefix="safeattach-nobody-")
    os.chmod(state, 0o777)
    try:
        own = as_nobody("stack", str(nobody_target.pid), "--json", state_dir=state)
        assert own.returncode == 0, own.stderr
        (thread,) = json.loads(own.stdout)["threads"]
        assert thread["frames"][-1]["function"] == "<module>"
        ok = as_nobody("doctor", str(nobody_target.pid), "--json", state_dir=state)
        assert ok.returncode == 0 and json.loads(ok.stdout)["path"] == "safe", ok.stdout
        roots = targets.spawn_script(require("3.14"), "sleepy.py")
        denied = as_nobody("doctor", str(roots.pid), "--json", state_dir=state)
        data = json.loads(denied.stdout)
        assert denied.returncode == 11 and data["blocking_kind"] == "openProcess", denied.stdout
        first = next(f for f in data["findings"] if f["status"] == "fail")
        assert first["check"] == "ptrace.uid" and "sudo -u root" in first["fixes"][0]
    finally:
        shutil.rmtree(state, ignore_errors=True)
