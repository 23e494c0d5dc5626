"""Fault injection for tests: make any step fail, or any write be corrupted or only partly done."""

from __future__ import annotations

from core.records import dataclass

WRITE_STEPS = ("writeScript", "writePending", "writeBreaker")


@dataclass(frozen=True)
class FaultPlan:
    fail: frozenset[str] = frozenset()  # steps that fail as they start (write steps: before writing)
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
