"""The adapter's gate (core/payloads/in_target_adapter_gate.py, the adapter's sitecustomize) adds nothing to the
adapter's start-up that debugpy does not need: no `uname -p` child for debugpy's log header, no ipaddress
until the first connection is accepted. Checked in a fresh interpreter that loads the gate as debugpy's
adapter does, with an audit hook that sees every process it would start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from repo_paths import REPO

PROBE = """
import json, sys
started = []
sys.addaudithook(lambda event, args: started.append(event) if event in ("subprocess.Popen", "os.posix_spawn",
                                                                          "os.fork", "os.exec") else None)
had_ipaddress = "ipaddress" in sys.modules
import platform
platform.platform()  # what debugpy's log module asks as it is imported
print(json.dumps({"started": started, "had_ipaddress": had_ipaddress, "processor": platform.processor()}))
"""


def test_the_gate_starts_no_uname_child_and_loads_no_ipaddress(tmp_path: Path) -> None:
    gate = (REPO / "core" / "payloads" / "in_target_adapter_gate.py").read_text()
    (tmp_path / "sitecustomize.py").write_text(gate)
    marker = tmp_path / "installed"
    config = {"allowed": [os.geteuid()], "open": False, "idle": 60.0, "marker": str(marker), "pythonpath": "",
              "bytecode": None, "listening": None}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(tmp_path),
           "SAFEATTACH_ADAPTER_GATE": json.dumps(config)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert marker.exists()  # the gate is installed (it fails closed otherwise)
    got = json.loads(out.stdout)
    assert got["started"] == [], got  # platform() answered without running `uname -p`
    assert got["had_ipaddress"] is False, got
    assert got["processor"] == ""
