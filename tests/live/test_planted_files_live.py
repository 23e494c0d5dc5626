"""A planted FIFO cannot hold root's exec against the hostile user's live process, and a pre-created base directory
in a live target's /tmp is refused with a hint that names the path, its owner and the fix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_targets import SID, Target, TargetPool, require
from other_user import AS_HOSTILE, fake_target_root
from other_user import HOSTILE_UID as HOSTILE
from repo_paths import REPO, TARGETS_DIR

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another uid")


@pytest.fixture
def hostile_root() -> Iterator[Path]:
    with fake_target_root() as root:
        yield root


PLANTER = r"""
import os, sys, time
base, deadline = sys.argv[1], time.monotonic() + 30
print("ready", flush=True)
while time.monotonic() < deadline:
    try:
        names = os.listdir(base)
    except OSError:  # not there yet, or still root's for a moment before it is handed to her uid
        continue
    for name in names:
        if not name.endswith(".lock"):
            try:
                os.mkfifo(os.path.join(base, name, "result.json"))
            except OSError:
                continue
            print("planted " + name, flush=True)
            sys.exit(0)
sys.exit(1)
"""


def test_planted_fifo_does_not_hold_roots_exec(targets: TargetPool, hostile_root: Path) -> None:
    """Root's `exec --timeout 2` against the hostile user's blocked process returns in bounded time."""
    interp = require("3.14")
    source = (TARGETS_DIR / "blocked.py").read_text()
    target: Target = targets.spawn(["chroot", str(SID), *AS_HOSTILE, interp.argv0, "-c", source], interp)
    base = f"/proc/{target.pid}/root/tmp/safeattach-{HOSTILE}"  # her own process: she may look there
    planter = targets.spawn([*AS_HOSTILE, sys.executable, "-c", PLANTER, base])
    script = hostile_root / "s.py"  # in directories her uid may search
    script.write_text("x = 1\n")
    script.chmod(0o644)
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "app", "exec", str(target.pid), str(script), "--timeout", "2",
                          "--method", "safe", "--json"], capture_output=True, text=True, cwd=REPO, timeout=60)
    elapsed = time.monotonic() - t0
    outcome = json.loads(out.stdout.splitlines()[-1])
    planted = planter.read_line(timeout=5)
    assert planted.startswith("planted ")
    print(f"planted FIFO: exec --timeout 2 returned {outcome['kind']} in {elapsed:.2f}s")
    assert elapsed < 10, elapsed
    # refused as soon as it was seen, or (if planted after the last poll) a plain timeout
    assert outcome["kind"] in ("payload", "timeoutRun"), outcome
    assert out.returncode in (50, 27)
    assert "Traceback" not in out.stderr
    assert target.alive()


OTHER = 64124  # not HOSTILE: the sid chroot's /tmp is shared with other test runs


def test_precreated_base_dir_live_exec_hint(targets: TargetPool) -> None:
    interp = require("3.14")
    source = (TARGETS_DIR / "sleepy.py").read_text()
    as_other = ["setpriv", f"--reuid={OTHER}", f"--regid={OTHER}", "--clear-groups"]
    target = targets.spawn(["chroot", str(SID), *as_other, interp.argv0, "-c", source], interp)
    base = SID / "tmp" / f"safeattach-{OTHER}"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(mode=0o755)
    try:
        out = subprocess.run([sys.executable, "-m", "app", "exec", str(target.pid), "/etc/hostname", "--timeout",
                              "2"], capture_output=True, text=True, cwd=REPO, timeout=60, env={**os.environ,
                              "COLUMNS": "300"})
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert out.returncode == 24, out.stdout + out.stderr
    text = " ".join((out.stdout + out.stderr).split())
    path = f"/proc/{target.pid}/root/tmp/safeattach-{OTHER}"  # reaches the target's /tmp from any view
    assert f"Remove it (as root): rm -rf {path}" in text and "owned by root (uid 0), mode 0755" in text, text
    assert f"(the target sees /tmp/safeattach-{OTHER})" in text
    assert target.alive()
