"""The engine as one injectable data source: front ends depend on this protocol, tests swap in a fake."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from core.events import Event
from core.model import ProcessReport, ProcessSummary
from core.requests import AttachRequest, CancelToken

if TYPE_CHECKING:  # the task walker and the doctor (every check, the chain, the injector) load only when used
    from collections.abc import Iterator, Mapping, Sequence

    from core.doctor.model import Diagnosis
    from core.walk.model import ProcessStacks  # core.walk loads the reader: not at the console's first paint
    from core.walk.tasks import ProcessTasks


class EngineSource(Protocol):
    def list_processes(self) -> Sequence[ProcessSummary]:
        """Every Python process the caller may inspect, plus the ones it may not, with the reason."""
        ...

    def inspect(self, pid: int) -> ProcessReport:
        """Raises core.errors.SafeAttachError with a taxonomy kind when the process cannot be read."""
        ...

    def attach(self, request: AttachRequest, cancel: CancelToken) -> Iterator[Event]:
        """Yields Plan first, Outcome last; never raises."""
        ...

    def attempts(self) -> Sequence[Mapping[str, object]]:
        """The attempt log, oldest first: one JSON object per attempt."""
        ...

    def stacks(self, pid: int) -> ProcessStacks:
        """Every thread's Python stack, read-only (core.walk.snapshot); raises SafeAttachError like inspect."""
        ...

    def diagnose(self, pid: int) -> Diagnosis:
        """The doctor's read-only findings for an attach (core.doctor.diagnose); raises SafeAttachError only
        when the PID is no usable process."""
        ...

    def tasks(self, pid: int) -> ProcessTasks:
        """The asyncio tasks of a 3.14+ target, read-only (core.walk.tasks); raises SafeAttachError like
        inspect, with kind unsupportedVersion for a target before 3.14 or one without asyncio loaded."""
        ...
