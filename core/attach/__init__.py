"""The safe attach engine: PEP 768 request chain with confirmed execution (see chain.py)."""

from core.attach.chain import plan_steps, run_attach
from core.attach.faults import WRITE_STEPS, FaultPlan
from core.attach.threads import METHODS, ThreadChoice, select_thread
from core.attach.writes import RequestWriter

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
