"""Files in directories the target's uid can write (its /tmp/safeattach-UID, the request directory) are read
without following links or blocking, regular files only, capped: a planted FIFO cannot hold root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_targets import SID, Target, TargetPool, require
from repo_paths import REPO, TARGETS_DIR

from core.attach.guard import TargetLock
from core.errors import FailureKind, SafeAttachError
from core.loader import stage
from core.payloads.contract import PayloadSpec
from core.privdir import read_untrusted

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another uid")
HOSTILE = 64123
AS_HOSTILE = ["setpriv", f"--reuid={HOSTILE}", f"--regid={HOSTILE}", "--clear-groups"]


@pytest.fixture
def hostile_root() -> Iterator[Path]:
    """A fake target root with a sticky world-writable /tmp, like a real one."""
    root = Path(tempfile.mkdtemp(prefix="sa-root-"))
    root.chmod(0o755)
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_read_untrusted_refuses_fifo_link_and_oversize(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.mkfifo(tmp_path / "fifo")
        (tmp_path / "big").write_bytes(b"x" * 11)
        (tmp_path / "ok").write_bytes(b"0123456789")
        (tmp_path / "link").symlink_to(tmp_path / "ok")
        t0 = time.monotonic()
        for name, why in (("fifo", "not a regular file (a FIFO)"), ("link", "is a symlink"),
                          ("big", "larger than 10 bytes")):
            with pytest.raises(SafeAttachError) as info:
                read_untrusted(fd, name, 10)
            assert info.value.kind is FailureKind.PAYLOAD and why in info.value.message
        assert time.monotonic() - t0 < 1
        assert read_untrusted(fd, "ok", 10) == b"0123456789"
        assert read_untrusted(fd, "absent", 10) is None
    finally:
        os.close(fd)


def test_fifo_result_in_request_dir_fails_fast(hostile_root: Path) -> None:
    """The target's uid owns the request directory and plants result.json as a FIFO: polling refuses it."""
    req = stage(str(hostile_root), HOSTILE, HOSTILE, PayloadSpec("t", "def run(p, c):\n    return 1\n"),
                expires_in=60)
    try:
        subprocess.run([*AS_HOSTILE, "mkfifo", req.pdir.host_file("result.json")], check=True, timeout=10)
        t0 = time.monotonic()
        with pytest.raises(SafeAttachError) as info:
            req.wait(30)
        assert time.monotonic() - t0 < 1
        assert "result.json" in info.value.message and "FIFO" in info.value.message
    finally:
        req.cleanup()


def test_fifo_lock_file_is_refused(hostile_root: Path) -> None:
    base = hostile_root / "tmp" / f"safeattach-{HOSTILE}"
    base.mkdir(mode=0o700)
    os.chown(base, HOSTILE, HOSTILE)
    lock = TargetLock(str(hostile_root), HOSTILE, HOSTILE, 4242, 99)
    subprocess.run([*AS_HOSTILE, "mkfifo", str(base / lock.name)], check=True, timeout=10)
    t0 = time.monotonic()
    with pytest.raises(SafeAttachError) as info:
        lock.acquire(30, None, lambda _line: None)
    assert time.monotonic() - t0 < 1
    assert info.value.kind is FailureKind.BUSY and "not a regular file" in info.value.message


PLANTER = r"""
import os, sys, time
base, deadline = sys.argv[1], time.monotonic() + 30
print("ready", flush=True)
while time.monotonic() < deadline:
    try:
        names = os.listdir(base)
    except OSError:  # not there yet, or still root's for a moment before it is handed to her uid
        continue
    for name in names:
        if not name.endswith(".lock"):
            try:
                os.mkfifo(os.path.join(base, name, "result.json"))
            except OSError:
                continue
            print("planted " + name, flush=True)
            sys.exit(0)
sys.exit(1)
"""


