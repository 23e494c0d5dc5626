"""Files in directories the target's uid can write (its /tmp/safeattach-UID, the request directory) are read
without following links or blocking, regular files only, capped: a planted FIFO cannot hold root."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from other_user import AS_HOSTILE, fake_target_root
from other_user import HOSTILE_UID as HOSTILE

from core.attach.guard import TargetLock
from core.errors import FailureKind, SafeAttachError
from core.loader import stage
from core.payloads.contract import PayloadSpec
from core.privdir import read_untrusted

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another uid")


@pytest.fixture
def hostile_root() -> Iterator[Path]:
    with fake_target_root() as root:
        yield root


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
