"""The chain's vocabulary: every step it can emit is a Step with a title and a group, and the ids written to
the JSON output and the attempt log are the same strings they were before steps became an enum."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import core.attach.chain as chain
from core.attach import WRITE_STEPS, plan_steps
from core.attach.faults import FAULT_KINDS
from core.attach.steps import FALLBACK_STEPS, SAFE_STEPS, Step, StepGroup
from core.attemptlog import AttemptRecord
from core.errors import FailureKind
from core.events import Outcome, Plan, StepFinished, StepOutput, StepSpec, StepStarted, StepStatus, event_to_dict
from core.requests import Method, Payload

# the ids as they were bare strings: the JSON output, the attempt log and its readers depend on them
IDS = ["reattachCache", "openProcess", "offsetsResolve", "parse", "policy", "threadState", "writeScript",
       "writePending", "writeBreaker", "legacyInject", "awaitRun", "legacyFallback", "legacyAwait",
       "debugpyReady", "internal"]
PLANS = [(m, p) for m in Method for p in Payload]


def planned() -> set[Step]:
    return {s for m, p in PLANS for s in plan_steps(m, p)}


def test_ids_are_the_strings_they_were() -> None:
    assert [s.value for s in Step] == IDS


@pytest.mark.parametrize(("method", "payload"), PLANS)
def test_every_planned_step_is_a_titled_grouped_step(method: Method, payload: Payload) -> None:
    steps = plan_steps(method, payload)
    assert len(set(steps)) == len(steps)
    for step in steps:
        assert isinstance(step, Step)
        assert step.title.strip() and step.title == step.title.strip()
        assert isinstance(step.group, StepGroup)


def test_every_step_has_a_title_and_a_known_group() -> None:
    assert len({s.title for s in Step}) == len(Step)  # titles tell steps apart
    for step in Step:
        assert step.title and step.group in set(StepGroup)
    for group in StepGroup:
        assert group.title


def _chain_steps() -> set[Step]:
    """Every `Step.X` the chain's source names, and no bare string where a step is passed."""
    tree = ast.parse(Path(chain.__file__).read_text())
    named = {Step[n.attr] for n in ast.walk(tree)
             if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "Step"}
    emitters = {"_run_step", "_skip", "_undo", "_flush", "StepStarted", "StepOutput", "StepFinished"}
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in emitters and call.args:
            assert not isinstance(call.args[0], ast.Constant), f"a bare step name in {name}(): {call.args[0].value}"
    return named


def test_the_chain_emits_only_planned_steps() -> None:
    """A step the chain reports but no plan announced would show up as an extra row in the step lists; the one
    exception is the rollback after an internal error, which happens outside every step."""
    emitted = _chain_steps()
    assert Step.AWAIT_RUN in emitted and Step.INTERNAL in emitted
    assert emitted - planned() == {Step.INTERNAL}
    assert planned() | {Step.INTERNAL} == set(Step)


def test_groups_follow_the_path() -> None:
    assert {s.group for s in SAFE_STEPS} == {StepGroup.SAFE}
    assert set(WRITE_STEPS) < set(SAFE_STEPS)
    assert Step.LEGACY_INJECT.group is StepGroup.LEGACY and Step.LEGACY_FALLBACK.group is StepGroup.LEGACY
    assert {s.group for s in plan_steps(Method.SAFE)} == {StepGroup.CHECK, StepGroup.SAFE, StepGroup.CONFIRM}
    assert {s.group for s in plan_steps(Method.LEGACY)} == {StepGroup.CHECK, StepGroup.LEGACY, StepGroup.CONFIRM}
    assert plan_steps(Method.AUTO)[-len(FALLBACK_STEPS):] == FALLBACK_STEPS
    debugger = plan_steps(Method.AUTO, Payload.DEBUGPY)
    assert (debugger[0].group, debugger[-1].group) == (StepGroup.DEBUGGER, StepGroup.DEBUGGER)


def test_a_step_is_its_id_as_a_string() -> None:
    step = Step.WRITE_SCRIPT
    assert step == "writeScript" and hash(step) == hash("writeScript") and step in {"writeScript"}
    assert (str(step), f"{step}", f"[{step:>12}]") == ("writeScript", "writeScript", "[ writeScript]")
    assert type(str(step)) is str and Step("writeScript") is step
    assert (str(StepGroup.SAFE), f"{StepGroup.SAFE}") == ("safe", "safe")


def test_fault_kinds_are_failure_kinds_not_steps() -> None:
    assert FAULT_KINDS[Step.WRITE_BREAKER] is FailureKind.WRITE_BREAKER
    assert Step.POLICY not in FAULT_KINDS and Step.AWAIT_RUN not in FAULT_KINDS  # they fail as internal
    assert all(isinstance(k, FailureKind) for k in FAULT_KINDS.values())


def test_event_json_is_unchanged() -> None:
    plan = Plan(7, "safe", "exec", tuple(StepSpec(s, s.title) for s in plan_steps(Method.SAFE)[:2]))
    assert json.dumps(event_to_dict(plan)) == (
        '{"event": "Plan", "pid": 7, "method": "safe", "payload": "exec", "steps": ['
        '{"name": "openProcess", "title": "Open the process"}, '
        '{"name": "offsetsResolve", "title": "Locate the CPython runtime"}]}')
    assert json.dumps(event_to_dict(StepStarted(Step.AWAIT_RUN))) == '{"event": "StepStarted", "step": "awaitRun"}'
    assert json.dumps(event_to_dict(StepOutput(Step.INTERNAL, "rollback: x"))) == (
        '{"event": "StepOutput", "step": "internal", "text": "rollback: x"}')
    finished = StepFinished(Step.WRITE_PENDING, StepStatus.FAILED, 1.5, "no", FailureKind.WRITE_PENDING, "h")
    assert json.dumps(event_to_dict(finished)) == (
        '{"event": "StepFinished", "step": "writePending", "status": "failed", "elapsed_ms": 1.5, "message": "no", '
        '"kind": "writePending", "hint": "h", "detail": {}}')
    outcome = Outcome(False, 7, 9.0, "late", FailureKind.TIMEOUT_RUN, "h", Step.AWAIT_RUN,
                      {"steps_ms": {Step.OPEN_PROCESS.value: 0.5}, "ran": False})
    assert json.dumps(event_to_dict(outcome)) == (
        '{"event": "Outcome", "ok": false, "pid": 7, "elapsed_ms": 9.0, "message": "late", "kind": "timeoutRun", '
        '"hint": "h", "failed_step": "awaitRun", "result": {"steps_ms": {"openProcess": 0.5}, "ran": false}}')


def test_the_attempt_log_keeps_plain_ids() -> None:
    record = AttemptRecord(pid=7, method="safe", payload="exec")
    record.add_step(Step.PARSE, "ok", 1.0)
    assert type(record.steps[0]["name"]) is str
    assert json.dumps(record.steps) == '[{"name": "parse", "status": "ok", "elapsed_ms": 1.0}]'
