"""The attach chain's steps: each one's stable id (its value, written to the JSON output and the attempt log),
the title a person reads, and the group of steps it belongs to. Front ends take titles and groups from here.

A step is not a failure kind (core.errors.FailureKind): a step fails with whatever kind the failure has.
Kept free of heavy imports: every attach and every renderer imports it.
"""

from __future__ import annotations

from core.enums import Enum


class StepGroup(str, Enum):
    """Which part of an attempt a step belongs to."""

    CHECK = "check"  # read the target and check its policy: nothing is written
    SAFE = "safe"  # the PEP 768 request: choose a thread state, write the three fields
    LEGACY = "legacy"  # injection (ptrace by default, gdb on request), directly or as the fallback
    CONFIRM = "confirm"  # wait for the loader's report: the payload ran, or it did not
    DEBUGGER = "debugger"  # the debugpy server: reuse one started earlier, check the one started now
    ATTEMPT = "attempt"  # the attempt as a whole, not one of its steps (rollback after an internal error)

    def __str__(self) -> str:  # the value, on every Python (3.11 changed what str() and format() give mixins)
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return str.__format__(self, spec)

    @property
    def title(self) -> str:  # type: ignore[override]  # a group's title is what people read, not str.title()
        return _GROUP_TITLES[self]


class Step(str, Enum):
    """One step of an attempt, in chain order. The value is the stable id; `title` and `group` describe it."""

    REATTACH_CACHE = "reattachCache"
    OPEN_PROCESS = "openProcess"
    OFFSETS_RESOLVE = "offsetsResolve"
    PARSE = "parse"
    POLICY = "policy"
    THREAD_STATE = "threadState"
    WRITE_SCRIPT = "writeScript"
    WRITE_PENDING = "writePending"
    WRITE_BREAKER = "writeBreaker"
    LEGACY_INJECT = "legacyInject"
    AWAIT_RUN = "awaitRun"
    LEGACY_FALLBACK = "legacyFallback"
    LEGACY_AWAIT = "legacyAwait"
    DEBUGPY_READY = "debugpyReady"
    INTERNAL = "internal"  # where the rollback after an unexpected error reports (no step was running)

    def __str__(self) -> str:  # the value, as StepGroup
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return str.__format__(self, spec)

    @property
    def title(self) -> str:  # type: ignore[override]  # a step's title is what people read, not str.title()
        return _TITLES[self]

    @property
    def group(self) -> StepGroup:
        return _GROUPS[self]


_GROUP_TITLES: dict[StepGroup, str] = {
    StepGroup.CHECK: "Read and check the target",
    StepGroup.SAFE: "Safe attach (PEP 768)",
    StepGroup.LEGACY: "Legacy injection",
    StepGroup.CONFIRM: "Confirm it ran",
    StepGroup.DEBUGGER: "Debugger",
    StepGroup.ATTEMPT: "The attempt",
}

_TITLES: dict[Step, str] = {
    Step.REATTACH_CACHE: "Look for a debugpy server started earlier",
    Step.OPEN_PROCESS: "Open the process",
    Step.OFFSETS_RESOLVE: "Locate the CPython runtime",
    Step.PARSE: "Read _Py_DebugOffsets",
    Step.POLICY: "Check the target's remote-debug policy",
    Step.THREAD_STATE: "Choose a thread state",
    Step.WRITE_SCRIPT: "Write the script path",
    Step.WRITE_PENDING: "Set the pending-call flag",
    Step.WRITE_BREAKER: "Set the eval-breaker bit",
    Step.LEGACY_INJECT: "Inject at a safe point (legacy)",
    Step.AWAIT_RUN: "Wait for the target to run it",
    Step.LEGACY_FALLBACK: "Fall back to legacy injection",
    Step.LEGACY_AWAIT: "Wait for the injected loader's report",
    Step.DEBUGPY_READY: "Check the debugpy server",
    Step.INTERNAL: "Roll back after an internal error",
}

_G = StepGroup
_GROUPS: dict[Step, StepGroup] = {
    Step.REATTACH_CACHE: _G.DEBUGGER,
    Step.OPEN_PROCESS: _G.CHECK,
    Step.OFFSETS_RESOLVE: _G.CHECK,
    Step.PARSE: _G.CHECK,
    Step.POLICY: _G.CHECK,
    Step.THREAD_STATE: _G.SAFE,
    Step.WRITE_SCRIPT: _G.SAFE,
    Step.WRITE_PENDING: _G.SAFE,
    Step.WRITE_BREAKER: _G.SAFE,
    Step.LEGACY_INJECT: _G.LEGACY,
    Step.AWAIT_RUN: _G.CONFIRM,
    Step.LEGACY_FALLBACK: _G.LEGACY,
    Step.LEGACY_AWAIT: _G.CONFIRM,
    Step.DEBUGPY_READY: _G.DEBUGGER,
    Step.INTERNAL: _G.ATTEMPT,
}

# the steps that arm a PEP 768 request (skipped when legacy injection is the method), and its three writes
SAFE_STEPS = (Step.THREAD_STATE, Step.WRITE_SCRIPT, Step.WRITE_PENDING, Step.WRITE_BREAKER)
WRITE_STEPS = (Step.WRITE_SCRIPT, Step.WRITE_PENDING, Step.WRITE_BREAKER)
# after a safe attach that reached no safe point in time (Method.AUTO): inject instead, then wait for that
FALLBACK_STEPS = (Step.LEGACY_FALLBACK, Step.LEGACY_AWAIT)
