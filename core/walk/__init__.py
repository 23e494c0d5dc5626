"""Read-only walkers over a target's Python stacks: frames, code objects, line tables, values."""

from core.walk.model import FrameRecord, LocalVar, ProcessStacks, ThreadStack
from core.walk.snapshot import snapshot, snapshot_target

__all__ = ["FrameRecord", "LocalVar", "ProcessStacks", "ThreadStack", "snapshot", "snapshot_target"]
