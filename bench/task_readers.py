"""Time asyncio task reads side by side, on live 3.14 and 3.15 targets (tests/targets/asyncio_tasks.py with
its await cycle, 13 tasks in 2 loops).

- in-process read: `core.walk.tasks.read_tasks_target` from this client (host Python), target opened once;
- CPython's `_remote_debugging.RemoteUnwinder(pid).get_all_awaited_by()` from the sid chroot's python3.X
  (it needs the target's exact minor version), one long-lived client process;
- whole process: the `safeattach tasks PID` CLI and `python3.X -m asyncio ps PID`, each a fresh process,
  interpreter start-up included (byte-code caching on for both).

Usage: .venv/bin/python bench/task_readers.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

from live_targets import TargetPool, chroot_command, require

from core.target import open_target
from core.walk.tasks import read_tasks_target

UNWINDER = """
import json, sys, time, _remote_debugging
pid, runs = int(sys.argv[1]), int(sys.argv[2])
out = []
for _ in range(runs):
    t0 = time.perf_counter()
    _remote_debugging.RemoteUnwinder(pid).get_all_awaited_by()
    out.append((time.perf_counter() - t0) * 1000)
print(json.dumps(out))
"""


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    return f"median {statistics.median(ordered):7.2f} ms  p95 {ordered[int(0.95 * (len(ordered) - 1))]:7.2f} ms"


def _wall(argv: list[str], runs: int) -> list[float]:
    """Fresh processes with byte-code caching on (one warm-up run writes it), whatever this shell sets."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(argv, capture_output=True, check=True, timeout=60, env=env)
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, timeout=60, env=env)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    safeattach = str(Path(sys.executable).with_name("safeattach"))
    pool = TargetPool()
    try:
        for name in ("3.14", "3.15"):
            interp = require(name)
            target = pool.spawn_script(interp, "asyncio_tasks.py", args=["cycle"])
            with open_target(target.pid) as opened:
                ours = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    result = read_tasks_target(opened)
                    ours.append((time.perf_counter() - t0) * 1000)
                count = len(result.all_tasks())
            raw = subprocess.run(chroot_command(interp.root, [interp.argv0, "-c", UNWINDER, str(target.pid),
                                                              str(args.runs)]),
                                 capture_output=True, text=True, check=True, timeout=120)
            pid = str(target.pid)
            print(f"CPython {name}, {count} tasks")
            rows = [
                ("in-process read (safeattach)", ours),
                (f"get_all_awaited_by ({name} client)", json.loads(raw.stdout)),
                ("safeattach tasks PID (CLI)", _wall([safeattach, "tasks", pid], args.runs)),
                (f"python{name} -m asyncio ps PID", _wall(chroot_command(
                    interp.root, [interp.argv0, "-m", "asyncio", "ps", pid]), args.runs)),
            ]
            for label, values in rows:
                print(f"  {label:<36} {_stats(values)}")
            target.stop()
    finally:
        pool.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
