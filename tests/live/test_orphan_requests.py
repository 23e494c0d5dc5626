"""No request outlives its client: a `safeattach exec` stopped by SIGTERM, SIGHUP or SIGQUIT while its PEP 768
request is armed withdraws it like Ctrl-C (the script never runs later, nothing of ours stays in the target's
/tmp); after a SIGKILL the expired loader is a no-op, the next run collects the stale directory, and the attempt
log records the attempt as abandoned."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from attach_helpers import Marker, attach, make_marker, request_state, wait_parked
from live_targets import SID, Target, TargetPool, chroot_command, require
from repo_paths import REPO

from core.attemptlog import read_attempts
from core.errors import EXIT_CODES, FailureKind
from core.events import StepFinished
from core.requests import Method
from core.stale_requests import RequestName

BASE = SID / "tmp" / f"safeattach-{os.getuid()}"

# blocks in read(2) until the test sends a line, then runs bytecode for a while (eval-breaker checks)
READ_THEN_RUN = """
import sys, time
print("ready", flush=True)
for line in sys.stdin:
    print("woke", flush=True)
    end = time.time() + 0.5
    n = 0
    while time.time() < end:
        n += 1
    print("done", flush=True)
"""


@pytest.fixture
def marker() -> Iterator[Marker]:
    yield from make_marker()


def _blocked_target(targets: TargetPool) -> Target:
    interp = require("3.14")
    target = targets.spawn(chroot_command(interp.root, [interp.argv0, "-c", READ_THEN_RUN]), interp,
                           stdin=subprocess.PIPE)
    wait_parked(target.pid, "read")
    return target


def _wake(target: Target) -> None:
    """One pass of the target's loop: it returns to bytecode, so an armed request would run now."""
    assert target.proc.stdin is not None
    target.proc.stdin.write(b"go\n")
    target.proc.stdin.flush()
    assert target.wait_for("woke", 15) == "woke"
    assert target.wait_for("done", 15) == "done"
    wait_parked(target.pid, "read")


