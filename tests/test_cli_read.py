"""The CLI's ps/info as a user runs them: output, --json, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from live_targets import TargetPool, require
from repo_paths import REPO


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "COLUMNS": "200",
                               "SAFEATTACH_STATE_DIR": os.environ["SAFEATTACH_STATE_DIR"]})


@pytest.mark.live
def test_info_json_and_text(targets: TargetPool) -> None:
    target = targets.spawn_script(require("3.14"), "many_threads.py")
    out = run_cli("info", str(target.pid), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["summary"]["version"].startswith("3.14.")
    assert data["summary"]["version_source"] == "Py_Version symbol"
    assert data["summary"]["pep768_capable"] is True and data["summary"]["remote_debug_enabled"] is True
    sections = data["offsets"]["sections"]
    assert sections["debugger_support"]["debugger_script_path_size"]["value"] == 512
    assert len(data["threads"]) == 9
    text = run_cli("info", str(target.pid))
    assert text.returncode == 0
    for needle in ("Py_Version symbol", "_Py_DebugOffsets 3.14", "debugger_script_path_size", "9 thread state"):
        assert needle in text.stdout


@pytest.mark.live
def test_ps_json_includes_target(targets: TargetPool) -> None:
    target = targets.spawn_script(require("3.15"), "sleepy.py", env={"PYTHON_DISABLE_REMOTE_DEBUG": "1"})
    out = run_cli("ps", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["pid"]: r for r in json.loads(out.stdout)}
    row = rows[target.pid]
    assert row["version"].startswith("3.15.") and row["remote_debug_enabled"] is False and row["container"] is True
    text = run_cli("ps")
    assert str(target.pid) in text.stdout and "opted out" in text.stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("info", "4194304"), 10, "noSuchProcess"),
        (("info", "0"), 10, "not a valid PID"),
        (("info", "4194304", "--json"), 10, '"kind": "noSuchProcess"'),
    ],
)
def test_bad_input_exit_codes(args: tuple[str, ...], code: int, needle: str) -> None:
    out = run_cli(*args)
    assert out.returncode == code
    assert needle in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_non_python_pid_exit_code(targets: TargetPool) -> None:
    other = targets.spawn(["sh", "-c", "echo ready; exec sleep 60"])
    out = run_cli("info", str(other.pid))
    assert out.returncode == 13 and "notPython" in out.stderr and "hint" in out.stderr


def test_usage_error() -> None:
    out = run_cli("info", "not-a-pid")
    assert out.returncode == 2 and "invalid int value" in out.stderr
