"""The payload never blocks the target: a 3.14 target in its own network namespace whose loopback is down
(`unshare -n`, no `ip link set lo up`) cannot host a debugpy server. `safeattach attach` fails cleanly with
the real reason, never falls back to injection, prints nothing into the target, and the target's heartbeat
keeps advancing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from live_targets import Target, TargetPool, chroot_command, require
from repo_paths import REPO

from core.errors import EXIT_CODES, FailureKind

HEARTBEAT = """
import time
print("ready", flush=True)
n = 0
while True:
    n += 1
    print("tick %d" % n, flush=True)
    time.sleep(0.05)
"""


def _tick(target: Target) -> int:
    return int(target.wait_for("tick ", timeout=10).split()[1])


def _assert_heartbeat_advances(target: Target) -> None:
    # drain what was printed meanwhile, then see it go on
    first = _tick(target)
    while (n := _tick(target)) <= first + 10:
        assert n > first
    assert target.alive()


@pytest.mark.parametrize("method", ["safe", "auto"])
def test_attach_into_a_namespace_without_loopback_fails_cleanly_and_the_target_goes_on(
    targets: TargetPool, method: str
) -> None:
    interp = require("3.14")
    argv = ["unshare", "-n", *chroot_command(interp.root, [interp.argv0, "-c", HEARTBEAT])]
    target = targets.spawn(argv, interp)
    proc = subprocess.run([sys.executable, "-m", "app.cli", "attach", str(target.pid), "--json", "--method",
                           method, "--timeout", "10"], capture_output=True, text=True, timeout=60, cwd=REPO)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    outcome = events[-1]
    assert outcome["event"] == "Outcome", events
    assert proc.returncode == EXIT_CODES[FailureKind.PAYLOAD], outcome
    assert outcome["kind"] == "payload" and outcome["failed_step"] == "debugpyReady"
    assert "network unreachable in the target's namespace" in outcome["message"]
    assert outcome["result"]["gave_up"] is True
    assert outcome["elapsed_ms"] < 8000
    ran = {e["step"] for e in events if e["event"] == "StepFinished" and e["status"] == "ok"}
    assert "awaitRun" in ran and not {"legacyInject", "legacyFallback", "legacyAwait"} & ran  # no injection
    _assert_heartbeat_advances(target)
    target.proc.kill()
    target.proc.wait(timeout=10)
    assert target.proc.stderr is not None and target.proc.stderr.read() == b""  # nothing printed into it


def test_no_fallback_injection_once_the_target_started_our_loader(targets: TargetPool, tmp_path: Path) -> None:
    """A payload still running when the client gives up was picked up: gdb must not inject it a second time."""
    from attach_helpers import attach

    from core.events import StepFinished, StepStatus
    from core.requests import Method

    target = targets.spawn_script(require("3.14"), "busy.py")
    script = tmp_path / "slow.py"
    script.write_text("import time\ntime.sleep(7)\n")
    script.chmod(0o644)
    tmp_path.chmod(0o755)
    events, outcome = attach(target.pid, script, timeout=1.0, method=Method.AUTO)
    assert not outcome.ok
    fallback = [e for e in events if isinstance(e, StepFinished) and e.step == "legacyFallback"]
    assert fallback and fallback[0].status is StepStatus.SKIPPED, fallback
    assert "already started our loader" in fallback[0].message
    assert target.alive()