class ExecClient:
    """`safeattach exec --json` in a subprocess, read event by event (bounded)."""

    def __init__(self, pid: int, script: Path | None, timeout: float) -> None:
        """`exec PID SCRIPT`, or `attach PID` (debugpy) when script is None."""
        command = ["exec", str(pid), str(script)] if script is not None else ["attach", str(pid)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *command, "--timeout", str(timeout), "--method", "safe", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
        self.events: list[dict[str, Any]] = []
        self._buf = b""

    def read_until_armed(self, timeout: float = 60) -> None:
        """Until the eval-breaker bit is set: the request is armed and the client waits in awaitRun."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while not any(e["event"] == "StepStarted" and e["step"] == "awaitRun" for e in self.events):
                left = deadline - time.monotonic()
                assert left > 0 and sel.select(left), f"never armed: {self.events}"
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                assert chunk, f"client exited ({self.proc.poll()}): {self.events}"
                self._buf += chunk
                *lines, self._buf = self._buf.split(b"\n")
                self.events += [json.loads(line) for line in lines if line.strip()]

    def finish(self, timeout: float = 30) -> int:
        out, _ = self.proc.communicate(timeout=timeout)
        self.events += [json.loads(line) for line in (self._buf + out).split(b"\n") if line.strip()]
        return self.proc.returncode

    @property
    def request_id(self) -> str:
        text = next(e["text"] for e in self.events if e["event"] == "StepOutput" and "staged loader at" in e["text"])
        return text.split("staged loader at ")[1].split("/")[3]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def clients() -> Iterator[list[ExecClient]]:
    started: list[ExecClient] = []
    try:
        yield started
    finally:
        for c in started:
            c.close()


def _ours_left(pid: int, request_id: str) -> list[str]:
    """Entries in the target's /tmp/safeattach-UID/ that belong to this target or this request."""
    try:
        names = os.listdir(BASE)
    except FileNotFoundError:
        return []
    return [n for n in names if n == request_id or n.startswith(f"attach-{pid}-")]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
def test_a_signalled_client_withdraws_its_armed_request(
    targets: TargetPool, marker: Marker, clients: list[ExecClient], sig: signal.Signals
) -> None:
    target = _blocked_target(targets)
    before = request_state(target.pid)
    client = ExecClient(target.pid, marker.script(), timeout=30)
    clients.append(client)
    client.read_until_armed()
    assert request_state(target.pid).pending == 1
    rid = client.request_id
    assert (BASE / rid).is_dir()
    t0 = time.monotonic()
    client.proc.send_signal(sig)
    code = client.finish()
    elapsed = time.monotonic() - t0
    assert code == EXIT_CODES[FailureKind.CANCELLED], client.events[-1]
    outcome = client.events[-1]
    assert outcome["event"] == "Outcome" and outcome["kind"] == "cancelled"
    assert f"cancelled ({sig.name})" in outcome["message"] and "withdrawn" in outcome["message"]
    assert elapsed < 5, elapsed
    after = request_state(target.pid)
    assert after.pending == 0 and not after.please_stop_set and after.path_buffer == before.path_buffer
    assert _ours_left(target.pid, rid) == []  # the request dir and the lock are gone
    _wake(target)  # the target returns to bytecode: a request still armed would run now
    assert not marker.host_file.exists()
    assert target.alive()
    (rec,) = [r for r in read_attempts() if r["pid"] == target.pid]
    assert rec["result"] == "cancelled"


def test_after_sigkill_the_loader_expires_and_the_next_run_collects_the_stale_dir(
    targets: TargetPool, marker: Marker, clients: list[ExecClient]
) -> None:
    target = _blocked_target(targets)
    client = ExecClient(target.pid, marker.script(), timeout=3)
    clients.append(client)
    client.read_until_armed()
    client.proc.send_signal(signal.SIGKILL)
    assert client.finish() == -signal.SIGKILL
    rid = client.request_id
    name = RequestName.parse(rid)
    assert name is not None and name.target[0] == target.pid and name.client[0] == client.proc.pid
    assert (BASE / rid).is_dir() and request_state(target.pid).pending == 1  # left armed
    (rec,) = [r for r in read_attempts() if r["pid"] == target.pid]
    assert rec["result"] == "abandoned"

    while time.time() <= name.deadline:  # bounded: the name carries the deadline, a few seconds away
        time.sleep(0.1)
    _wake(target)  # the armed request fires, but its loader has expired: nothing runs
    assert not marker.host_file.exists()
    assert request_state(target.pid).pending == 0
    assert (BASE / rid).is_dir()  # an expired loader touches nothing

    events, outcome = attach(target.pid, marker.script(), timeout=1.0, method=Method.SAFE)
    assert outcome.kind is FailureKind.TIMEOUT_RUN  # the target is blocked again; what matters is the cleanup
    written = next(e for e in events if isinstance(e, StepFinished) and e.step == "writeScript")
    assert rid in written.detail["collected_requests"]
    assert _ours_left(target.pid, rid) == []
    _wake(target)
    assert not marker.host_file.exists()
    target.proc.kill()
    target.proc.wait(timeout=10)
    assert target.proc.stderr is not None and target.proc.stderr.read() == b""  # nothing printed into it


def test_a_signalled_attach_withdraws_its_debugpy_request(targets: TargetPool, clients: list[ExecClient]) -> None:
    target = _blocked_target(targets)
    client = ExecClient(target.pid, None, timeout=30)
    clients.append(client)
    client.read_until_armed()
    rid = client.request_id
    client.proc.send_signal(signal.SIGTERM)
    assert client.finish() == EXIT_CODES[FailureKind.CANCELLED]
    assert client.events[-1]["kind"] == "cancelled" and "SIGTERM" in client.events[-1]["message"]
    assert request_state(target.pid).pending == 0
    assert _ours_left(target.pid, rid) == []
    _wake(target)
    threads = os.listdir(f"/proc/{target.pid}/task")
    assert threads == [str(target.pid)]  # debugpy never started: no adapter, no pydevd threads
    assert target.alive()
