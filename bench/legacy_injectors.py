"""Legacy injection side by side, on the same kind of target, in one run: how long until the payload ran, and
whether the target survived (alive, not stopped, not traced, heartbeat still advancing 1 s later).

Run from the repo root: .venv/bin/python bench/legacy_injectors.py [--samples N] [--interpreter 3.11]
Needs `pip install hypno==1.1.0` (its wheels are for the client's own Python, so the default target is the
host's 3.11) and gdb for `debugpy --pid`. A fresh target per sample, rows interleaved round by round.

Rows (each the wall-clock time of one whole command, from its start):
- safeattach exec      `safeattach exec --method legacy PID script` (ptrace; waits for the loader's report)
- safeattach API       `python -c` calling core.inject.injector.inject (the injector alone, as hypno's CLI is),
                       then until the marker file appears
- hypno                `hypno PID CODE`, then until the marker file appears (hypno confirms nothing)
- safeattach attach    `safeattach attach --method legacy PID` (debugpy listening, confirmed)
- debugpy --pid        `python -m debugpy --listen 127.0.0.1:0 --pid PID` (gdb inferior calls)
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "support"))

from live_targets import INTERPRETERS, Target, TargetPool  # noqa: E402


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def survived(target: Target) -> bool:
    if not target.alive():
        return False
    try:
        status = Path(f"/proc/{target.pid}/status").read_text()
    except OSError:
        return False
    if "\nState:\tT" in status or "\nState:\tt" in status or "\nTracerPid:\t0\n" not in status:
        return False
    try:
        first = int(target.wait_for("tick", 3.0).split()[1])
        end = time.monotonic() + 1.0
        last = first
        while time.monotonic() < end:
            last = int(target.wait_for("tick", 3.0).split()[1])
    except (TimeoutError, EOFError, ValueError):
        return False
    return last > first and target.alive()


def wait_file(path: Path, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > end:
            return False
        time.sleep(0.001)
    return True


def run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd=REPO, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--interpreter", default="3.11")
    args = parser.parse_args()
    interp = INTERPRETERS[args.interpreter]
    if interp.chrooted:
        print("hypno and debugpy --pid load helpers from the client's filesystem: use a host interpreter")
        return 2
    hypno = shutil.which("hypno") or str(Path(sys.executable).with_name("hypno"))
    tools: dict[str, Callable[[Target, Path], bool]] = {}
    scratch = Path(tempfile.mkdtemp(prefix="sa-bench-"))
    os.chmod(scratch, 0o777)
    env = {**os.environ, "SAFEATTACH_STATE_DIR": str(scratch / "state")}

    def ours_exec(target: Target, marker: Path) -> bool:
        script = marker.with_suffix(".py")
        script.write_text(f"open({str(marker)!r}, 'w').write('x')\n")
        out = run([sys.executable, "-m", "app.cli", "exec", "--method", "legacy", str(target.pid), str(script),
                   "--json"], env)
        return out.returncode == 0 and marker.exists()

    def ours_api(target: Target, marker: Path) -> bool:
        code = ("import sys\nfrom core.inject.injector import guarded, inject\n"
                f"inject(int(sys.argv[1]), guarded(\"open({str(marker)!r}, 'w').write('x')\"), timeout=10)\n")
        out = run([sys.executable, "-c", code, str(target.pid)], env)
        return out.returncode == 0 and wait_file(marker)

    def hypno_exec(target: Target, marker: Path) -> bool:
        out = run([hypno, str(target.pid), f"open({str(marker)!r}, 'w').write('x')"])
        return out.returncode == 0 and wait_file(marker)

    def ours_attach(target: Target, marker: Path) -> bool:
        out = run([sys.executable, "-m", "app.cli", "attach", "--method", "legacy", str(target.pid), "--json"], env)
        return out.returncode == 0

    def debugpy_pid(target: Target, marker: Path) -> bool:
        out = run([sys.executable, "-m", "debugpy", "--listen", "127.0.0.1:0", "--pid", str(target.pid)])
        return out.returncode == 0

    tools["safeattach exec"] = ours_exec
    tools["safeattach API"] = ours_api
    if os.path.exists(hypno):
        tools["hypno"] = hypno_exec
    else:
        print("hypno is not installed (pip install hypno==1.1.0): its row is left out")
    tools["safeattach attach"] = ours_attach
    if shutil.which("gdb"):
        tools["debugpy --pid"] = debugpy_pid
    else:
        print("gdb is not installed: the debugpy --pid row is left out")
    times: dict[str, list[float]] = {name: [] for name in tools}
    ok: dict[str, int] = dict.fromkeys(tools, 0)
    alive: dict[str, int] = dict.fromkeys(tools, 0)
    pool = TargetPool()
    try:
        for i in range(args.samples):
            for name, tool in tools.items():
                target = pool.spawn_script(interp, "heartbeat.py")
                target.wait_for("tick", 5.0)
                marker = scratch / f"m-{i}-{name.replace(' ', '-')}"
                start = time.perf_counter()
                ran = tool(target, marker)
                times[name].append((time.perf_counter() - start) * 1000)
                ok[name] += ran
                alive[name] += survived(target)
                target.stop()
    finally:
        pool.close()
        shutil.rmtree(scratch, ignore_errors=True)
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")
    amx = "amx_tile" in Path("/proc/cpuinfo").read_text()
    print(f"target: python {args.interpreter}; CPU: {cpu} (AMX: {'yes' if amx else 'no'}); kernel "
          f"{os.uname().release}; {args.samples} fresh targets per row")
    print(f"{'tool':<18} {'median ms':>10} {'p95 ms':>8} {'ran':>6} {'survived':>9}")
    for name in tools:
        print(f"{name:<18} {statistics.median(times[name]):10.1f} {p95(times[name]):8.1f} "
              f"{ok[name]:>3}/{args.samples:<2} {alive[name]:>5}/{args.samples}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
