"""The bundled demo targets: real processes, started with a handshake, reaped on exit and on exceptions."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.demo import demo_targets
from app.tui.render import demo_tag


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.mark.live
def test_demo_targets_run_tagged_and_are_reaped() -> None:
    with demo_targets() as targets:
        assert [t.role for t in targets] == ["busy", "blocked", "disabled"]
        assert all(t.alive() for t in targets)
        assert [demo_tag(cmdline(t.pid)) for t in targets] == ["busy", "blocked", "disabled"]
        environ = Path(f"/proc/{targets[2].pid}/environ").read_bytes().split(b"\0")
        assert b"PYTHON_DISABLE_REMOTE_DEBUG=1" in environ
        assert b"PYTHON_DISABLE_REMOTE_DEBUG=1" not in Path(f"/proc/{targets[0].pid}/environ").read_bytes()
    assert all(t.proc.returncode is not None for t in targets)  # reaped, not just signalled


@pytest.mark.live
def test_demo_targets_are_reaped_on_exception() -> None:
    started = []
    with pytest.raises(RuntimeError, match="boom"), demo_targets(["blocked"]) as targets:
        started.extend(targets)
        raise RuntimeError("boom")
    assert started and all(t.proc.returncode is not None for t in started)
