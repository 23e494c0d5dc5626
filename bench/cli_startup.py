"""Whole-process CLI times of this tree against another revision, side by side (interleaved rounds).

Run from the repo root: .venv/bin/python bench/cli_startup.py [--baseline REV] [--rounds N] [--no-compile]

REV's app/ and core/ (default: the merge base with main) are extracted into a temporary directory and run
with this venv's interpreter and dependencies; both trees are byte-compiled first, as an install has them
(`--no-compile`: neither has bytecode). Commands: `--help`, `ps --json`, and `info PID --json` /
`exec PID S --json` on one 3.14 target (sid chroot). Also prints each side's peak RSS for `exec --json`
(ru_maxrss of a child that ran only it).
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "support"), str(REPO / "bench")]

from anchors import ScriptRuns, p95  # noqa: E402
from live_targets import TargetPool, require  # noqa: E402


def extract(rev: str, into: Path) -> None:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "app", "core"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def peak_rss_mib(argv: list[str], cwd: Path) -> float:
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-S", "-c", code, *argv], capture_output=True, text=True, cwd=cwd,
                         check=True)
    return int(out.stdout) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--no-compile", action="store_true",
                        help="remove app/ and core/ bytecode first and run with PYTHONDONTWRITEBYTECODE=1: every "
                        "run compiles every module it imports (an editable install where .pyc files are off)")
    args = parser.parse_args()
    if args.no_compile:
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    rev = args.baseline or subprocess.run(["git", "-C", str(REPO), "merge-base", "main", "HEAD"],
                                          capture_output=True, text=True, check=True).stdout.strip()
    base = Path(tempfile.mkdtemp(prefix="sa-baseline-"))
    os.environ.setdefault("SAFEATTACH_STATE_DIR", tempfile.mkdtemp(prefix="sa-bench-state-"))
    pool = TargetPool()
    interp = require("3.14")
    runs = ScriptRuns(interp)
    try:
        extract(rev, base)
        trees = {"before": base, "after": REPO}
        for tree in trees.values():
            for package in ("app", "core"):
                if args.no_compile:
                    for cache in (tree / package).rglob("__pycache__"):
                        shutil.rmtree(cache)
                else:
                    compileall.compile_dir(tree / package, quiet=1)
        target = pool.spawn_script(interp, "sleepy.py")
        pid = str(target.pid)
        commands = {
            "--help": ["--help"],
            "ps --json": ["ps", "--json"],
            "info --json": ["info", pid, "--json"],
            "exec --json": ["exec", pid, str(runs.script_host), "--json"],
        }
        times: dict[tuple[str, str], list[float]] = {}
        for i in range(args.rounds + 1):  # round 0 warms both (page cache, the ELF facts cache)
            order = list(trees.items()) if i % 2 == 0 else list(trees.items())[::-1]
            for label, argv in commands.items():
                for side, tree in order:
                    before = runs.count()
                    start = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "app.cli", *argv], capture_output=True, cwd=tree,
                                   timeout=60, check=True)
                    ms = (time.perf_counter() - start) * 1000
                    if argv[0] == "exec":
                        runs.wait_past(before)
                    if i:
                        times.setdefault((label, side), []).append(ms)
        bytecode = "no .pyc (compiled on every run)" if args.no_compile else "byte-compiled first"
        print(f"baseline {rev[:12]} vs this tree, {args.rounds} interleaved rounds, 3.14 target, {bytecode}, "
              f"load average now {os.getloadavg()[0]:.2f}\n")
        print("| command | before median ms | before p95 | after median ms | after p95 | after / before |")
        print("|---|---:|---:|---:|---:|---:|")
        for label in commands:
            b, a = times[(label, "before")], times[(label, "after")]
            print(f"| `{label}` | {statistics.median(b):.1f} | {p95(b):.1f} | {statistics.median(a):.1f} | "
                  f"{p95(a):.1f} | {statistics.median(a) / statistics.median(b):.2f}x |")
        argv = [sys.executable, "-m", "app.cli", *commands["exec --json"]]
        rss = {side: peak_rss_mib(argv, tree) for side, tree in trees.items()}
        print(f"\npeak RSS of `exec --json`: before {rss['before']:.1f} MiB, after {rss['after']:.1f} MiB "
              f"(`python -c pass`: {peak_rss_mib([sys.executable, '-c', 'pass'], REPO):.1f} MiB)")
    finally:
        pool.close()
        runs.close()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
