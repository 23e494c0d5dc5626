"""Bundled demo targets for `safeattach tui --demo`: started with a "ready" handshake, always killed and reaped."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.tui.render import DEMO_MARKER

TARGETS_DIR = Path(__file__).parent / "demo_targets"
PAYLOAD_SCRIPT = TARGETS_DIR / "payload.py"
SID_ROOT = Path("/var/cache/safeattach-targets/sid")
VERSIONS = ("3.15", "3.14", "3.13")
READY_TIMEOUT = 20.0

# role -> (script, extra environment)
ROLES: dict[str, tuple[str, dict[str, str]]] = {
    "busy": ("busy.py", {}),
    "blocked": ("blocked.py", {}),
    "disabled": ("disabled.py", {"PYTHON_DISABLE_REMOTE_DEBUG": "1"}),
}


class DemoError(RuntimeError):
    """A demo target could not be started (no handshake in time, or it exited)."""


@dataclass(frozen=True)
class Interpreter:
    argv: tuple[str, ...]  # command prefix, e.g. ("chroot", ROOT, "/usr/bin/python3.15")
    label: str  # "python3.15 (sid chroot)"
    chrooted: bool


@dataclass
class DemoTarget:
    role: str
    interpreter: str
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None


def _runs(argv: Sequence[str]) -> bool:
    try:
        done = subprocess.run([*argv, "-c", "pass"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def find_interpreter() -> Interpreter:
    """The newest CPython among 3.15/3.14/3.13: on PATH first, then in the sid chroot; else this one."""
    for version in VERSIONS:
        name = f"python{version}"
        found = shutil.which(name)
        if found and _runs([found]):
            return Interpreter((found,), name, False)
        inside = SID_ROOT / "usr/bin" / name
        if inside.exists() and os.geteuid() == 0 and shutil.which("chroot"):
            argv = ("chroot", str(SID_ROOT), f"/usr/bin/{name}")
            if _runs(argv):
                return Interpreter(argv, f"{name} (sid chroot)", True)
    return Interpreter((sys.executable,), f"{Path(sys.executable).name} (current)", False)


def _wait_ready(proc: subprocess.Popen[bytes], timeout: float) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while b"ready\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise DemoError(f"demo target {proc.pid} sent no handshake within {timeout:g}s")
            chunk = os.read(proc.stdout.fileno(), 256)
            if not chunk:
                raise DemoError(f"demo target {proc.pid} exited before its handshake (code {proc.poll()})")
            buf += chunk


def start_target(role: str, interp: Interpreter) -> DemoTarget:
    script, extra_env = ROLES[role]
    marker = f"{DEMO_MARKER}:{role}"
    source = (TARGETS_DIR / script).read_bytes()
    # the script is not visible inside a chroot: feed its source on stdin ("-"), keeping the command line short
    argv = [*interp.argv, "-", marker] if interp.chrooted else [*interp.argv, str(TARGETS_DIR / script), marker]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **extra_env}
    stdin = subprocess.PIPE if interp.chrooted else subprocess.DEVNULL
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    target = DemoTarget(role, interp.label, proc)
    try:
        if proc.stdin is not None:
            proc.stdin.write(source)
            proc.stdin.close()
        _wait_ready(proc, READY_TIMEOUT)
    except BaseException:
        stop_target(target)
        raise
    return target


def stop_target(target: DemoTarget) -> None:
    if target.proc.poll() is None:
        target.proc.send_signal(signal.SIGKILL)
    try:
        target.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - a process the kernel cannot reap
        pass
    if target.proc.stdout is not None:
        target.proc.stdout.close()


@contextmanager
def demo_targets(roles: Sequence[str] = tuple(ROLES)) -> Iterator[list[DemoTarget]]:
    """Start the demo targets (busy, blocked, disabled); kill and reap them on exit, exceptions included."""
    interp = find_interpreter()
    started: list[DemoTarget] = []
    try:
        for role in roles:
            started.append(start_target(role, interp))
        yield started
    finally:
        for target in started:
            stop_target(target)
