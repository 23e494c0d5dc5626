"""The user's script is read as the target would read it, once: directory permissions count, symlinks are
resolved one checked step at a time, and a hostile target owner swapping links cannot get a root-only file
copied into her process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from other_user import HOSTILE_UID as HOSTILE
from other_user import SWAPPER

from core.attach import script as script_mod
from core.attach.script import check_script
from core.errors import FailureKind, SafeAttachError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to judge files for another uid")
SECRET = b"root-only secret\n"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A root file in a 0700 directory: mode 0644 on the file, yet unreachable for other uids."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    path = private / "secret.py"
    path.write_bytes(SECRET)
    path.chmod(0o644)
    return path


NO_PID = 2**22 + 4321  # no /proc/PID/status: the uid and gid given are the target's whole identity


def _check(path: Path | str, uid: int = HOSTILE) -> bytes:
    return check_script(str(path), NO_PID, "/nonexistent-root", uid, uid).content


def _refused(path: Path | str, uid: int = HOSTILE) -> SafeAttachError:
    with pytest.raises(SafeAttachError) as info:
        _check(path, uid)
    assert info.value.kind is FailureKind.SCRIPT_UNREADABLE
    assert str(path) in info.value.message or str(path) in str(info.value.detail.get("script"))
    return info.value


def test_readable_script_in_searchable_dirs(shared: Path) -> None:
    path = shared / "ok.py"
    path.write_text("print(1)\n")
    path.chmod(0o644)
    assert _check(path) == b"print(1)\n"


def test_directory_permissions_count(secret: Path) -> None:
    err = _refused(secret)
    assert "may not search the directory" in err.message and "mode 700" in err.message
    assert _check(secret, uid=0) == SECRET  # a root target may read it


def test_file_mode_and_owner_checked(shared: Path) -> None:
    path = shared / "mine.py"
    path.write_bytes(b"x = 1\n")
    path.chmod(0o600)
    err = _refused(path)
    assert "cannot read" in err.message and "mode 600" in err.message and "owner uid 0" in err.message
    os.chown(path, HOSTILE, HOSTILE)  # the target's own 0600 file is fine
    assert _check(path) == b"x = 1\n"


def test_symlink_is_followed_only_through_checked_steps(shared: Path, secret: Path) -> None:
    readable = shared / "real.py"
    readable.write_bytes(b"y = 2\n")
    readable.chmod(0o644)
    (shared / "good.py").symlink_to("real.py")
    (shared / "bad.py").symlink_to(secret)
    (shared / "loop.py").symlink_to("loop.py")
    assert _check(shared / "good.py") == b"y = 2\n"
    assert "may not search" in _refused(shared / "bad.py").message
    assert "too many symbolic links" in _refused(shared / "loop.py").message


def test_fifo_and_directory_refused_without_blocking(shared: Path) -> None:
    fifo = shared / "fifo.py"
    os.mkfifo(fifo, 0o666)
    t0 = time.monotonic()
    assert "not a regular file" in _refused(fifo).message
    assert "not a regular file" in _refused(shared).message
    assert time.monotonic() - t0 < 2


def test_size_cap(shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(script_mod, "MAX_SCRIPT_BYTES", 10)
    path = shared / "big.py"
    path.write_bytes(b"#" * 11)
    path.chmod(0o644)
    assert "larger than 10 bytes" in _refused(path).message


def test_missing_script_names_the_path(shared: Path) -> None:
    assert "does not exist" in _refused(shared / "nope.py").message


def test_symlink_swap_race_never_leaks_the_secret(shared: Path) -> None:
    """The hostile target owner swaps her script's name between her own file and a link to root's 0600
    file while root checks it 150 times: the secret is never returned."""
    secret = shared / "secret.py"
    secret.write_bytes(SECRET)
    secret.chmod(0o600)
    attack = Path(tempfile.mkdtemp(prefix="sa-race-"))
    os.chown(attack, HOSTILE, HOSTILE)
    attack.chmod(0o755)
    helper = subprocess.Popen(
        ["setpriv", f"--reuid={HOSTILE}", f"--regid={HOSTILE}", "--clear-groups", sys.executable, "-c", SWAPPER,
         str(attack), str(secret)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outcomes = {"copied_own": 0, "refused_secret": 0, "refused_other": 0}
    try:
        assert helper.stdout is not None
        assert helper.stdout.readline().strip() == "ready"
        for _ in range(150):
            try:
                content = _check(attack / "script.py")
            except SafeAttachError as exc:
                outcomes["refused_secret" if "cannot read" in exc.message else "refused_other"] += 1
                continue
            assert content != SECRET, "root's secret was copied for the hostile uid"
            assert content == b"harmless = True\n"
            outcomes["copied_own"] += 1
        (attack / "stop").touch()
        out, err = helper.communicate(timeout=70)
        assert helper.returncode == 0, err
        swaps = int(out.split()[-1])
    finally:
        if helper.poll() is None:
            helper.kill()
            helper.wait(timeout=10)
        shutil.rmtree(attack, ignore_errors=True)
    print(f"race: 150 checks during {swaps} swaps: {outcomes}")
    assert outcomes["refused_secret"] > 0 and outcomes["copied_own"] > 0, outcomes
