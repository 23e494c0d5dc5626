"""The one reducer both front ends render from."""

from __future__ import annotations

from app.viewmodel import AttemptView, reduce
from core.errors import FailureKind
from core.events import Outcome, Plan, StepFinished, StepOutput, StepSpec, StepStarted, StepStatus


def run(*events: object) -> AttemptView:
    view = AttemptView()
    for event in events:
        view = reduce(view, event)  # type: ignore[arg-type]
    return view


PLAN = Plan(7, "auto", "exec", (StepSpec("a", "Step A"), StepSpec("b", "Step B"), StepSpec("c", "Step C")))


def test_steps_follow_the_events() -> None:
    view = run(PLAN, StepStarted("a"), StepOutput("a", "one"), StepOutput("a", "two"),
               StepFinished("a", StepStatus.OK, 1.25, "done"), StepStarted("b"))
    a, b, c = view.steps
    assert (a.status, a.elapsed_ms, a.message, a.output) == (StepStatus.OK, 1.25, "done", ("one", "two"))
    assert b.status is StepStatus.RUNNING and c.status is StepStatus.PENDING
    assert not view.done and view.pid == 7 and view.method == "auto"


def test_failure_keeps_kind_and_hint_and_outcome_closes_the_rest() -> None:
    view = run(PLAN, StepStarted("a"),
               StepFinished("a", StepStatus.FAILED, 2.0, "no", FailureKind.POLICY_DISABLED, "opted out"),
               Outcome(False, 7, 3.0, "no", FailureKind.POLICY_DISABLED, "opted out", "a"))
    a, b, c = view.steps
    assert (a.status, a.kind, a.hint) == (StepStatus.FAILED, FailureKind.POLICY_DISABLED, "opted out")
    assert [b.status, c.status] == [StepStatus.SKIPPED, StepStatus.SKIPPED]
    assert b.message == "not reached" and view.done and view.outcome is not None


def test_a_step_the_plan_did_not_announce_is_appended() -> None:
    view = run(PLAN, StepStarted("extra"), StepFinished("extra", StepStatus.OK, 0.5))
    assert [s.name for s in view.steps] == ["a", "b", "c", "extra"]
    assert view.steps[-1].status is StepStatus.OK
