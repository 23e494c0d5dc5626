"""Time safeattach's confirmed exec against raw `sys.remote_exec` on the same live 3.14 targets.

- safeattach exec (confirmed): `run_attach` from this (host 3.11) client, until the loader's report arrives.
- safeattach remote_exec (unconfirmed): `core.remote_exec.remote_exec`, returns after the writes.
- raw sys.remote_exec: CPython 3.14's own call, from the sid chroot's python3.14 (one long-lived client
  process, so interpreter start-up is not counted); returns after the writes, without confirmation.

Usage: .venv/bin/python bench/exec_vs_remote_exec.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

from live_targets import SID, TargetPool, chroot_command, require

from core.attach import run_attach
from core.events import Outcome
from core.remote_exec import remote_exec
from core.requests import AttachRequest, CancelToken

RAW_CLIENT = """
import json, sys, time
pid, path, runs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
out = []
for _ in range(runs):
    t0 = time.perf_counter()
    sys.remote_exec(pid, path)
    out.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.02)  # let the target run it before the next request replaces it
print(json.dumps(out))
"""


def _stats(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   (n={len(ms)})"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    interp = require("3.14")
    script_host = SID / "tmp" / "sa-bench-noop.py"
    script_host.write_text("pass\n")
    script_target = "/tmp/sa-bench-noop.py"
    # the path as the host client sees it must exist too for the access() pre-check of remote_exec
    Path(script_target).write_text("pass\n")
    pool = TargetPool()
    try:
        for target_script in ("busy.py", "sleepy.py"):
            target = pool.spawn_script(interp, target_script)
            confirmed: list[float] = []
            per_step: dict[str, list[float]] = {}
            for _ in range(args.runs):
                t0 = time.perf_counter()
                events = list(run_attach(AttachRequest(target.pid, script=str(script_host), timeout=10),
                                         CancelToken()))
                confirmed.append((time.perf_counter() - t0) * 1000)
                outcome = events[-1]
                assert isinstance(outcome, Outcome) and outcome.ok, outcome
                for step, ms in outcome.result["steps_ms"].items():
                    per_step.setdefault(step, []).append(ms)
            ours_raw: list[float] = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                remote_exec(target.pid, script_target)
                ours_raw.append((time.perf_counter() - t0) * 1000)
                time.sleep(0.02)
            out = subprocess.run(
                chroot_command(interp.root, [interp.argv0, "-c", RAW_CLIENT, str(target.pid), script_target,
                                             str(args.runs)]),
                capture_output=True, timeout=300, check=True,
            )
            raw = json.loads(out.stdout)
            print(f"target 3.14 {target_script}:")
            print(f"  safeattach exec (confirmed, 3.11 client)     {_stats(confirmed)}")
            print(f"  safeattach remote_exec (unconfirmed, 3.11)   {_stats(ours_raw)}")
            print(f"  sys.remote_exec (unconfirmed, 3.14 client)   {_stats(raw)}")
            steps = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in per_step.items())
            print(f"  confirmed exec, median ms per step: {steps}")
    finally:
        pool.close()
        script_host.unlink(missing_ok=True)
        Path(script_target).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
