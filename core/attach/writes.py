"""The three PEP 768 writes, each read back and verified, and their rollback.

Order (as CPython's client): script path (NUL-terminated), pending flag = 1, then OR the per-version
"please stop" bit into the thread's eval_breaker, so the target never sees pending=1 with a half path.
`rollback`/`disarm` restore the target: pending = 0, the bit cleared if we set it, the old path bytes back.
The eval_breaker update is a read-modify-write from another process (like CPython's own client); we only
ever touch our one bit.
"""

from __future__ import annotations

import time

from core.attach.steps import Step
from core.errors import FailureKind, SafeAttachError
from core.memory import ProcessMemory
from core.offsets import DebugOffsets
from core.records import dataclass

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from core.attach.faults import FaultPlan
    from core.results import BreakerWritten, PendingWritten, ScriptWritten

CONSUME_GRACE = 2.0  # seconds for a loader the target already started to claim its request



@dataclass
class RequestWriter:
    mem: ProcessMemory
    offsets: DebugOffsets
    tstate: int
    please_stop: int
    faults: FaultPlan | None = None  # tests only (core.attach.faults loads only with a plan)
    picked_up: Callable[[], bool] = lambda: False  # True once the loader claimed the request
    old_path: bytes = b""
    path_written: int = 0  # bytes of the path buffer we may have changed
    pending_touched: bool = False
    bit_set_by_us: bool = False
    breaker_before: int = 0
    breaker_diff: int = 0  # bits of eval_breaker we may have changed

    @property
    def path_address(self) -> int:
        return self.tstate + self.offsets.remote_debugger_support + self.offsets.debugger_script_path

    @property
    def pending_address(self) -> int:
        return self.tstate + self.offsets.remote_debugger_support + self.offsets.debugger_pending_call

    @property
    def breaker_address(self) -> int:
        return self.tstate + self.offsets.eval_breaker

    @property
    def path_size(self) -> int:
        return self.offsets.debugger_script_path_size

    def _write(self, step: Step, address: int, data: bytes) -> bytes:
        """Write `data` (or what the fault plan makes of it); returns the bytes actually written."""
        if self.faults is not None:
            return self.faults.write(self.mem, step, address, data)
        self.mem.write(address, data)
        return data

    # -- the writes -----------------------------------------------------------------------------------
    def write_script(self, path: bytes) -> ScriptWritten:
        if len(path) >= self.path_size:
            raise SafeAttachError(
                FailureKind.WRITE_SCRIPT,
                f"script path is {len(path)} bytes; the target's buffer holds {self.path_size - 1} plus NUL",
                detail={"truncated": True, "path_bytes": len(path), "limit": self.path_size - 1},
            )
        if b"\0" in path:
            raise SafeAttachError(FailureKind.WRITE_SCRIPT, "script path contains a NUL byte")
        data = path + b"\0"
        self.old_path = self.mem.read(self.path_address, self.path_size)
        self.path_written = len(data)
        self._write(Step.WRITE_SCRIPT, self.path_address, data)
        back = self.mem.read(self.path_address, len(data))
        if back != data:
            raise SafeAttachError(FailureKind.WRITE_SCRIPT, "the script path read back differs from what was written")
        return {"address": self.path_address, "bytes": len(data), "limit": self.path_size - 1, "truncated": False}

    def write_pending(self) -> PendingWritten:
        self.pending_touched = True
        self._write(Step.WRITE_PENDING, self.pending_address, (1).to_bytes(4, "little"))
        value = self.mem.read_i32(self.pending_address)
        if value != 1 and not (value == 0 and self._consumed()):
            raise SafeAttachError(FailureKind.WRITE_PENDING, f"pending flag reads back {value}, expected 1")
        return {"address": self.pending_address}

    def write_breaker(self) -> BreakerWritten:
        before = self.mem.read_u64(self.breaker_address)
        if before & self.please_stop:
            return {"address": self.breaker_address, "mask": self.please_stop, "already_set": True}
        self.bit_set_by_us = True
        self.breaker_before = before
        # until the write is known, assume our bit is all we may change (a partial write changes less)
        self.breaker_diff = self.please_stop
        wanted = before | self.please_stop
        written = self._write(Step.WRITE_BREAKER, self.breaker_address, wanted.to_bytes(8, "little"))
        self.breaker_diff = int.from_bytes(written, "little") ^ before  # exactly the bits we changed
        after = self.mem.read_u64(self.breaker_address)
        # the target clears the bit itself as soon as it handles the request, and the pending flag a moment
        # later (after it stopped and re-attached the thread): only a bit that stays unset with the request
        # untaken means the write did not land
        if not after & self.please_stop and not self._taken():
            raise SafeAttachError(FailureKind.WRITE_BREAKER, "the eval-breaker bit reads back unset")
        return {"address": self.breaker_address, "mask": self.please_stop, "already_set": False}

    def _consumed(self) -> bool:
        """A flag that reads back 0 right after we set it: the target may already have taken the request
        (it clears the flag before running the loader, which claims the request a moment later)."""
        deadline = time.monotonic() + CONSUME_GRACE
        while not self.picked_up():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    def _taken(self) -> bool:
        """The request was taken (pending back to 0, or the loader claimed it) within CONSUME_GRACE."""
        deadline = time.monotonic() + CONSUME_GRACE
        while self.mem.read_i32(self.pending_address) != 0 and not self.picked_up():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    # -- undo -----------------------------------------------------------------------------------------
    def disarm(self) -> list[str]:
        """pending = 0 and our bit cleared; the path stays (the loader is withdrawn separately)."""
        done: list[str] = []
        if self.pending_touched:
            self.mem.write(self.pending_address, b"\0\0\0\0")
            if self.mem.read_i32(self.pending_address) != 0:
                raise SafeAttachError(FailureKind.INTERNAL, "could not clear the pending flag")
            done.append("pending flag cleared")
        if self.bit_set_by_us:
            value = self.mem.read_u64(self.breaker_address)
            restored = (value & ~self.breaker_diff) | (self.breaker_before & self.breaker_diff)
            if restored != value:
                self.mem.write(self.breaker_address, restored.to_bytes(8, "little"))
                done.append("eval-breaker bit cleared")
        return done

    def rollback(self) -> list[str]:
        """Undo every write so the target holds no half request: disarm, then restore the old path bytes."""
        done = self.disarm()
        if self.path_written and self.old_path:
            n = self.path_written
            self.mem.write(self.path_address, self.old_path[:n])
            if self.mem.read(self.path_address, n) != self.old_path[:n]:
                raise SafeAttachError(FailureKind.INTERNAL, "could not restore the script path buffer")
            done.append("script path restored")
        return done
