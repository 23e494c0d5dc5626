"""Fault injection for tests: make any step fail, or any write be corrupted or only partly done.

Loaded only by an attempt that was given a plan (tests): the chain and its writer take `None` for "no faults",
so a real attach never imports this module."""

from __future__ import annotations

from core.attach.steps import Step
from core.errors import FailureKind, SafeAttachError
from core.records import dataclass

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.memory import ProcessMemory

# The kind a step's injected fault fails with: the failure that step reports for real (the write steps fail
# inside RequestWriter, with their own kinds); a step without a failure of its own fails as internal.
FAULT_KINDS: Mapping[Step, FailureKind] = {
    Step.OPEN_PROCESS: FailureKind.OPEN_PROCESS,
    Step.OFFSETS_RESOLVE: FailureKind.OFFSETS_RESOLVE,
    Step.PARSE: FailureKind.PARSE,
    Step.THREAD_STATE: FailureKind.THREAD_STATE,
    Step.WRITE_SCRIPT: FailureKind.WRITE_SCRIPT,
    Step.WRITE_PENDING: FailureKind.WRITE_PENDING,
    Step.WRITE_BREAKER: FailureKind.WRITE_BREAKER,
}


@dataclass(frozen=True)
class FaultPlan:
    fail: frozenset[str] = frozenset()  # steps (ids) that fail as they start (write steps: before writing)
    corrupt: frozenset[str] = frozenset()  # write steps whose bytes are altered (read-back must catch it)
    partial: frozenset[str] = frozenset()  # write steps that write only the first half, then fail
    pad_script_path: int = 0  # lengthen the staged script path by this many bytes (over-long path tests)

    def check_step(self, step: Step) -> None:
        """Fail a step that is not a write (the writes fail inside `write`, with their own kinds)."""
        if step in self.fail:
            raise SafeAttachError(FAULT_KINDS.get(step, FailureKind.INTERNAL), f"injected fault: {step} failed")

    def write(self, mem: ProcessMemory, step: Step, address: int, data: bytes) -> bytes:
        """Write `data` as the plan makes it (refused, half written, or with its first byte flipped); returns
        the bytes actually written."""
        if step in self.fail:
            raise SafeAttachError(FAULT_KINDS[step], f"injected fault: {step} failed before writing")
        if step in self.partial:
            mem.write(address, data[: max(1, len(data) // 2)])
            raise SafeAttachError(FAULT_KINDS[step], f"injected fault: {step} wrote only part of its bytes")
        if step in self.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        mem.write(address, data)
        return data

    @classmethod
    def failing(cls, step: str) -> FaultPlan:
        return cls(fail=frozenset({step}))

    @classmethod
    def corrupting(cls, step: str) -> FaultPlan:
        return cls(corrupt=frozenset({step}))

    @classmethod
    def partial_write(cls, step: str) -> FaultPlan:
        return cls(partial=frozenset({step}))
