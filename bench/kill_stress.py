"""Stress: N exec cycles into one live 3.14 target; in every tenth cycle the client (a `safeattach exec`
process) is killed with SIGKILL at a random moment: after a random delay, or just as it starts one of the
arming steps. Reports, in numbers: lost runs (a confirmed exec whose script did not run exactly once),
doubled runs (any script that ran twice), what is left in the target's /tmp/safeattach-UID/ at the end,
whether a request is still armed, and the target's fds and RSS.

Each cycle's script appends its own token to a log in the target's /tmp, so every run is counted. Clean
cycles run the engine in this process; killed cycles run the CLI as a child. After the last cycle (and the
expiry of every loader a killed client left), one more exec, which collects those leftovers, ends the run.

Usage: .venv/bin/python bench/kill_stress.py [--cycles 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

from attach_helpers import SharedDir, request_state
from live_targets import SID, TargetPool, require

from core.attach import run_attach
from core.events import Outcome
from core.requests import AttachRequest, CancelToken, Method

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 3.0  # each request's timeout (and so its loader's expiry)


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def _script(shared: SharedDir, token: str) -> Path:
    path = shared.host_dir / f"{token}.py"
    path.write_text(f"with open({shared.target_dir + '/runs.log'!r}, 'a') as f:\n    f.write({token!r} + '\\n')\n")
    return path


def _exec_in_process(pid: int, script: Path) -> bool:
    req = AttachRequest(pid, script=str(script), timeout=TIMEOUT, method=Method.SAFE)
    outcome = list(run_attach(req, CancelToken()))[-1]
    assert isinstance(outcome, Outcome)
    return outcome.ok


KILL_POINTS = ("time", "writeScript", "writePending", "writeBreaker", "awaitRun")


def _exec_killed(pid: int, script: Path, point: str, delay: float) -> None:
    """SIGKILL a CLI client after `delay` seconds ("time"), or just as it starts step `point`."""
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "exec", str(pid), str(script), "--timeout",
                             str(TIMEOUT), "--method", "safe", "--json"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    if point == "time":
        time.sleep(delay)
    else:
        needle = f'"event": "StepStarted", "step": "{point}"'.encode()
        deadline = time.monotonic() + 30
        for line in proc.stdout:
            if needle in line or time.monotonic() > deadline:
                break
        time.sleep(delay / 100)  # a few ms into the step
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pool = TargetPool()
    shared = SharedDir.create(SID, "sa-stress")
    base = SID / "tmp" / f"safeattach-{os.getuid()}"
    try:
        target = pool.spawn_script(require("3.14"), "busy.py")
        pid = target.pid
        fds, rss = [_fds(pid)], [_rss_kib(pid)]
        confirmed: list[str] = []
        killed: list[str] = []
        kill_points: collections.Counter[str] = collections.Counter()
        failed: list[str] = []
        t0 = time.monotonic()
        for i in range(args.cycles):
            token = f"c{i:04d}"
            script = _script(shared, token)
            if i % 10 == 9:
                point = rng.choice(KILL_POINTS)
                _exec_killed(pid, script, point, rng.uniform(0.0, 1.2))
                killed.append(token)
                kill_points[point] += 1
            elif _exec_in_process(pid, script):
                confirmed.append(token)
            else:
                failed.append(token)
            if i % 50 == 49:
                fds.append(_fds(pid))
                rss.append(_rss_kib(pid))
        elapsed = time.monotonic() - t0
        time.sleep(TIMEOUT + 2.5)  # every loader a killed client left has expired now
        final = _script(shared, "final")
        assert _exec_in_process(pid, final), "the final exec failed"
        fds.append(_fds(pid))
        rss.append(_rss_kib(pid))
        runs = collections.Counter((shared.host_dir / "runs.log").read_text().split())
        lost = [t for t in confirmed if runs[t] != 1]
        doubled = [t for t, n in runs.items() if n > 1]
        killed_ran = sum(1 for t in killed if runs[t] == 1)
        leftovers = sorted(os.listdir(base)) if base.exists() else []
        state = request_state(pid)
        print(f"cycles {args.cycles} in {elapsed:.1f} s: {len(confirmed)} confirmed, {len(failed)} failed, "
              f"{len(killed)} clients SIGKILLed ({killed_ran} of their scripts had run, "
              f"{len(killed) - killed_ran} never ran); kill points {dict(sorted(kill_points.items()))}")
        print(f"lost runs {len(lost)}  doubled runs {len(doubled)}  unconfirmed-but-ran "
              f"{sum(1 for t in failed if runs[t])}")
        print(f"left in the target's /tmp/safeattach-{os.getuid()}/: {leftovers or 'nothing'}")
        print(f"request armed at the end: pending={state.pending} please_stop={state.please_stop_set}")
        print(f"target fds {fds}  RSS KiB {rss}")
        print(f"target alive: {target.alive()}")
        bad = lost or doubled or leftovers or state.pending or not target.alive()
        return 1 if bad else 0
    finally:
        pool.close()
        import shutil

        shutil.rmtree(shared.host_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
