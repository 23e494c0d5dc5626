"""safeattach against the public tools it is measured by, side by side in one run (issue 13's anchors).

Run from the repo root: .venv/bin/python bench/anchors.py [--rounds N] [--interp 3.14 3.15] [--no-attach]

safeattach is measured the way users run it: a regular (non-editable) install of this tree into a throwaway
venv that the bench creates (`python -m venv`, then this venv's pip: `pip --python VENV/bin/python install
--no-deps .`, which builds the wheel with hatchling in pip's isolated build environment, or with
--no-build-isolation when hatchling is importable here; pip byte-compiles what it installs). The
dependencies are not installed again: a `.pth` line in the throwaway venv puts this venv's site-packages
after its own, so psutil, pyelftools and rich come from there while `app` and `core` come from the wheel
(this venv's editable-install hook is not run: .pth files are processed in site directories only). Every
run is the installed command `VENV/bin/safeattach`, from a neutral working directory; `--tree` runs
`python -m app.cli` from this source tree with this venv instead (how a developer runs it).

Every pair is measured in interleaved rounds (A then B, then B then A, ...), so drift and load from other
processes hit both sides alike; the table gives medians, p95 and the ratio of the medians (A / B), with
issue 13's goal where it has one. Times are whole processes from `time.perf_counter()` before the start to
the exit (or, for the debugger, to the first DAP answer), measured by this script. The targets are started
here, in the sid chroot that tests/provision.sh sets up (the raw clients run inside the same chroot,
against the same PID):

- `safeattach --help`               vs `python -c pass` (the install's interpreter: start-up alone)
- `safeattach exec PID S --json`    vs `python3.X -c 'import sys; sys.remote_exec(PID, S)'` (confirmed
                                       vs fire-and-forget; the next round waits until the script ran, then
                                       a random part of the target's 10 ms sleep: see random_phase); once
                                       against that target (sleepy.py) and once against one that spins in
                                       bytecode (busy.py), which takes the request at once
- `safeattach info PID --json`      vs the same raw `sys.remote_exec`
- `safeattach stack PID --json`     vs `py-spy dump --pid PID` (this venv's py-spy, a test dependency)
- `python -c pass` (the install)    vs `python3.X -c pass` (the floor under each side of the pairs above)
- `safeattach attach PID --json`    vs `python3.X -m debugpy --listen 127.0.0.1:P --pid PID`, fresh target
                                       per round, to the DAP `initialize` answer, to the `attach` answer (the debug
                                       server in the target joined) and to the first breakpoint
                                       stop (bench/dap_attach.py's session; this one runs from the tree), with
                                       and without PYTHONDONTWRITEBYTECODE=1 (debugpy --pid gets its own copy,
                                       compiled by the target's interpreter as pip install would)

It also prints the peak RSS of one `exec --json` (ru_maxrss of a child that ran only it).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "support"), str(REPO / "bench"), str(REPO)]

from live_targets import INTERPRETERS, Interpreter, Target, TargetPool, chroot_command  # noqa: E402

SAFEATTACH = [sys.executable, "-m", "app.cli"]  # replaced by the installed command unless --tree
CLIENT_PYTHON = [sys.executable]  # the interpreter safeattach runs on (the install's, unless --tree)
RUN_DIR = REPO  # where the runs start (a neutral directory for the install)
PY_SPY = Path(sys.executable).with_name("py-spy")
GOALS = {"exec": 3.0, "info": 2.0, "stack": 8.0, "debugger ready (initialize answered)": 0.7,
         "debugger ready (attach answered)": 0.7}  # issue 13: A / B at most
RAW_EXEC = "import sys; sys.remote_exec({pid}, {path!r})"
MARK = "with open({path!r}, 'ab') as f: f.write(b'.')\n"  # the script: one byte per run, proof that it ran
RUN_TIMEOUT = 60.0


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass
class Pair:
    what: str
    a_label: str
    b_label: str
    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)

    def row(self) -> str:
        ma, mb = statistics.median(self.a), statistics.median(self.b)
        goal = GOALS.get(self.what.split(",")[0])
        verdict = "" if goal is None else f"≤ {goal:g}x: {'met' if ma / mb <= goal else 'not met'}"
        return (f"| {self.what} | {self.a_label} | {ma:.1f} | {p95(self.a):.1f} | {self.b_label} | {mb:.1f} | "
                f"{p95(self.b):.1f} | {ma / mb:.2f}x | {verdict} | {len(self.a)} |")


def timed(argv: Sequence[str], *, env: dict[str, str] | None = None, ok: Callable[[bytes], bool] | None = None,
          ) -> float:
    """Milliseconds for one whole process; it must exit 0 (and satisfy `ok` on its stdout)."""
    start = time.perf_counter()
    done = subprocess.run(list(argv), capture_output=True, timeout=RUN_TIMEOUT, cwd=RUN_DIR, env=env)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0 or (ok is not None and not ok(done.stdout)):
        raise RuntimeError(f"{argv[:4]} failed ({done.returncode}): {done.stdout[-300:]!r} {done.stderr[-500:]!r}")
    return elapsed


def interleave(rounds: int, a: Callable[[], float], b: Callable[[], float], pair: Pair) -> Pair:
    for i in range(rounds):
        if i % 2 == 0:
            pair.a.append(a())
            pair.b.append(b())
        else:
            pair.b.append(b())
            pair.a.append(a())
    return pair


def random_phase() -> None:
    """A pause of a random fraction of the target's 10 ms sleep, outside every timing. The previous round
    ended just after the target woke (it ran that round's script), so without it every round would start at
    the same point of the target's sleep, and a confirmed exec's wait for the next wake-up would be set by how
    its start-up time happens to fall against 10 ms (a 1 ms change could move the median by 10 ms either way).
    With it, the wait is what a user sees against a sleeping target: on average half a sleep."""
    time.sleep(random.uniform(0.0, 0.0101))


class ScriptRuns:
    """The marker script inside the chroot, and a wait (outside every timing) until a run has happened."""

    def __init__(self, interp: Interpreter) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sa-anchors-", dir=interp.root / "tmp"))
        os.chmod(self.dir, 0o755)
        self.marks = self.dir / "marks"
        self.marks.write_bytes(b"")
        os.chmod(self.marks, 0o666)
        self.script_host = self.dir / "mark.py"
        self.script_target = "/" + str(self.script_host.relative_to(interp.root))
        self.script_host.write_text(MARK.format(path="/" + str(self.marks.relative_to(interp.root))))
        os.chmod(self.script_host, 0o644)

    def count(self) -> int:
        return self.marks.stat().st_size

    def wait_past(self, before: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count() <= before:
            if time.monotonic() > deadline:
                raise TimeoutError("the target did not run the script")
            time.sleep(0.002)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def install(into: Path) -> None:
    """A regular install of this tree into a new venv at `into`, with this venv's dependencies (see above)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(into)], check=True)
    python = into / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "_bench_deps.pth").write_text(ours + "\n")
    try:
        import hatchling  # noqa: F401
        isolation = ["--no-build-isolation"]
    except ImportError:
        isolation = []  # pip fetches hatchling into an isolated build environment
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    *isolation, str(REPO)], check=True, capture_output=True)
    where = subprocess.run([str(python), "-c", "import app, core; print(app.__file__, core.__file__)"],
                           capture_output=True, text=True, check=True, cwd=into).stdout.split()
    if not all(w.startswith(purelib) for w in where):
        raise RuntimeError(f"the install imports app/core from {where}, not from {purelib}")


