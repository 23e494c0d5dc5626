"""The real console over the live engine against a real target: the process appears, the attach succeeds."""

from __future__ import annotations

import time
import uuid

from live_targets import SID, TargetPool, require
from tui.helpers import select_pid, settle, static_text

from app.tui.app import SafeAttachApp
from app.tui.row_table import RowTable
from core.engine import LiveEngine


async def test_live_console_attach(targets: TargetPool) -> None:
    target = targets.spawn_script(require("3.14"), "sleepy.py")
    marker = f"/tmp/safeattach-console-{uuid.uuid4().hex}"
    script = SID / "tmp" / f"console-{uuid.uuid4().hex}.py"
    script.write_text(f"open({marker!r}, 'w').write('ran in console test')\n")
    try:
        app = SafeAttachApp(LiveEngine(), refresh_interval=0, spinners=False, default_script=str(script))
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            table = pilot.app.screen.query_one("#processes", RowTable)
            assert str(target.pid) in table.row_keys  # the process appears
            await select_pid(pilot, target.pid)
            await pilot.press("a")
            await pilot.press("ctrl+r")
            deadline = time.monotonic() + 30
            outcome = ""
            while time.monotonic() < deadline:
                await pilot.pause(0.05)
                outcome = static_text(pilot, "#outcome")
                if "attached" in outcome or "failed" in outcome:
                    break
            assert "attached" in outcome, outcome
            assert "MainThread" in outcome or str(target.pid) in outcome
        # the script ran inside the target, in its own filesystem view (the chroot)
        assert (SID / marker.lstrip("/")).read_text() == "ran in console test"
        assert target.alive()
    finally:
        script.unlink(missing_ok=True)
        (SID / marker.lstrip("/")).unlink(missing_ok=True)
