"""Bundled demo targets for `safeattach tui --demo`: started with a "ready" handshake, always killed and reaped."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.render.words import DEMO_MARKER

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

TARGETS_DIR = Path(__file__).parent / "demo_targets"
PAYLOAD_SCRIPT = TARGETS_DIR / "payload.py"
VERSIONS = ("3.15", "3.14", "3.13")  # PEP 768 first; 3.13 targets attach by injection
VERSION_PROBE = "import sys; print('%d.%d' % sys.version_info[:2])"
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
    version: str  # "3.15"


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


def reports_version(argv: Sequence[str], version: str) -> bool:
    """The command runs and is that CPython (a pyenv shim for a version not installed, say, fails)."""
    try:
        done = subprocess.run([*argv, "-c", VERSION_PROBE], capture_output=True, text=True, timeout=10,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == version


def provisioned_root() -> Path:
    """The sid chroot tests/provision.sh makes (SAFEATTACH_TARGETS moves it, as for the tests)."""
    return Path(os.environ.get("SAFEATTACH_TARGETS", "/var/cache/safeattach-targets")) / "sid"


def candidates(path: str | None = None, root: Path | None = None, *, as_root: bool | None = None) -> list[Interpreter]:
    """Where the demo may find 3.15/3.14/3.13, best first: every one on PATH (newest first), then the provisioned
    sid chroot's (usable only as root, with chroot(8)). Nothing is run here."""
    root = provisioned_root() if root is None else root
    as_root = os.geteuid() == 0 if as_root is None else as_root
    found = []
    for version in VERSIONS:
        exe = shutil.which(f"python{version}", path=path)
        if exe:
            found.append(Interpreter((exe,), f"python{version}", False, version))
    if as_root and shutil.which("chroot"):
        for version in VERSIONS:
            if (root / "usr/bin" / f"python{version}").exists():
                argv = ("chroot", str(root), f"/usr/bin/python{version}")
                found.append(Interpreter(argv, f"python{version} (sid chroot)", True, version))
    return found


def find_interpreter(path: str | None = None, root: Path | None = None, *,
                     as_root: bool | None = None) -> Interpreter | None:
    """The first candidate that runs and says it is the version it is named after, or None."""
    return next((c for c in candidates(path, root, as_root=as_root) if reports_version(c.argv, c.version)), None)


def choose_interpreter() -> Interpreter:
    """find_interpreter(), else this interpreter (the demo still runs: older targets attach by injection)."""
    return find_interpreter() or Interpreter((sys.executable,), f"{Path(sys.executable).name} (current)", False,
                                             "{}.{}".format(*sys.version_info[:2]))


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
    interp = choose_interpreter()
    started: list[DemoTarget] = []
    try:
        for role in roles:
            started.append(start_target(role, interp))
        yield started
    finally:
        for target in started:
            stop_target(target)


def main() -> int:
    """`python -m app.demo`: which interpreter the demo targets would run on; exit 1 when none of 3.15, 3.14
    and 3.13 is found (the README's first command then provisions them)."""
    found = find_interpreter()
    if found is None:
        print(f"demo: no python{', python'.join(VERSIONS)} on PATH, nor (as root) in {provisioned_root()}",
              file=sys.stderr)
        return 1
    print(f"demo: targets run on {found.label}: {' '.join(found.argv)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
