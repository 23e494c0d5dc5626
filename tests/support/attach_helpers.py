"""Shared helpers for the attach engine's live tests (owned by the attach engine)."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from live_targets import SID

from core.attach import FaultPlan, run_attach
from core.events import Event, Outcome
from core.offsets import please_stop_mask
from core.requests import AttachRequest, CancelToken, Method
from core.target import open_target

# a target that sleeps in one syscall, then runs bytecode for a while and says so (wakes by itself)
SLEEP_THEN_RUN = """
import sys, time
print("ready", flush=True)
time.sleep(float(sys.argv[1]))
print("woke", flush=True)
end = time.time() + 1.0
n = 0
while time.time() < end:
    n += 1
print("done", flush=True)
time.sleep(3600)
"""


@dataclass
class SharedDir:
    """A fresh world-writable directory under a target root's /tmp: its host path and the target's path."""

    host_dir: Path
    target_dir: str

    @classmethod
    def create(cls, root: Path, prefix: str) -> Self:
        name = f"{prefix}-{secrets.token_hex(4)}"
        host_dir = root / "tmp" / name
        host_dir.mkdir(mode=0o777)
        os.chmod(host_dir, 0o777)
        return cls(host_dir, f"/tmp/{name}")

    def write_script(self, source: str) -> Path:
        path = self.host_dir / "script.py"
        path.write_text(source)
        return path


class Marker(SharedDir):
    """A file the injected script creates, visible both in the target's root and on the host."""

    @property
    def host_file(self) -> Path:
        return self.host_dir / "ran"

    def script(self) -> Path:
        return self.write_script(
            "import threading, os\n"
            f"open({self.target_dir + '/ran.tmp'!r}, 'w').write(threading.current_thread().name + ' ' + "
            "str(threading.get_native_id()))\n"
            f"os.replace({self.target_dir + '/ran.tmp'!r}, {self.target_dir + '/ran'!r})\n"
        )


def make_marker(root: Path = SID) -> Iterator[Marker]:
    marker = Marker.create(root, "sa-test")
    try:
        yield marker
    finally:
        shutil.rmtree(marker.host_dir, ignore_errors=True)


def attach(
    pid: int,
    script: str | os.PathLike[str],
    *,
    timeout: float = 10.0,
    method: Method = Method.AUTO,
    faults: FaultPlan | None = None,
    cancel: CancelToken | None = None,
    allow_opted_out_legacy: bool = False,
) -> tuple[list[Event], Outcome]:
    req = AttachRequest(pid, script=os.fspath(script), timeout=timeout, method=method,
                        allow_opted_out_legacy=allow_opted_out_legacy)
    events = list(run_attach(req, cancel or CancelToken(), faults=faults))
    outcome = events[-1]
    assert isinstance(outcome, Outcome)
    return events, outcome


@dataclass(frozen=True)
class RequestState:
    path_buffer: bytes
    pending: int
    please_stop_set: bool


def request_state(pid: int) -> RequestState:
    """The PEP 768 request fields of the main interpreter's main thread state (or its first one)."""
    with open_target(pid) as t:
        off = t.offsets
        assert off is not None and t.version is not None
        interp = next(i for i in t.interpreters() if i.is_main)
        tstate = interp.threads_main or t.thread_addresses(interp.address)[0]
        base = tstate + off.remote_debugger_support
        return RequestState(
            path_buffer=t.mem.read(base + off.debugger_script_path, off.debugger_script_path_size),
            pending=t.mem.read_i32(base + off.debugger_pending_call),
            please_stop_set=bool(t.mem.read_u64(tstate + off.eval_breaker) & please_stop_mask(t.version)),
        )


def wait_parked(pid: int, syscall: str = "clock_nanosleep", timeout: float = 10.0) -> None:
    """Block until the main thread is parked in `syscall` (observed in /proc, bounded)."""
    import time

    from core.procfs import thread_os_state

    deadline = time.monotonic() + timeout
    while thread_os_state(pid, pid) != ("S", syscall):
        if time.monotonic() > deadline:
            raise TimeoutError(f"thread {pid} never parked in {syscall}: {thread_os_state(pid, pid)}")
        time.sleep(0.002)
