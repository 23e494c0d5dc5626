"""The bundled demo targets are real processes, started with a handshake, reaped on exit and on exceptions; as root
with no python on PATH they run on the provisioned sid chroot's (the choice itself: tests/tui/test_demo.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.demo import demo_targets, find_interpreter
from app.render.words import demo_tag


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_demo_targets_run_tagged_and_are_reaped() -> None:
    with demo_targets() as targets:
        assert [t.role for t in targets] == ["busy", "blocked", "disabled"]
        assert all(t.alive() for t in targets)
        assert [demo_tag(cmdline(t.pid)) for t in targets] == ["busy", "blocked", "disabled"]
        environ = Path(f"/proc/{targets[2].pid}/environ").read_bytes().split(b"\0")
        assert b"PYTHON_DISABLE_REMOTE_DEBUG=1" in environ
        assert b"PYTHON_DISABLE_REMOTE_DEBUG=1" not in Path(f"/proc/{targets[0].pid}/environ").read_bytes()
    assert all(t.proc.returncode is not None for t in targets)  # reaped, not just signalled


def test_demo_targets_are_reaped_on_exception() -> None:
    started = []
    with pytest.raises(RuntimeError, match="boom"), demo_targets(["blocked"]) as targets:
        started.extend(targets)
        raise RuntimeError("boom")
    assert started and all(t.proc.returncode is not None for t in started)


def test_with_no_python_on_path_the_provisioned_chroot_is_used(tmp_path: Path) -> None:
    from live_targets import require

    if os.geteuid() != 0:
        pytest.skip("the provisioned chroot is used as root only")
    interp = require("3.15")
    chosen = find_interpreter(str(tmp_path / "empty"))
    assert chosen is not None and chosen.label == "python3.15 (sid chroot)"
    assert chosen.argv == ("chroot", str(interp.root), "/usr/bin/python3.15")