def installer(command: Path) -> str:
    """Which pip wrote the command, and whether its wrapper imports re (pip before 25.0: 5-8 ms of a start)."""
    pip = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True).stdout.split()
    imports_re = "import re" in command.read_text().splitlines()
    return f"pip {pip[1] if len(pip) > 1 else '?'}, whose wrapper {'imports' if imports_re else 'does not import'} re"


def bench_cli_startup(rounds: int) -> Pair:
    return interleave(rounds, lambda: timed([*SAFEATTACH, "--help"]), lambda: timed([*CLIENT_PYTHON, "-c", "pass"]),
                      Pair("CLI start-up", "`safeattach --help`", "`python -c pass`"))


def bench_interpreter_floor(rounds: int, interp: Interpreter) -> Pair:
    """What each side pays before its first line: our interpreter and site against the raw client's."""
    raw = chroot_command(interp.root, [interp.argv0, "-c", "pass"])
    return interleave(rounds, lambda: timed([*CLIENT_PYTHON, "-c", "pass"]), lambda: timed(raw),
                      Pair(f"interpreter start, {interp.name}", "`python -c pass` (safeattach's)",
                           f"`python{interp.name} -c pass`"))


def bench_exec_and_info(rounds: int, interp: Interpreter, busy: bool = False) -> list[Pair]:
    """exec, info and stack against a target that sleeps in 10 ms steps; with `busy`, exec alone against one
    that spins in bytecode (it takes the request at once: what is left is the two clients' own work)."""
    pool = TargetPool()
    runs = ScriptRuns(interp)
    try:
        target = pool.spawn_script(interp, "busy.py" if busy else "sleepy.py")
        pid = str(target.pid)
        raw = chroot_command(interp.root, [interp.argv0, "-c", RAW_EXEC.format(pid=target.pid,
                                                                              path=runs.script_target)])

        def ours_exec() -> float:
            before = runs.count()
            random_phase()
            ms = timed([*SAFEATTACH, "exec", pid, str(runs.script_host), "--json"],
                       ok=lambda out: b'"ok": true' in out.splitlines()[-1])
            runs.wait_past(before)
            return ms

        def raw_exec() -> float:
            before = runs.count()
            random_phase()
            ms = timed(raw)
            runs.wait_past(before)  # so the next request finds no armed one (it would be refused as busy)
            return ms

        name = interp.name
        pairs = [interleave(rounds, ours_exec, raw_exec,
                            Pair(f"exec, {name}" + (", busy target" if busy else ""),
                                 "`safeattach exec --json` (confirmed)",
                                 f"`python{name} -c sys.remote_exec` (unconfirmed)"))]
        if busy:
            return pairs
        pairs.append(interleave(rounds, lambda: timed([*SAFEATTACH, "info", pid, "--json"]), raw_exec,
                                Pair(f"info, {name}", "`safeattach info --json`",
                                     f"`python{name} -c sys.remote_exec`")))
        if PY_SPY.exists():
            pairs.append(interleave(rounds, lambda: timed([*SAFEATTACH, "stack", pid, "--json"]),
                                    lambda: timed([str(PY_SPY), "dump", "--pid", pid]),
                                    Pair(f"stack, {name}", "`safeattach stack --json`", "`py-spy dump`")))
        return pairs
    finally:
        pool.close()
        runs.close()


