"""`log --stats` after real attempts on live 3.14 (safe attach) and 3.13 (legacy) targets: both paths counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from live_targets import SID, TargetPool, require
from repo_paths import REPO


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "SAFEATTACH_STATE_DIR": os.environ["SAFEATTACH_STATE_DIR"]}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120, env=env)


def test_stats_after_real_attempts(targets: TargetPool) -> None:
    safe = targets.spawn_script(require("3.14"), "busy_heartbeat.py")
    legacy = targets.spawn_script(require("3.13"), "busy_heartbeat.py")
    script = SID / "tmp" / f"stats-{os.getpid()}.py"
    script.write_text("x = 1\n")
    try:
        for pid in (safe.pid, legacy.pid):
            out = _cli("exec", str(pid), str(script), "--json")
            assert out.returncode == 0, out.stdout + out.stderr
    finally:
        script.unlink()
    data = json.loads(_cli("log", "--stats", "--json").stdout)
    assert data["overall"]["attempts"] == 2 and data["overall"]["success_rate"] == 1.0
    assert set(data["by_path"]) == {"safe", "legacy"} and set(data["by_version"]) == {"3.13", "3.14"}
    assert data["legacy_minus_safe"]["p50_ms"] is not None
    text = _cli("log", "--stats")
    assert text.returncode == 0 and "legacy minus safe attach: P50" in text.stdout
    assert all(len(line) <= 80 for line in text.stdout.splitlines())
