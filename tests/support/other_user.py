"""Act as another local user (a uid no account uses): what that user's process sees of ours.

Shared by the DAP bridge's unit tests and the endpoint-owner live tests."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

HOSTILE_UID = 64123  # a uid no account uses: the "other local user"


def run_as_other_user(code: str, *args: str, uid: int = HOSTILE_UID) -> str:
    """Run `code` with the host python as `uid` (no groups): what another local user sees."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to act as another user")
    proc = subprocess.run([setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "/usr/bin/python3", "-c",
                           code, *args], capture_output=True, text=True, timeout=30, cwd="/")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()