def bench_attach(rounds: int, interp: Interpreter, no_bytecode: bool) -> list[Pair]:
    from dap_attach import PROGRAM, _adapters_of, _reap, bytecode_env, precompiled_copy, run_debugpy, run_safeattach

    workdir = Path(tempfile.mkdtemp(prefix="sa-anchors-", dir=interp.root / "tmp"))
    os.chmod(workdir, 0o755)
    (workdir / "prog.py").write_text(PROGRAM)
    program = "/" + str((workdir / "prog.py").relative_to(interp.root))
    # debugpy --pid imports its own copy, compiled by the target's interpreter as pip install would (sharing
    # safeattach's copy would hand it our bytecode)
    debugpy_dir = precompiled_copy(interp, workdir)
    mode = ", no .pyc writes" if no_bytecode else ""
    init = Pair(f"debugger ready (initialize answered), {interp.name}{mode}", "`safeattach attach`",
                "`debugpy --pid`")
    attach = Pair(f"debugger ready (attach answered), {interp.name}{mode}", "`safeattach attach`", "`debugpy --pid`")
    stop = Pair(f"first breakpoint, {interp.name}{mode}", "`safeattach attach`", "`debugpy --pid`")

    def one(run: Callable[[Target, str], tuple[float, float, float]]) -> tuple[float, float, float]:
        pool = TargetPool()
        adapters: list[tuple[int, int]] = []
        try:
            target = pool.spawn(chroot_command(interp.root, [interp.argv0, program]), interp, timeout=30,
                                env=bytecode_env(no_bytecode))
            try:
                return run(target, program)
            finally:
                adapters = _adapters_of(target.pid)
        finally:
            pool.close()
            _reap(adapters)

    try:
        for i in range(rounds):
            sides = [("a", lambda: one(lambda t, p: run_safeattach(t, p, no_bytecode))),
                     ("b", lambda: one(lambda t, p: run_debugpy(t, p, debugpy_dir, interp, no_bytecode)))]
            for side, run in sides if i % 2 == 0 else sides[::-1]:
                t_init, t_attach, t_stop = run()
                getattr(init, side).append(t_init)
                getattr(attach, side).append(t_attach)
                getattr(stop, side).append(t_stop)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return [init, attach, stop]


