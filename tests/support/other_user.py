"""Act as another local user (a uid no account uses): what that user's process sees of ours, and a fake target
root whose /tmp she may write. Shared by unit tests (bridge, planted files) and live ones (endpoint owner)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

HOSTILE_UID = 64123  # a uid no account uses: the "other local user"
AS_HOSTILE = ["setpriv", f"--reuid={HOSTILE_UID}", f"--regid={HOSTILE_UID}", "--clear-groups"]  # argv prefix


def run_as_other_user(code: str, *args: str, uid: int = HOSTILE_UID) -> str:
    """Run `code` with the host python as `uid` (no groups): what another local user sees."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to act as another user")
    proc = subprocess.run([setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "/usr/bin/python3", "-c",
                           code, *args], capture_output=True, text=True, timeout=30, cwd="/")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@contextmanager
def fake_target_root() -> Iterator[Path]:
    """A fake target root with a sticky world-writable /tmp, like a real one; removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="sa-root-"))
    root.chmod(0o755)
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def searchable_dir() -> Iterator[Path]:
    """A 0755 root-owned directory every uid may search (pytest's tmp_path is private to root); removed after."""
    d = Path(tempfile.mkdtemp(prefix="sa-script-"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


# the hostile user's side of a script-name race: swap argv[1]/script.py between her own file and a link to
# root's argv[2], atomically, until argv[1]/stop appears; prints "ready", then the number of swaps
SWAPPER = r"""
import os, sys, time
d, secret = sys.argv[1], sys.argv[2]
own = os.path.join(d, "own.py")
with open(own, "w") as f:
    f.write("harmless = True\n")
print("ready", flush=True)
end, i = time.monotonic() + 60, 0
while time.monotonic() < end and not os.path.exists(os.path.join(d, "stop")):
    # swap the script's name between her own file and a link to root's secret, atomically
    tmp = os.path.join(d, "next")
    os.symlink(secret if i % 2 else own, tmp)
    os.replace(tmp, os.path.join(d, "script.py"))
    i += 1
print(i, flush=True)
"""
