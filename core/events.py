"""Typed, frozen events the engine yields while it works; front ends only render them.

An attempt yields exactly one Plan first and exactly one Outcome last; between them, for every step that
runs, a StepStarted, any StepOutput lines, and a StepFinished.
"""

from __future__ import annotations

from core.attach.steps import Step
from core.enums import Enum
from core.errors import FailureKind
from core.records import dataclass, field

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.results import AttemptResult, ErrorDetail, StepDetail


class StepStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class StepSpec:
    name: Step
    title: str  # what a person reads in the step list (the step's own title)


@dataclass(frozen=True)
class Plan:
    pid: int
    method: str  # "safe", "legacy", "auto"
    payload: str  # "exec", "debugpy", ...
    steps: tuple[StepSpec, ...]


@dataclass(frozen=True)
class StepStarted:
    step: Step


@dataclass(frozen=True)
class StepOutput:
    step: Step
    text: str


@dataclass(frozen=True)
class StepFinished:
    step: Step
    status: StepStatus
    elapsed_ms: float
    message: str = ""
    kind: FailureKind | None = None
    hint: str = ""
    detail: StepDetail | ErrorDetail = field(default_factory=dict)  # ErrorDetail when the step failed


@dataclass(frozen=True)
class Outcome:
    ok: bool
    pid: int
    elapsed_ms: float
    message: str
    kind: FailureKind | None = None
    hint: str = ""
    failed_step: Step | None = None
    result: AttemptResult = field(default_factory=dict)


Event = Plan | StepStarted | StepOutput | StepFinished | Outcome


def event_to_dict(event: Event) -> dict[str, object]:
    """A JSON-ready form, used for `--json` event streams."""
    out: dict[str, object] = {"event": type(event).__name__}
    for name, value in vars(event).items():
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = [_plain(vars(v)) if hasattr(v, "__dict__") else v for v in value]
        elif hasattr(value, "keys") and hasattr(value, "__getitem__"):  # what dict() copies as a mapping (no
            value = dict(value)  # collections.abc here: it runs the collections package, 7 M instructions)
        out[name] = value
    return out


def _plain(fields: Mapping[str, object]) -> dict[str, object]:
    return {k: v.value if isinstance(v, Enum) else v for k, v in fields.items()}
