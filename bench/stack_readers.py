"""Time stack snapshots side by side, on live 3.14 targets with 4 and with 100 parked threads.

- in-process snapshot: `core.walk.snapshot_target` from this client (host Python), target opened once;
- CPython's `_remote_debugging.RemoteUnwinder(pid, all_threads=True).get_stack_trace()`, from the sid
  chroot's python3.14 (it needs the target's exact minor version), one long-lived client process;
- whole process: the `safeattach stack PID` CLI and `py-spy dump --pid PID` (blocking and --nonblocking),
  each as a fresh process, interpreter start-up included.

Usage: .venv/bin/python bench/stack_readers.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

from live_targets import TargetPool, chroot_command, require

from core.target import open_target
from core.walk import snapshot_target

TARGET = """
import threading, time
n = int(__import__('sys').argv[1])
started = threading.Barrier(n)
def park():
    started.wait()
    while True:
        time.sleep(0.5)
        time.sleep(0.5)
for _ in range(n - 1):
    threading.Thread(target=park, daemon=True).start()
started.wait()
print('ready', flush=True)
while True:
    time.sleep(0.5)
    time.sleep(0.5)
"""
UNWINDER = """
import json, sys, time, _remote_debugging
pid, runs = int(sys.argv[1]), int(sys.argv[2])
out = []
for _ in range(runs):
    t0 = time.perf_counter()
    _remote_debugging.RemoteUnwinder(pid, all_threads=True).get_stack_trace()
    out.append((time.perf_counter() - t0) * 1000)
print(json.dumps(out))
"""


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    return f"median {statistics.median(ordered):7.2f} ms  p95 {ordered[int(0.95 * (len(ordered) - 1))]:7.2f} ms"


def _wall(argv: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, timeout=60)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    interp = require("3.14")
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    safeattach = str(Path(sys.executable).with_name("safeattach"))
    pool = TargetPool()
    try:
        for threads in (4, 100):
            target = pool.spawn(chroot_command(interp.root, [interp.argv0, "-c", TARGET, str(threads)]), interp)
            with open_target(target.pid) as opened:
                ours = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    stacks = snapshot_target(opened)
                    ours.append((time.perf_counter() - t0) * 1000)
                assert len(stacks.threads) == threads
            raw = subprocess.run(chroot_command(interp.root, [interp.argv0, "-c", UNWINDER, str(target.pid),
                                                              str(args.runs)]),
                                 capture_output=True, text=True, check=True, timeout=120)
            theirs = json.loads(raw.stdout)
            print(f"{threads} threads")
            pid = str(target.pid)
            rows = [
                ("in-process snapshot (safeattach)", ours),
                ("RemoteUnwinder (3.14 client)", theirs),
                ("safeattach stack PID (CLI)", _wall([safeattach, "stack", pid], args.runs)),
                ("py-spy dump (blocking)", _wall([py_spy, "dump", "--pid", pid], args.runs)),
                ("py-spy dump --nonblocking", _wall([py_spy, "dump", "--nonblocking", "--pid", pid], args.runs)),
            ]
            for label, values in rows:
                print(f"  {label:<36} {_stats(values)}")
            target.stop()
    finally:
        pool.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