def peak_rss_mib(argv: Sequence[str]) -> float:
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-S", "-c", code, *argv], capture_output=True, text=True, cwd=RUN_DIR,
                         check=True)
    return int(out.stdout) / 1024


def exec_rss(interp: Interpreter) -> float:
    pool = TargetPool()
    runs = ScriptRuns(interp)
    try:
        target = pool.spawn_script(interp, "sleepy.py")
        before = runs.count()
        rss = peak_rss_mib([*SAFEATTACH, "exec", str(target.pid), str(runs.script_host), "--json"])
        runs.wait_past(before)
        return rss
    finally:
        pool.close()
        runs.close()


def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    client = subprocess.run([*CLIENT_PYTHON, "-c", "import platform; print(platform.python_version())"],
                            capture_output=True, text=True, check=True).stdout.strip()
    return (f"{model}, {os.cpu_count()} cores, Linux {platform.release()}, client Python {client}; "
            f"load average at the end {load}")


def main() -> int:
    global SAFEATTACH, CLIENT_PYTHON, RUN_DIR
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--attach-rounds", type=int, default=5)
    parser.add_argument("--interp", nargs="+", default=["3.14", "3.15"])
    parser.add_argument("--no-attach", action="store_true", help="skip the debugger-ready pair (slow)")
    parser.add_argument("--tree", action="store_true",
                        help="run this source tree (python -m app.cli, this venv) instead of a regular install")
    args = parser.parse_args()
    os.environ.setdefault("SAFEATTACH_STATE_DIR", tempfile.mkdtemp(prefix="sa-anchors-state-"))
    interps = [INTERPRETERS[name] for name in args.interp]
    missing = [i.name for i in interps if not i.available()]
    if missing:
        print(f"not provisioned: {', '.join(missing)} (run tests/provision.sh)")
        return 1
    venv = Path(tempfile.mkdtemp(prefix="sa-anchors-venv-"))
    try:
        if not args.tree:
            install(venv / "venv")
            SAFEATTACH = [str(venv / "venv" / "bin" / "safeattach")]
            CLIENT_PYTHON = [str(venv / "venv" / "bin" / "python")]
            RUN_DIR = venv
        # one untimed round of each pair first: the ELF facts cache and the OS page cache start warm
        bench_cli_startup(1)
        pairs = [bench_cli_startup(args.rounds)]
        for interp in interps:
            bench_exec_and_info(1, interp)
            pairs += bench_exec_and_info(args.rounds, interp)
            pairs += bench_exec_and_info(args.rounds, interp, busy=True)
            pairs.append(bench_interpreter_floor(args.rounds, interp))
        rss = exec_rss(interps[0])
        if not args.no_attach:
            for no_bytecode in (False, True):  # as most users run, and where targets may not write .pyc files
                for interp in interps:
                    pairs += bench_attach(args.attach_rounds, interp, no_bytecode)
        print(f"\nmachine: {machine()}")
        how = ("this source tree (`python -m app.cli`, the dev venv)" if args.tree else
               "a regular install of this tree in a throwaway venv (its `safeattach` command), by "
               + installer(Path(SAFEATTACH[0])))
        print(f"safeattach measured as: {how}\n")
        print("| what | A | A median ms | A p95 ms | B | B median ms | B p95 ms | A / B | goal | rounds |")
        print("|---|---|---:|---:|---|---:|---:|---:|---|---:|")
        for pair in pairs:
            print(pair.row())
        print(f"\npeak RSS of one `safeattach exec --json` ({interps[0].name} target): {rss:.1f} MiB")
    finally:
        shutil.rmtree(venv, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
