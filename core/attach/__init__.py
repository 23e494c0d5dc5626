"""The safe attach engine: PEP 768 request chain with confirmed execution (see chain.py).

Names load on first use (PEP 562), so importing `core.attach.steps` (the events and every renderer do) does
not load the chain and everything it reads and writes with."""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from core.attach.chain import plan_steps, run_attach
    from core.attach.faults import FaultPlan
    from core.attach.steps import WRITE_STEPS
    from core.attach.threads import METHODS, ThreadChoice, select_thread
    from core.attach.writes import RequestWriter

_WHERE = {
    "plan_steps": "core.attach.chain",
    "run_attach": "core.attach.chain",
    "FaultPlan": "core.attach.faults",
    "WRITE_STEPS": "core.attach.steps",
    "METHODS": "core.attach.threads",
    "ThreadChoice": "core.attach.threads",
    "select_thread": "core.attach.threads",
    "RequestWriter": "core.attach.writes",
}

__all__ = [
    "METHODS",
    "WRITE_STEPS",
    "FaultPlan",
    "RequestWriter",
    "ThreadChoice",
    "plan_steps",
    "run_attach",
    "select_thread",
]


def __getattr__(name: str) -> object:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # __import__ with a fromlist returns the submodule itself; importlib's package would load warnings
    return getattr(__import__(where, fromlist=(name,)), name)
