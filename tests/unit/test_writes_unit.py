"""RequestWriter against a scripted memory: a target that takes the request the instant it is armed."""

from __future__ import annotations

import pytest
from repo_paths import DATA_DIR

from core.attach import writes
from core.attach.writes import RequestWriter
from core.errors import FailureKind, SafeAttachError
from core.offsets import parse_debug_offsets

OFF = parse_debug_offsets((DATA_DIR / "offsets/3.14.bin").read_bytes())
TSTATE = 0x1000


class ConsumingMemory:
    """Bytes at addresses; the pending flag is cleared by the 'target' as soon as it is written."""

    def __init__(self) -> None:
        self.data: dict[int, int] = {}

    def write(self, address: int, data: bytes) -> None:
        for i, b in enumerate(data):
            self.data[address + i] = b
        pending = TSTATE + OFF.remote_debugger_support + OFF.debugger_pending_call
        if address == pending:
            for i in range(4):
                self.data[pending + i] = 0  # taken at once

    def read(self, address: int, size: int) -> bytes:
        return bytes(self.data.get(address + i, 0) for i in range(size))

    def read_i32(self, address: int) -> int:
        return int.from_bytes(self.read(address, 4), "little", signed=True)


def writer(picked_up: object) -> RequestWriter:
    return RequestWriter(ConsumingMemory(), OFF, TSTATE, 0x20, picked_up=picked_up)  # type: ignore[arg-type]


def test_a_request_taken_at_once_is_not_a_failed_write() -> None:
    calls = iter([False, False, True])  # the loader claims it a moment after the flag was cleared
    w = writer(lambda: next(calls))
    assert w.write_pending()["address"] == w.pending_address


def test_a_flag_that_never_sticks_and_is_never_claimed_is_a_failed_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writes, "CONSUME_GRACE", 0.05)
    w = writer(lambda: False)
    with pytest.raises(SafeAttachError) as info:
        w.write_pending()
    assert info.value.kind is FailureKind.WRITE_PENDING and "reads back 0" in info.value.message
