"""The user's script is judged for live targets as each would read it: a process with two uids by each of them,
and a hostile owner swapping links during 150 real attempts never gets a root-only file run in her process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from live_targets import TargetPool
from other_user import HOSTILE_UID as HOSTILE
from other_user import SWAPPER
from repo_paths import TARGETS_DIR

from core.attach.script import check_script
from core.errors import FailureKind, SafeAttachError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to judge files for another uid")


def test_target_with_two_uids_is_judged_by_each(targets: TargetPool, shared: Path) -> None:
    """A setuid-like process (real uid HOSTILE, effective and fs uid 64125): /proc/PID shows only the
    effective one, yet a file only that one may read is refused (the process's other identity may not)."""
    code = "import time; print('ready', flush=True); time.sleep(3600)"
    target = targets.spawn(["setpriv", f"--ruid={HOSTILE}", "--euid=64125", f"--regid={HOSTILE}", "--clear-groups",
                            "/usr/bin/python3", "-c", code])
    assert os.stat(f"/proc/{target.pid}").st_uid == 64125  # what uid_of reports for it
    path = shared / "euid-only.py"
    path.write_bytes(b"z = 3\n")
    os.chown(path, 64125, 64125)
    path.chmod(0o600)
    with pytest.raises(SafeAttachError) as info:
        check_script(str(path), target.pid, "/nonexistent-root", 64125, HOSTILE)
    assert f"uid {HOSTILE}/64125" in info.value.message
    path.chmod(0o644)
    assert check_script(str(path), target.pid, "/nonexistent-root", 64125, HOSTILE).content == b"z = 3\n"


def test_swap_race_through_the_whole_chain(targets: TargetPool, shared: Path) -> None:
    """150 real exec attempts by root into the hostile user's own (chrooted) process while she swaps her
    script's name between her file and a link to root's 0600 file: root's file never reaches her process."""
    from attach_helpers import attach
    from live_targets import SID, require

    from core.requests import Method

    leak_marker = f"/tmp/sa-leaked-{os.getpid()}"
    secret = shared / "secret.py"
    secret.write_text(f"open({leak_marker!r}, 'w').write('root secret')\n")
    secret.chmod(0o600)
    interp = require("3.14")
    source = (TARGETS_DIR / "busy.py").read_text()
    target = targets.spawn(["chroot", str(SID), "setpriv", f"--reuid={HOSTILE}", f"--regid={HOSTILE}",
                            "--clear-groups", interp.argv0, "-c", source], interp)
    attack = Path(tempfile.mkdtemp(prefix="sa-race-"))
    os.chown(attack, HOSTILE, HOSTILE)
    attack.chmod(0o755)
    helper = subprocess.Popen(
        ["setpriv", f"--reuid={HOSTILE}", f"--regid={HOSTILE}", "--clear-groups", sys.executable, "-c", SWAPPER,
         str(attack), str(secret)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kinds: dict[str, int] = {}
    try:
        assert helper.stdout is not None and helper.stdout.readline().strip() == "ready"
        for _ in range(150):
            _, outcome = attach(target.pid, attack / "script.py", method=Method.SAFE, timeout=5)
            key = "ok" if outcome.ok else str(outcome.kind.value if outcome.kind else "?")
            kinds[key] = kinds.get(key, 0) + 1
            assert outcome.ok or outcome.kind is FailureKind.SCRIPT_UNREADABLE, outcome
        (attack / "stop").touch()
        helper.communicate(timeout=70)
    finally:
        if helper.poll() is None:
            helper.kill()
            helper.wait(timeout=10)
        shutil.rmtree(attack, ignore_errors=True)
    print(f"chain race: 150 attempts: {kinds}")
    assert not (SID / leak_marker.lstrip("/")).exists(), "root's file ran in the hostile process"
    assert kinds.get("ok", 0) > 0 and kinds.get("scriptUnreadable", 0) > 0, kinds
    assert target.alive()
