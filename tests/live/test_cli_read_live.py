"""The CLI's ps/info as a user runs them on live targets: output, --json, exit codes, no tracebacks."""

from __future__ import annotations

import json

from cli_process import run_cli
from live_targets import TargetPool, require


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


def test_ps_json_includes_target(targets: TargetPool) -> None:
    target = targets.spawn_script(require("3.15"), "sleepy.py", env={"PYTHON_DISABLE_REMOTE_DEBUG": "1"})
    out = run_cli("ps", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["pid"]: r for r in json.loads(out.stdout)}
    row = rows[target.pid]
    assert row["version"].startswith("3.15.") and row["remote_debug_enabled"] is False and row["container"] is True
    text = run_cli("ps")
    assert str(target.pid) in text.stdout and "opted out" in text.stdout


def test_non_python_pid_exit_code(targets: TargetPool) -> None:
    other = targets.spawn(["sh", "-c", "echo ready; exec sleep 60"])
    out = run_cli("info", str(other.pid))
    assert out.returncode == 13 and "notPython" in out.stderr and "hint" in out.stderr
