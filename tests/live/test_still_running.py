"""A script that started but outlives the timeout is reported as stillRunning (exit 32), never as "did not
reach a safe point"; it is neither stopped nor has its directory removed from under it, the loader cleans
up after itself, and nothing of ours is ever printed into the target."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from live_targets import SID, Target, TargetPool, chroot_command, require
from repo_paths import REPO

from core.errors import EXIT_CODES, FailureKind
from core.loader import stage
from core.payloads.contract import PayloadSpec

SLOW_PAYLOAD = """
import time
def run(params, ctx):
    time.sleep(params["seconds"])
    return {"slept": params["seconds"]}
"""


def _stderr_so_far(target: Target, wait: float = 0.2) -> bytes:
    assert target.proc.stderr is not None
    fd = target.proc.stderr.fileno()
    out = b""
    while select.select([fd], [], [], wait)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        out += chunk
    return out


def _wait_gone(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} still exists: {list(path.iterdir())}")
        time.sleep(0.02)


def test_loader_is_silent_when_its_directory_vanishes() -> None:
    """The client removed the directory while the payload ran: the loader prints nothing at all."""
    interp = require("3.14")
    req = stage(str(interp.root), 0, 0, PayloadSpec("t", SLOW_PAYLOAD, {"seconds": 0.5}), expires_in=60)
    code = "import sys; p=sys.argv[1]; exec(compile(open(p,'rb').read(),p,'exec'),{}); print('back', flush=True)"
    proc = subprocess.Popen(chroot_command(interp.root, [interp.argv0, "-c", code, req.script_path]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not req.claimed:
            assert time.monotonic() < deadline, "the loader never claimed the request"
            time.sleep(0.005)
        req.cleanup()  # what the old client did at its timeout
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert out == b"back\n" and err == b"", err


def test_abandoned_request_is_removed_by_the_loader() -> None:
    interp = require("3.14")
    req = stage(str(interp.root), 0, 0, PayloadSpec("t", SLOW_PAYLOAD, {"seconds": 0.3}), expires_in=60)
    code = "import sys; p=sys.argv[1]; exec(compile(open(p,'rb').read(),p,'exec'),{})"
    proc = subprocess.Popen(chroot_command(interp.root, [interp.argv0, "-c", code, req.script_path]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while "native_thread_id" not in req.running_since():  # claimed, then its thread written into the claim
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert req.claimed and req.running_since()["native_thread_id"] == proc.pid
        assert req.abandon() is True
        req.cleanup()  # leaves the directory to the running loader
        assert Path(req.pdir.host_path).is_dir()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert out == b"" and err == b""
    assert not Path(req.pdir.host_path).exists()


def test_script_running_past_the_timeout(targets: TargetPool, shared: Path) -> None:
    target = targets.spawn_script(require("3.14"), "busy.py")
    marker = SID / "tmp" / f"sa-still-{os.getpid()}-{time.monotonic_ns()}"
    script = shared / "slow.py"
    script.write_text(f"import time\ntime.sleep(5)\nopen({'/tmp/' + marker.name!r}, 'w').write('done')\n")
    script.chmod(0o644)
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "app", "exec", str(target.pid), str(script), "--timeout", "1",
                          "--json"], capture_output=True, text=True, cwd=REPO, timeout=60)
    elapsed = time.monotonic() - t0
    outcome = json.loads(out.stdout.splitlines()[-1])
    assert outcome["kind"] == "stillRunning", outcome
    assert out.returncode == EXIT_CODES[FailureKind.STILL_RUNNING] == 32
    assert "still running after 1s" in outcome["message"] and "safe point" not in outcome["message"]
    assert outcome["result"]["still_running"] is True and outcome["result"]["native_thread_id"] == target.pid
    print(f"stillRunning reported after {elapsed:.2f}s (timeout 1s, script 5s)")
    assert not marker.exists()  # reported while the script still ran (no timing bound: machines differ in load)
    private = SID / outcome["result"]["private_dir"].lstrip("/")
    assert private.is_dir()  # not removed from under the running script
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert time.monotonic() < deadline, "the script never finished"
        time.sleep(0.02)
    _wait_gone(private, 10)  # the loader removed it when done
    marker.unlink()
    assert _stderr_so_far(target) == b""  # no traceback from our loader in the target
    assert target.alive()
    # the attempt log says so too
    log = subprocess.run([sys.executable, "-m", "app", "log", "--json", "--failures"], capture_output=True,
                         text=True, cwd=REPO, timeout=60)
    last = json.loads(log.stdout.splitlines()[-1])
    assert last["failure_kind"] == "stillRunning" and "still_running" in last["flags"]


def test_cancel_while_the_script_runs_is_still_running(targets: TargetPool, shared: Path) -> None:
    """Ctrl-C after the script started: it is not interrupted; after the grace the outcome says so."""
    import threading

    from core.attach import run_attach
    from core.attach.chain import GRACE_AFTER_CLAIM
    from core.events import Outcome
    from core.requests import AttachRequest, CancelToken, Method

    target = targets.spawn_script(require("3.14"), "busy.py")
    started = SID / "tmp" / f"sa-started-{os.getpid()}-{time.monotonic_ns()}"
    script = shared / "slow.py"
    script.write_text(f"import time\nopen({'/tmp/' + started.name!r}, 'w').close()\n"
                      f"time.sleep({GRACE_AFTER_CLAIM + 2})\n")
    script.chmod(0o644)
    cancel = CancelToken()
    outcomes: list[Outcome] = []
    request = AttachRequest(target.pid, script=str(script), method=Method.SAFE, timeout=60)
    worker = threading.Thread(target=lambda: outcomes.extend(
        e for e in run_attach(request, cancel) if isinstance(e, Outcome)))
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while not started.exists():
            assert time.monotonic() < deadline, "the script never started"
            time.sleep(0.01)
        cancel.cancel()
    finally:
        cancel.cancel()
        worker.join(timeout=GRACE_AFTER_CLAIM + 20)
    outcome = outcomes[-1]
    assert outcome.kind is FailureKind.STILL_RUNNING, outcome
    assert outcome.message.startswith("cancelled, but the script started")
    private = SID / outcome.result["private_dir"].lstrip("/")
    _wait_gone(private, GRACE_AFTER_CLAIM + 20)  # the loader removes it once the script is done
    started.unlink()
    assert _stderr_so_far(target) == b""
    assert target.alive()