def test_planted_fifo_does_not_hold_roots_exec(targets: TargetPool, hostile_root: Path) -> None:
    """Root's `exec --timeout 2` against the hostile user's blocked process returns in bounded time."""
    interp = require("3.14")
    source = (TARGETS_DIR / "blocked.py").read_text()
    target: Target = targets.spawn(["chroot", str(SID), *AS_HOSTILE, interp.argv0, "-c", source], interp)
    base = f"/proc/{target.pid}/root/tmp/safeattach-{HOSTILE}"  # her own process: she may look there
    planter = targets.spawn([*AS_HOSTILE, sys.executable, "-c", PLANTER, base])
    script = hostile_root / "s.py"  # in directories her uid may search
    script.write_text("x = 1\n")
    script.chmod(0o644)
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "app", "exec", str(target.pid), str(script), "--timeout", "2",
                          "--method", "safe", "--json"], capture_output=True, text=True, cwd=REPO, timeout=60)
    elapsed = time.monotonic() - t0
    outcome = json.loads(out.stdout.splitlines()[-1])
    planted = planter.read_line(timeout=5)
    assert planted.startswith("planted ")
    print(f"planted FIFO: exec --timeout 2 returned {outcome['kind']} in {elapsed:.2f}s")
    assert elapsed < 10, elapsed
    # refused as soon as it was seen, or (if planted after the last poll) a plain timeout
    assert outcome["kind"] in ("payload", "timeoutRun"), outcome
    assert out.returncode in (50, 27)
    assert "Traceback" not in out.stderr
    assert target.alive()


@pytest.mark.parametrize("planted", ["root-owned", "wrong-mode", "symlink"])
def test_precreated_base_dir_hint_names_path_owner_and_fix(hostile_root: Path, planted: str) -> None:
    from core.privdir import create_private_dir

    base = hostile_root / "tmp" / f"safeattach-{HOSTILE}"
    if planted == "symlink":
        base.symlink_to("/etc")
    else:
        base.mkdir()
        base.chmod(0o755 if planted == "root-owned" else 0o777)
        if planted == "wrong-mode":
            os.chown(base, HOSTILE, HOSTILE)
    with pytest.raises(SafeAttachError) as info:
        create_private_dir(str(hostile_root), HOSTILE, HOSTILE)
    err = info.value
    assert err.kind is FailureKind.WRITE_SCRIPT and str(base) in err.message
    assert f"rm -rf {base}" in err.hint and f"(the target sees /tmp/safeattach-{HOSTILE})" in err.hint
    expected = {"root-owned": ("a directory", "root (uid 0)", "mode 0755"),
                "wrong-mode": ("a directory", f"(uid {HOSTILE})", "mode 0777"),
                "symlink": ("a symlink to '/etc'", "root (uid 0)", "mode 0777")}[planted]
    for needle in expected:
        assert needle in err.hint, err.hint
    assert Path("/etc/passwd").exists() and not (hostile_root / "etc").exists()


OTHER = 64124  # not HOSTILE: the sid chroot's /tmp is shared with other test runs


def test_precreated_base_dir_live_exec_hint(targets: TargetPool) -> None:
    interp = require("3.14")
    source = (TARGETS_DIR / "sleepy.py").read_text()
    as_other = ["setpriv", f"--reuid={OTHER}", f"--regid={OTHER}", "--clear-groups"]
    target = targets.spawn(["chroot", str(SID), *as_other, interp.argv0, "-c", source], interp)
    base = SID / "tmp" / f"safeattach-{OTHER}"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(mode=0o755)
    try:
        out = subprocess.run([sys.executable, "-m", "app", "exec", str(target.pid), "/etc/hostname", "--timeout",
                              "2"], capture_output=True, text=True, cwd=REPO, timeout=60, env={**os.environ,
                              "COLUMNS": "300"})
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert out.returncode == 24, out.stdout + out.stderr
    text = " ".join((out.stdout + out.stderr).split())
    path = f"/proc/{target.pid}/root/tmp/safeattach-{OTHER}"  # reaches the target's /tmp from any view
    assert f"Remove it (as root): rm -rf {path}" in text and "owned by root (uid 0), mode 0755" in text, text
    assert f"(the target sees /tmp/safeattach-{OTHER})" in text
    assert target.alive()
