"""Real CPython target processes for live tests: where the interpreters are, and how to spawn them.

Targets are spawned with an explicit handshake (the target prints "ready" on stdout), every wait is
bounded, and every process started here is reaped by `TargetPool.close()`.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from repo_paths import TARGETS_DIR

CACHE = Path(os.environ.get("SAFEATTACH_TARGETS", "/var/cache/safeattach-targets"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Interpreter:
    name: str  # test id, e.g. "3.14", "3.14d", "3.9"
    root: Path  # filesystem root the target runs in ("/" for the host)
    argv0: str  # path inside that root
    version: tuple[int, int]
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def host_path(self) -> Path:
        return self.root / self.argv0.lstrip("/")

    @property
    def chrooted(self) -> bool:
        return self.root != Path("/")

    def available(self) -> bool:
        return self.host_path.exists()


SID = CACHE / "sid"
BULLSEYE = CACHE / "bullseye"

INTERPRETERS: dict[str, Interpreter] = {
    "3.9": Interpreter("3.9", BULLSEYE, "/usr/bin/python3.9", (3, 9)),
    "3.11": Interpreter("3.11", Path("/"), "/usr/bin/python3.11", (3, 11)),
    "3.13": Interpreter("3.13", SID, "/usr/bin/python3.13", (3, 13)),
    "3.13d": Interpreter("3.13d", SID, "/usr/bin/python3.13d", (3, 13)),
    "3.14": Interpreter("3.14", SID, "/usr/bin/python3.14", (3, 14)),
    "3.14d": Interpreter("3.14d", SID, "/usr/bin/python3.14d", (3, 14)),
    "3.14-pie": Interpreter("3.14-pie", SID, "/usr/bin/python3.14-pie", (3, 14)),
    "3.15": Interpreter("3.15", SID, "/usr/bin/python3.15", (3, 15)),
}
EMBED_314 = SID / "opt/safeattach/embed314"


def require(name: str) -> Interpreter:
    """The interpreter, or a skip (a failure in CI, where every interpreter must be provisioned)."""
    interp = INTERPRETERS[name]
    if not interp.available():
        msg = f"interpreter {name} not provisioned at {interp.host_path} (run tests/provision.sh)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return interp


def chroot_command(root: Path, argv: Sequence[str]) -> list[str]:
    if root == Path("/"):
        return list(argv)
    return ["chroot", str(root), *argv]


@dataclass
class Target:
    proc: subprocess.Popen[bytes]
    interpreter: Interpreter | None
    lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def read_line(self, timeout: float = 10.0) -> str:
        """Next stdout line; raises TimeoutError if none arrives in time."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while not buf.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise TimeoutError(f"target {self.pid} printed no line within {timeout}s (got {buf!r})")
                chunk = os.read(self.proc.stdout.fileno(), 1)
                if not chunk:
                    raise EOFError(f"target {self.pid} closed stdout (exit {self.proc.poll()}): {buf!r}")
                buf += chunk
        line = buf.decode(errors="replace").rstrip("\n")
        self.lines.append(line)
        return line

    def wait_for(self, prefix: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.read_line(max(0.01, deadline - time.monotonic()))
            if line.startswith(prefix):
                return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a kernel that cannot reap
            pass
        for stream in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
            if stream is not None:
                stream.close()


class TargetPool:
    """Spawns targets and reaps every one of them on close()."""

    def __init__(self) -> None:
        self.targets: list[Target] = []

    def spawn_script(
        self,
        interp: Interpreter,
        script: str,
        *,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        python_flags: Sequence[str] = (),
        ready: str | None = "ready",
        timeout: float = 20.0,
    ) -> Target:
        """Run tests/targets/<script> (passed with -c, so it works in any root) and wait for its handshake."""
        source = (TARGETS_DIR / script).read_text()
        argv = [interp.argv0, *python_flags, "-c", source, *args]
        return self.spawn(chroot_command(interp.root, argv), interp, env=env, ready=ready, timeout=timeout)

    def spawn(
        self,
        argv: Sequence[str],
        interp: Interpreter | None = None,
        *,
        env: Mapping[str, str] | None = None,
        ready: str | None = "ready",
        timeout: float = 20.0,
        stdin: int | None = subprocess.DEVNULL,
    ) -> Target:
        full_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        if interp is not None:
            full_env.update(interp.extra_env)
        full_env.update(env or {})
        proc = subprocess.Popen(
            list(argv), stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
        )
        target = Target(proc, interp)
        self.targets.append(target)
        if ready is not None:
            try:
                target.wait_for(ready, timeout)
            except (TimeoutError, EOFError) as exc:
                err = b""
                if proc.poll() is not None and proc.stderr is not None:
                    err = proc.stderr.read()
                raise RuntimeError(f"target {argv[:3]} did not become ready: {exc}; stderr={err[-2000:]!r}") from exc
        return target

    def spawn_embedded(self, code: str, *, env: Mapping[str, str] | None = None) -> Target:
        if not EMBED_314.exists():
            msg = f"embedded program not built at {EMBED_314} (run tests/provision.sh)"
            if IN_CI:
                pytest.fail(msg)
            pytest.skip(msg)
        return self.spawn(chroot_command(SID, ["/opt/safeattach/embed314", code]), None, env=env)

    def close(self) -> None:
        for target in self.targets:
            target.stop()
        self.targets.clear()


def have_root() -> bool:
    return os.geteuid() == 0


def python_for_client(version: str) -> list[str]:
    """argv prefix to run safeattach under another client interpreter (e.g. 3.14 in the sid chroot)."""
    if version == "host":
        return [sys.executable]
    interp = require(version)
    return chroot_command(interp.root, [interp.argv0])


def which(name: str) -> str | None:
    return shutil.which(name)
