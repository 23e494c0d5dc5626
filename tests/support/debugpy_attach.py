"""Ways to attach debugpy to a live target in the tests (the CLI, the engine) and the Session that reaps what
they start; shared by the debugger-session, endpoint-owner and legacy-chain live tests and bench/dap_attach.py."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dap_session
from dap_session import program_text, run_full_session
from live_targets import SID, Target, TargetPool, chroot_command, require
from repo_paths import REPO

from core.attach import run_attach
from core.dap.dist import install_into_root
from core.events import Outcome
from core.procfs import start_ticks_of
from core.requests import AttachRequest, CancelToken, Payload

CLI = [sys.executable, "-m", "app.cli"]

PROGRAM = program_text("import sys, time", '''\
if len(sys.argv) > 1:  # listen by itself first, like a program that embeds debugpy.listen()
    sys.path.insert(0, sys.argv[1])
    import debugpy
    sys.path.pop(0)
    print("self_listen %d" % debugpy.listen(("127.0.0.1", 0))[1], flush=True)
print("ready", flush=True)
''')


def line_of(marker: str) -> int:
    return dap_session.line_of(PROGRAM, marker)


@dataclass
class Session:
    """Targets, CLI processes and debugpy adapters started by one test; all reaped at the end."""

    targets: TargetPool
    dirs: list[Path] = field(default_factory=list)
    clis: list[subprocess.Popen[bytes]] = field(default_factory=list)
    listeners: list[tuple[int, int]] = field(default_factory=list)  # (pid, start ticks) of adapters

    def program(self, root: Path = SID) -> str:
        host = Path(tempfile.mkdtemp(prefix="sa-dbg-", dir=root / "tmp"))
        os.chmod(host, 0o755)
        self.dirs.append(host)
        (host / "prog.py").write_text(PROGRAM)
        return "/" + str((host / "prog.py").relative_to(root))

    def spawn(self, name: str, *, netns: bool = False, self_listen: bool = False) -> tuple[Target, str]:
        args = [install_into_root(SID)] if self_listen else []
        if name == "embed314":
            prog = self.program()
            code = f"import runpy, sys; sys.argv = [{prog!r}, *{args!r}]; runpy.run_path({prog!r}, run_name='__main__')"
            return self.targets.spawn_embedded(code), prog
        interp = require(name)
        prog = self.program(interp.root)
        argv = chroot_command(interp.root, [interp.argv0, prog, *args])
        if netns:
            argv = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *argv]
        return self.targets.spawn(argv, interp, timeout=30), prog

    def remember(self, outcome: Outcome) -> None:
        debugpy = outcome.result.get("debugpy")
        pid = debugpy.get("listener_pid") if isinstance(debugpy, dict) else None
        if pid and pid != outcome.pid:
            ticks = start_ticks_of(int(pid))
            if ticks is not None:
                self.listeners.append((int(pid), ticks))

    def close(self) -> None:
        for cli in self.clis:
            if cli.poll() is None:
                cli.kill()
            cli.wait(timeout=10)
            for stream in (cli.stdout, cli.stderr):
                if stream is not None:
                    stream.close()
        self.targets.close()
        # debugpy's adapter daemonises (setsid, reparented) and exits once its debuggee is gone
        deadline = time.monotonic() + 10
        for pid, ticks in self.listeners:
            while start_ticks_of(pid) == ticks and time.monotonic() < deadline:
                time.sleep(0.05)
            if start_ticks_of(pid) == ticks:
                os.kill(pid, signal.SIGKILL)
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)

# -- ways to attach ---------------------------------------------------------------------------------------


def outcome_from(lines: list[str]) -> tuple[list[dict[str, Any]], Outcome]:
    events = [json.loads(line) for line in lines if line.strip()]
    last = events[-1]
    assert last["event"] == "Outcome", events
    from core.errors import FailureKind

    kind = FailureKind(last["kind"]) if last["kind"] else None
    return events, Outcome(last["ok"], last["pid"], last["elapsed_ms"], last["message"], kind, last["hint"],
                           last["failed_step"], last["result"])


def cli_attach(s: Session, pid: int | str, *args: str) -> tuple[int, list[dict[str, Any]], Outcome, str]:
    """`safeattach attach PID --json ARGS` to completion: (exit code, events, outcome, stderr)."""
    proc = subprocess.run([*CLI, "attach", str(pid), "--json", *args], capture_output=True, text=True,
                          timeout=90, cwd=REPO)
    events, outcome = outcome_from(proc.stdout.splitlines())
    s.remember(outcome)
    return proc.returncode, events, outcome, proc.stderr


def cli_attach_serving(s: Session, pid: int, *args: str) -> tuple[subprocess.Popen[bytes], Outcome]:
    """`safeattach attach --json` for a target that needs the bridge: the CLI keeps serving; read its outcome."""
    proc = subprocess.Popen([*CLI, "attach", str(pid), "--json", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO)
    s.clis.append(proc)
    assert proc.stdout is not None
    lines: list[str] = []
    buf = b""
    deadline = time.monotonic() + 90
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while not (lines and json.loads(lines[-1])["event"] == "Outcome"):
            left = deadline - time.monotonic()
            assert left > 0 and sel.select(left), f"no outcome from the CLI: {lines}"
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, f"CLI exited ({proc.wait(timeout=10)}): {lines} {proc.stderr.read()!r}"  # type: ignore[union-attr]
            buf += chunk
            *done, buf = buf.split(b"\n")
            lines += [d.decode() for d in done if d.strip()]
    _, outcome = outcome_from(lines)
    s.remember(outcome)
    return proc, outcome


def engine_attach(s: Session, pid: int, **kw: Any) -> tuple[list[Any], Outcome]:
    events = list(run_attach(AttachRequest(pid, payload=Payload.DEBUGPY, timeout=30, **kw), CancelToken()))
    outcome = events[-1]
    assert isinstance(outcome, Outcome)
    s.remember(outcome)
    return events, outcome


def stop_serving(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 0
    assert proc.stderr is not None
    assert b"Ctrl-C stops the relay" in proc.stderr.read()


# -- the DAP session --------------------------------------------------------------------------------------


def drive_session(port: int, program: str, target: Target, *, host: str = "127.0.0.1") -> None:
    """initialize … disconnect, asserting on what a user sees; the target must keep running afterwards."""
    run_full_session(host, port, program=program, source=PROGRAM, target=target)
