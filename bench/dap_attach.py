"""Time to a usable debugger: `safeattach attach` vs `python -m debugpy --listen … --pid PID`.

Run from the repo root: .venv/bin/python bench/dap_attach.py [--samples N] [--interp 3.14 3.15] [--no-bytecode]

For each sample a fresh target (a loop calling work(i), from tests/support/debugpy_attach.py) is started
(in the sid chroot, or on the host for 3.11), then, from the moment the command starts:
- "initialize"  until a DAP client connected to the reported port got its `initialize` answer;
- "breakpoint"  until, after attach/setBreakpoints/configurationDone, the first `stopped` event arrived.

safeattach: `safeattach attach PID --json` (this venv, client Python 3.11; safe attach on 3.14+, gdb
injection on 3.13/3.11); the port is in the outcome, which is printed once debugpy listens. debugpy: the
target's own interpreter (same root) with our debugpy on PYTHONPATH, which injects through
sys.remote_exec (3.14) or its own gdb script (3.13, 3.11) and returns without saying when the server is up:
the client connects to the port it chose, retrying while the connection is refused (a refused connect
never reaches debugpy's adapter).

Bytecode: `debugpy --pid` imports its own copy of debugpy, precompiled once by the target's interpreter
(`python -m compileall`, as `pip install` does). safeattach imports the copy it places in the target's root;
the bench first removes that copy's bytecode for the measured versions, so the first sample starts cold as
after a fresh install (and again before `--baseline`'s samples). `--no-bytecode` runs the targets, the CLI
and `debugpy --pid` with PYTHONDONTWRITEBYTECODE=1; without it, the variable is removed from every
environment.
Every target is killed and reaped, and every debugpy adapter it spawned is waited for (or killed).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "support"))
sys.path.insert(0, str(REPO))

from dap_client import DapClient  # noqa: E402
from debugpy_attach import PROGRAM, line_of  # noqa: E402
from live_targets import INTERPRETERS, Interpreter, Target, TargetPool, chroot_command  # noqa: E402

from core.dap.dist import install_into_root, local_debugpy  # noqa: E402
from core.dap.reattach import find_listener, listen_rows  # noqa: E402
from core.procfs import start_ticks_of  # noqa: E402

CONNECT_DEADLINE = 60.0


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connect(port: int, deadline: float) -> DapClient:
    while True:
        try:
            return DapClient("127.0.0.1", port, timeout=30)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listened on {port} in time") from None
            time.sleep(0.005)


def session_times(port: int, program: str, start: float) -> tuple[float, float, float]:
    """(ms to initialize answered, ms to the attach response, ms to the first breakpoint stop), all from
    `start`. debugpy answers `attach` once the debug server in the target joined and configurationDone came."""
    dap = connect(port, time.monotonic() + CONNECT_DEADLINE)
    try:
        dap.initialize()
        t_init = (time.perf_counter() - start) * 1000
        seq = dap.attach()
        dap.wait_event("initialized")
        dap.set_breakpoints(program, [line_of("BP")])
        dap.configuration_done()
        dap.wait_response(seq)
        t_attach = (time.perf_counter() - start) * 1000
        dap.wait_event("stopped")
        t_bp = (time.perf_counter() - start) * 1000
        tid = dap.threads()[0]["id"]
        dap.set_breakpoints(program, [])
        dap.continue_(tid)
        dap.disconnect()
    finally:
        dap.close()
    return t_init, t_attach, t_bp


def bytecode_env(no_bytecode: bool) -> dict[str, str]:
    """The variables the bench adds to every environment it starts (targets, CLI, debugpy --pid)."""
    return {"PYTHONDONTWRITEBYTECODE": "1"} if no_bytecode else {}


def client_env(no_bytecode: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **bytecode_env(no_bytecode)}


def run_safeattach(target: Target, program: str, no_bytecode: bool,
                   tree: Path = REPO) -> tuple[float, float, float]:
    start = time.perf_counter()
    # `-m` puts the working directory first on sys.path: `tree` (a checkout of another revision) is what runs
    proc = subprocess.run([sys.executable, "-m", "app.cli", "attach", str(target.pid), "--json"],
                          capture_output=True, text=True, timeout=60, cwd=tree, env=client_env(no_bytecode))
    outcome = json.loads(proc.stdout.splitlines()[-1])
    if not outcome.get("ok"):
        raise RuntimeError(f"safeattach attach failed: {outcome.get('message')}")
    return session_times(int(outcome["result"]["connect"]["port"]), program, start)


def run_debugpy(target: Target, program: str, debugpy_dir: str, interp: Interpreter,
                no_bytecode: bool) -> tuple[float, float, float]:
    port = free_port()
    argv = chroot_command(interp.root, [interp.argv0, "-m", "debugpy", "--listen", f"127.0.0.1:{port}",
                                        "--pid", str(target.pid)])
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": debugpy_dir, "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           **bytecode_env(no_bytecode)}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        return session_times(port, program, start)
    finally:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def measure(label: str, samples: int, one: Callable[[Target, str], tuple[float, float, float]], interp_name: str,
            workdir: Path, no_bytecode: bool) -> dict[str, float]:
    interp = INTERPRETERS[interp_name]
    program = "/" + str((workdir / "prog.py").relative_to(interp.root))
    inits: list[float] = []
    attaches: list[float] = []
    stops: list[float] = []
    for _ in range(samples):
        pool = TargetPool()
        adapters: list[tuple[int, int]] = []
        try:
            target = pool.spawn(chroot_command(interp.root, [interp.argv0, program]), interp, timeout=30,
                                env=bytecode_env(no_bytecode))
            try:
                t_init, t_attach, t_bp = one(target, program)
            finally:
                adapters = _adapters_of(target.pid)
            inits.append(t_init)
            attaches.append(t_attach)
            stops.append(t_bp)
        finally:
            pool.close()
            _reap(adapters)
    for what, values in (("initialize", inits), ("attach", attaches), ("breakpoint", stops)):
        print(f"{interp_name:>5}  {label:<26} {what:<11} n={len(values):<3} median {statistics.median(values):8.1f} ms"
              f"   p95 {p95(values):8.1f} ms   min {min(values):8.1f} ms", flush=True)
    return {"initialize": statistics.median(inits), "attach": statistics.median(attaches),
            "breakpoint": statistics.median(stops)}


def ratios(a: dict[str, float], b: dict[str, float]) -> str:
    return ", ".join(f"{k} {a[k] / b[k]:.2f}x" for k in ("initialize", "attach", "breakpoint"))


def precompiled_copy(interp: Interpreter, workdir: Path) -> str:
    """Our debugpy, copied into the workdir and compiled by the target's interpreter (what pip install does)."""
    dest = workdir / "debugpy-precompiled"
    shutil.copytree(Path(local_debugpy().parent, "debugpy"), dest / "debugpy",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    inside = "/" + str(dest.relative_to(interp.root)) if interp.chrooted else str(dest)
    subprocess.run(chroot_command(interp.root, [interp.argv0, "-m", "compileall", "-q", inside]), check=True,
                   stdout=subprocess.DEVNULL, timeout=300)
    return inside


def drop_bytecode(parent: Path, version: tuple[int, int]) -> None:
    """Remove the bytecode `version` wrote into safeattach's copy, so the first sample starts cold."""
    tag = f".cpython-{version[0]}{version[1]}"
    for pyc in (parent / "debugpy").rglob(f"*{tag}*.pyc"):
        pyc.unlink(missing_ok=True)


def _adapters_of(pid: int) -> list[tuple[int, int]]:
    """(pid, start ticks) of processes in the target's network namespace holding a LISTEN socket that the
    target does not hold itself: debugpy's daemonised adapter."""
    found: set[int] = set()
    for port, _inode in listen_rows(pid):
        owner = find_listener(pid, port)
        if owner is not None and owner != pid and b"debugpy" in Path(f"/proc/{owner}/cmdline").read_bytes():
            found.add(owner)
    return [(p, t) for p in found if (t := start_ticks_of(p)) is not None]


def _reap(adapters: list[tuple[int, int]]) -> None:
    deadline = time.monotonic() + 10
    for pid, ticks in adapters:
        while start_ticks_of(pid) == ticks and time.monotonic() < deadline:
            time.sleep(0.02)
        if start_ticks_of(pid) == ticks:
            os.kill(pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--interp", nargs="+", default=["3.14"])
    parser.add_argument("--baseline", type=Path, metavar="TREE",
                        help="also measure `safeattach attach` from this checkout (e.g. a `git worktree` of main)")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="PYTHONDONTWRITEBYTECODE=1 for the targets, the CLI and debugpy --pid")
    args = parser.parse_args()
    nb = bool(args.no_bytecode)
    os.environ.setdefault("SAFEATTACH_STATE_DIR", tempfile.mkdtemp(prefix="sa-bench-state-"))
    for name in args.interp:
        interp = INTERPRETERS[name]
        if not interp.available():
            print(f"{name} is not provisioned (run tests/provision.sh)")
            return 1
        workdir = Path(tempfile.mkdtemp(prefix="sa-bench-", dir=interp.root / "tmp"))
        os.chmod(workdir, 0o755)
        (workdir / "prog.py").write_text(PROGRAM)
        ours = install_into_root(interp.root) if interp.chrooted else str(local_debugpy().parent)
        drop_bytecode(interp.root / ours.lstrip("/"), interp.version)
        precompiled = precompiled_copy(interp, workdir)
        try:
            where = "sid chroot" if interp.chrooted else "host"
            print(f"time from command start, fresh {name} target per sample ({where}), "
                  f"PYTHONDONTWRITEBYTECODE={'1' if nb else 'unset'}", flush=True)
            if args.baseline is not None:
                base = args.baseline.resolve()
                drop_bytecode(interp.root / ours.lstrip("/"), interp.version)
                bl = measure("safeattach (baseline)", args.samples,
                             lambda t, p, b=base: run_safeattach(t, p, nb, b), name, workdir, nb)
                drop_bytecode(interp.root / ours.lstrip("/"), interp.version)
            sa = measure("safeattach attach", args.samples, lambda t, p: run_safeattach(t, p, nb), name, workdir, nb)
            dp = measure(f"debugpy --pid ({name} client)", args.samples,
                         lambda t, p, i=interp, d=precompiled: run_debugpy(t, p, d, i, nb), name, workdir, nb)
            if args.baseline is not None:
                print(f"{name:>5}  ratio baseline/debugpy: {ratios(bl, dp)}", flush=True)
            print(f"{name:>5}  ratio safeattach/debugpy: {ratios(sa, dp)}", flush=True)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
