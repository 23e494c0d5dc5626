"""Fault injection for tests: make any step fail, or any write be corrupted or only partly done."""

from __future__ import annotations

from collections.abc import Mapping

from core.attach.steps import Step
from core.errors import FailureKind
from core.records import dataclass

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

    @classmethod
    def failing(cls, step: str) -> FaultPlan:
        return cls(fail=frozenset({step}))

    @classmethod
    def corrupting(cls, step: str) -> FaultPlan:
        return cls(corrupt=frozenset({step}))

    @classmethod
    def partial_write(cls, step: str) -> FaultPlan:
        return cls(partial=frozenset({step}))
