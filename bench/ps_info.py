"""Benchmark: `safeattach ps` over N spawned Python processes, and `info` on one.

Run on demand:  .venv/bin/python bench/ps_info.py [N] [ROUNDS]
Spawns N (default 200: issue 13 asks for `ps` over 200 processes within one 250 ms console refresh) sleeping
targets (sid chroot python3.14 when provisioned, else this interpreter), waits for each
one's handshake, times list_python_processes() and inspect_process(pid) in-process (warm ELF cache) and the
CLI end to end (cold process), prints median and p95, and reaps every target.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

from live_targets import INTERPRETERS, TargetPool

from core.inspect import inspect_process, list_python_processes


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(name: str, samples: list[float]) -> None:
    print(f"{name:38s} median {statistics.median(samples):8.1f} ms   p95 {pct(samples, 95):8.1f} ms   n={len(samples)}")


def timed(fn: object, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    interp = INTERPRETERS["3.14"] if INTERPRETERS["3.14"].available() else None
    pool = TargetPool()
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            if interp is not None:
                pool.spawn_script(interp, "sleepy.py")
            else:
                pool.spawn([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(600)"])
        print(f"spawned {n} targets ({'3.14 chroot' if interp else sys.version.split()[0]}) "
              f"in {(time.perf_counter() - t0):.1f} s")
        rows = list_python_processes()
        ours = {t.pid for t in pool.targets}
        assert ours <= {r.pid for r in rows}, "ps missed a target"
        print(f"ps sees {len(rows)} Python processes (including {n} targets)")
        report("ps (in-process, warm cache)", timed(list_python_processes, rounds))
        pid = pool.targets[0].pid
        report("info (in-process, warm cache)", timed(lambda: inspect_process(pid), rounds * 5))
        cli = [sys.executable, "-m", "app"]
        root = Path(__file__).resolve().parent.parent
        report("safeattach ps --json (CLI, cold)", timed(
            lambda: subprocess.run([*cli, "ps", "--json"], capture_output=True, check=True, cwd=root), rounds))
        report("safeattach info --json (CLI, cold)", timed(
            lambda: subprocess.run([*cli, "info", str(pid), "--json"], capture_output=True, check=True, cwd=root),
            rounds))
    finally:
        pool.close()


if __name__ == "__main__":
    main()
