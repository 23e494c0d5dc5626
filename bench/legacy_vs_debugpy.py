"""Time core.legacy.inject_python against debugpy's own gdb injection (`python -m debugpy --pid`).

Run from the repo root: .venv/bin/python bench/legacy_vs_debugpy.py [--samples N]

Rows:
- inject trivial      inject_python("pass"-like statement) into one long-lived sleepy target, N times.
- inject busy         the same into a busy.py target (spinning bytecode: the pending-call safe point).
- inject debugpy      inject_python of a statement that imports debugpy and listens on 127.0.0.1:0, one fresh
                      target per sample (the same work `debugpy --pid` makes the target do). Host targets only:
                      the statement imports debugpy from this venv, which a chrooted target cannot see.
- debugpy --pid       `<client python> -m debugpy --listen 127.0.0.1:0 --pid PID`, fresh target per sample.
                      debugpy dlopens a helper from the client's filesystem, so it is skipped for chroot targets.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from live_targets import INTERPRETERS, TargetPool  # noqa: E402

from core.inject.gdb import gdb_available, inject_python  # noqa: E402


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def row(label: str, name: str, samples: list[float]) -> None:
    print(f"{name:>6}  {label:<18} n={len(samples):<3} median {statistics.median(samples):8.1f} ms   "
          f"p95 {p95(samples):8.1f} ms   min {min(samples):8.1f} ms")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def bench_interpreter(name: str, samples: int) -> None:
    interp = INTERPRETERS[name]
    if not interp.available():
        print(f"{name:>6}  skipped: not provisioned at {interp.host_path}")
        return
    pool = TargetPool()
    try:
        target = pool.spawn_script(interp, "sleepy.py")
        inject_python(target.pid, "pass", timeout=30)  # warm the page cache once
        trivial = [timed(lambda: inject_python(target.pid, "x = 1", timeout=30)) for _ in range(samples)]
        row("inject trivial", name, trivial)
        busy = pool.spawn_script(interp, "busy.py")  # no parked thread: the pending-call safe point
        pending = [timed(lambda: inject_python(busy.pid, "x = 1", timeout=30)) for _ in range(samples)]
        row("inject busy", name, pending)
        busy.stop()

        if interp.chrooted:
            print(f"{name:>6}  inject debugpy / debugpy --pid: skipped (the target runs in a chroot and cannot "
                  "import this venv's debugpy or dlopen its helper)")
            return
        site = sysconfig.get_paths()["purelib"]
        listen = (f"import sys; sys.path.insert(0, {site!r}); import debugpy; "
                  "debugpy.listen(('127.0.0.1', 0)); del sys.path[0]")
        ours, theirs = [], []
        for _ in range(samples):
            fresh = pool.spawn_script(interp, "sleepy.py")
            ours.append(timed(lambda fresh=fresh: inject_python(fresh.pid, listen, timeout=60)))  # type: ignore[misc]
            fresh.stop()
            fresh = pool.spawn_script(interp, "sleepy.py")
            argv = [sys.executable, "-m", "debugpy", "--listen", "127.0.0.1:0", "--pid", str(fresh.pid)]

            def run(argv: list[str] = argv) -> None:
                out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
                if out.returncode != 0:
                    raise RuntimeError(f"debugpy --pid failed ({out.returncode}): {out.stderr[-500:]}")

            theirs.append(timed(run))
            fresh.stop()
        row("inject debugpy", name, ours)
        row("debugpy --pid", name, theirs)
    finally:
        pool.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--interpreters", nargs="*", default=["3.11", "3.13"])
    args = parser.parse_args()
    gdb = gdb_available()
    if gdb is None:
        print("gdb is not installed: nothing to measure")
        return 1
    print(f"gdb: {gdb}; {args.samples} samples per row; wall-clock time of the whole call")
    for name in args.interpreters:
        bench_interpreter(name, args.samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
