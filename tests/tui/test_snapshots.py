"""SVG snapshots of every screen at 80x24 and 120x36 (update with --snapshot-update, then review)."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from .screenshots import SCENARIOS, console_for_screenshots

SIZES = {"80x24": (80, 24), "120x36": (120, 36)}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCENARIOS)
def test_screen_snapshot(snap_compare: object, screen: str, size: str) -> None:
    app = console_for_screenshots()

    async def run_before(pilot: Pilot[int]) -> None:
        await SCENARIOS[screen](pilot)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)  # type: ignore[operator]
