"""The live engine: the EngineSource the front ends use against real processes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.inspect import inspect_process, list_python_processes

# annotations only: importing core.doctor.model runs the doctor package's facade, which loads every check, the
# attach chain and the injector (70 ms), and the console lists processes as soon as this module is imported
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from core.doctor.model import Diagnosis
    from core.events import Event
    from core.model import ProcessReport, ProcessSummary
    from core.requests import AttachRequest, CancelToken
    from core.walk.model import ProcessStacks
    from core.walk.tasks import ProcessTasks


class LiveEngine:
    """Implements core.source.EngineSource over real processes."""

    def list_processes(self) -> Sequence[ProcessSummary]:
        return list_python_processes()

    def inspect(self, pid: int) -> ProcessReport:
        return inspect_process(pid)

    def attach(self, request: AttachRequest, cancel: CancelToken) -> Iterator[Event]:
        from core.attach import run_attach
        from core.attemptlog import AttemptLog

        return run_attach(request, cancel, log=AttemptLog())

    def attempts(self) -> Sequence[Mapping[str, object]]:
        from core.attemptlog import read_attempts

        return read_attempts()

    def stacks(self, pid: int) -> ProcessStacks:
        from core.walk import snapshot

        return snapshot(pid)

    def diagnose(self, pid: int) -> Diagnosis:
        from core.doctor import diagnose

        return diagnose(pid)

    def tasks(self, pid: int) -> ProcessTasks:
        from core.walk.tasks import read_tasks

        return read_tasks(pid)
