"""Against a live target whose argv carries an OSC 52 clipboard write and a screen clear, whose main thread
has an escape in its name, and a script that raises with escapes in its message: a terminal sees them
visibly, JSON exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_text import CLEAR, EVIL_NAME, OSC52
from live_targets import Target, TargetPool, chroot_command, require
from repo_paths import REPO


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "COLUMNS": "400", "LANG": "C.UTF-8",
           "SAFEATTACH_STATE_DIR": os.environ["SAFEATTACH_STATE_DIR"]}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, cwd=REPO, timeout=120, env=env)


EVIL_TARGET = f"""
import threading, time
threading.current_thread().name = {EVIL_NAME!r}
print("ready", flush=True)
while True:
    time.sleep(0.001)
    n = 0
    for i in range(100):
        n += i
"""


@pytest.fixture
def evil(targets: TargetPool) -> Target:
    interp = require("3.14")
    argv = chroot_command(interp.root, [interp.argv0, "-c", EVIL_TARGET, OSC52, CLEAR])
    return targets.spawn(argv, interp)


def _human_output_is_clean(out: subprocess.CompletedProcess[bytes]) -> str:
    both = out.stdout + out.stderr
    assert b"\x1b" not in both and b"\x07" not in both and b"\xc2\x9b" not in both, both[-2000:]
    return both.decode()


def test_ps_and_info_show_escapes_visibly(evil: Target) -> None:
    text = _human_output_is_clean(_cli("ps"))
    assert "\\x1b]52;c;aGVsbG8gcm9vdA==\\x07" in text and "\\x1b[2J" in text
    _human_output_is_clean(_cli("info", str(evil.pid)))
    rows = {r["pid"]: r for r in json.loads(_cli("ps", "--json").stdout)}
    assert OSC52 in rows[evil.pid]["cmdline"] and CLEAR in rows[evil.pid]["cmdline"]  # JSON stays exact
    info = json.loads(_cli("info", str(evil.pid), "--json").stdout)
    assert OSC52 in info["summary"]["cmdline"]


def test_exec_thread_name_and_exception_shown_visibly(evil: Target, shared: Path) -> None:
    script = shared / "raise.py"
    script.write_text(f"raise ValueError({OSC52 + CLEAR!r})\n")
    script.chmod(0o644)
    out = _cli("exec", str(evil.pid), str(script), "--method", "safe")
    assert out.returncode == 28, out
    text = _human_output_is_clean(out)
    assert "ValueError: \\x1b]52;c;" in text and "Traceback" in text
    ok = shared / "ok.py"
    ok.write_text("x = 1\n")
    ok.chmod(0o644)
    out = _cli("exec", str(evil.pid), str(ok), "--method", "safe")
    assert out.returncode == 0, out
    assert "worker\\x1b[31m\\x9b2J" in _human_output_is_clean(out)
    _human_output_is_clean(_cli("log"))
    events = [json.loads(line) for line in _cli("exec", str(evil.pid), str(script), "--json").stdout.splitlines()]
    assert events[-1]["result"]["exc_message"] == OSC52 + CLEAR  # JSON stays exact
    assert evil.alive()
