"""`safeattach log` after real attempts: what was recorded, filtering, and what is never recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from live_targets import SID, TargetPool, require
from repo_paths import REPO


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "SAFEATTACH_STATE_DIR": os.environ["SAFEATTACH_STATE_DIR"], "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120, env=env)


def test_log_records_attempts_without_secrets(targets: TargetPool) -> None:
    ok_target = targets.spawn_script(require("3.14"), "sleepy.py", env={"API_TOKEN": "s3cr3t-env"})
    opted_out = targets.spawn_script(require("3.15"), "sleepy.py", env={"PYTHON_DISABLE_REMOTE_DEBUG": "1"})
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    script = SID / "tmp" / f"log-{uuid.uuid4().hex}.py"
    script.write_text(f"token = {secret!r}\n")
    try:
        assert cli("exec", str(ok_target.pid), str(script), "--json").returncode == 0
        assert cli("exec", str(opted_out.pid), str(script), "--json").returncode == 20
    finally:
        script.unlink()
    out = cli("log", "--json")
    assert out.returncode == 0
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["pid"], r["result"]) for r in records] == [(ok_target.pid, "ok"), (opted_out.pid, "failed")]
    assert records[0]["target_version"].startswith("0x30e") and records[0]["thread_selection"] == "main"
    assert records[1]["failure_site"] == "policy" and records[1]["failure_kind"] == "policyDisabled"
    assert all(step["elapsed_ms"] >= 0 for step in records[0]["steps"])
    raw = (Path(os.environ["SAFEATTACH_STATE_DIR"]) / "attempts.jsonl").read_text()
    assert secret not in raw and "s3cr3t-env" not in raw and "API_TOKEN" not in raw
    failures = cli("log", "--json", "--failures")
    assert [json.loads(line)["pid"] for line in failures.stdout.splitlines()] == [opted_out.pid]
    table = cli("log")
    assert "3.14.10" in table.stdout or "3.14." in table.stdout
    assert "policyDisabled" in table.stdout and "2 attempt(s)" in table.stdout


def test_log_survives_a_corrupt_line() -> None:
    path = Path(os.environ["SAFEATTACH_STATE_DIR"]) / "attempts.jsonl"
    path.write_text('{"pid": 1, "result": "ok", "time": 0, "elapsed_ms": 1}\n{not json\n')
    out = cli("log")
    assert out.returncode == 0 and "1 corrupt line(s) skipped" in out.stdout
