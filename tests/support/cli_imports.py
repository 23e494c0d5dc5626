"""What one CLI run imports, counted in a fresh process (never timed): the start-up weight checks of the import
contract tests, unit (help, error paths) and live (a real target, cold and warm ELF cache)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from repo_paths import REPO

PROBE = """
import sys
before = set(sys.modules)
from app.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
new = sorted(set(sys.modules) - before)  # before the probe's own json
import json
import os
with open(os.environ["SA_PROBE_OUT"], "w") as out:
    json.dump({"code": code, "new": new}, out)
"""


UI = ("rich", "textual")


def cli_run(tmp_path: Path, *args: str) -> tuple[object, list[str], str]:
    """(exit code, modules imported beyond the interpreter's own start-up, stdout) of one CLI run in a fresh
    process."""
    out = tmp_path / "probe.json"
    out.unlink(missing_ok=True)
    env = {**os.environ, "SA_PROBE_OUT": str(out), "SAFEATTACH_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120, env=env)
    assert out.exists(), done.stderr
    data = json.loads(out.read_text())
    return data["code"], data["new"], done.stdout


def cli_imports(tmp_path: Path, *args: str) -> tuple[object, list[str]]:
    """(exit code, modules imported beyond the interpreter's own start-up) of one CLI run in a fresh process."""
    code, new, _stdout = cli_run(tmp_path, *args)
    return code, new


def fresh_stdout(code: str) -> str:
    """What `code` prints, run in a fresh interpreter from the repo root (it must exit 0)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def roots(modules: list[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}

# What the common command lines never import (each costs 1-5 ms of a 20-40 ms run): argparse (app.cli.quick_args
# parses them), typing (TYPE_CHECKING is a module constant), pathlib (os.path and procfs.read_text),
# dataclasses and inspect (core.records). The read-only commands do not load ctypes either (memory is read
# through /proc/PID/mem; only writes call process_vm_writev).
HOT_PATH_NEVER = {"argparse", "typing", "pathlib", "dataclasses", "inspect"}
# modules each warm command may import beyond the interpreter's start-up;
# measured when this was written: exec 57 (77 before core.enums and no collections.abc at run time, 83 before
# the fault plans, the legacy step, core.text and the usage-error printer left its path), info 39, stack 48
# (neither json nor re: core.json_writer), attach 119 (a fresh debugpy server in a chrooted 3.14 target: its
# adapter spawned with subprocess, the debugpy copy's signature with hashlib; 102 on a missing pid)
HOT_PATH_BUDGET = {"exec": 64, "info": 45, "stack": 55, "attach": 125}
