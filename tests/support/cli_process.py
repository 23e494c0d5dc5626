"""`python -m app ARGS` as a user runs it: a clean PATH, a wide terminal, the test's private state dir.

Shared by the CLI's read-command tests, the unit ones (bad input) and the live ones (real targets)."""

from __future__ import annotations

import os
import subprocess
import sys

from repo_paths import REPO


def cli_env(**extra: str) -> dict[str, str]:
    """The environment the CLI runs in: a clean PATH and the test's private state dir, plus `extra`."""
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SAFEATTACH_STATE_DIR": os.environ["SAFEATTACH_STATE_DIR"],
            **extra}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120, env=cli_env(COLUMNS="200"))
