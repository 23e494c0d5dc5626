"""The recorded `_Py_DebugOffsets` tables (tests/data/offsets) are what the provisioned binaries hold today: each
is read again from a live process of its interpreter."""

from __future__ import annotations

import pytest
from live_targets import TargetPool, require
from record_offsets import RECORDED, pyruntime_address, read_table
from repo_paths import DATA_DIR

from core.offsets import parse_debug_offsets


@pytest.mark.parametrize("name", RECORDED)
def test_recorded_blob_matches_live_process(name: str, targets: TargetPool) -> None:
    interp = require(name)
    target = targets.spawn_script(interp, "sleepy.py")
    live = read_table(target.pid, pyruntime_address(interp.host_path))
    recorded = (DATA_DIR / "offsets" / f"{name}.bin").read_bytes()
    assert live == recorded
    assert parse_debug_offsets(live).version == parse_debug_offsets(recorded).version
