"""One reducer from engine events to the view model that both the CLI and the console render."""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.attach.steps import Step
from core.errors import FailureKind
from core.events import Event, Outcome, Plan, StepFinished, StepOutput, StepStarted, StepStatus
from core.text import visible

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True)
class StepView:
    name: Step
    title: str
    status: StepStatus = StepStatus.PENDING
    elapsed_ms: float | None = None
    message: str = ""
    hint: str = ""
    kind: FailureKind | None = None
    output: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttemptView:
    pid: int | None = None
    method: str = ""
    payload: str = ""
    steps: tuple[StepView, ...] = ()
    outcome: Outcome | None = None

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def step(self, name: Step) -> StepView | None:
        return next((s for s in self.steps if s.name == name), None)


def _update(view: AttemptView, name: Step, change: Callable[[StepView], StepView]) -> AttemptView:
    steps = list(view.steps)
    for i, step in enumerate(steps):
        if step.name == name:
            steps[i] = change(step)
            return replace(view, steps=tuple(steps))
    # a step the plan did not announce (e.g. a payload step): append it
    title = name.title
    steps.append(change(StepView(name=name, title=title)))
    return replace(view, steps=tuple(steps))


def reduce(view: AttemptView, event: Event) -> AttemptView:
    """Pure: the view after `event`."""
    if isinstance(event, Plan):
        return AttemptView(
            pid=event.pid,
            method=event.method,
            payload=event.payload,
            steps=tuple(StepView(s.name, s.title) for s in event.steps),
        )
    if isinstance(event, StepStarted):
        return _update(view, event.step, lambda s: replace(s, status=StepStatus.RUNNING))
    if isinstance(event, StepOutput):
        text = visible(event.text)
        return _update(view, event.step, lambda s: replace(s, output=(*s.output, text)))
    if isinstance(event, StepFinished):
        done = event
        return _update(
            view,
            event.step,
            lambda s: replace(s, status=done.status, elapsed_ms=done.elapsed_ms, message=visible(done.message),
                              hint=visible(done.hint), kind=done.kind),
        )
    if isinstance(event, Outcome):
        # steps still pending when the attempt ended never ran
        steps = tuple(
            replace(s, status=StepStatus.SKIPPED, message=s.message or "not reached")
            if s.status in (StepStatus.PENDING, StepStatus.RUNNING)
            else s
            for s in view.steps
        )
        return replace(view, steps=steps, outcome=event)
    return view
