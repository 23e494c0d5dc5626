"""A read-only stack snapshot of a whole process: every thread of every interpreter.

Nothing is written to the target and nothing is paused, so threads that run Python while they are read may
show a torn stack: such a thread is marked partial rather than failing the snapshot. The target's opt-out
does not apply: reading memory is not remote execution.
"""

from __future__ import annotations

import time

from core.errors import FailureKind, SafeAttachError
from core.model import InterpreterInfo, ThreadInfo
from core.procfs import read_text
from core.target import Target, open_target
from core.walk.frames import FrameWalker, fatal
from core.walk.layouts import frame_layout
from core.walk.model import ProcessStacks, ThreadStack
from core.walk.objects import RemoteObjects
from core.walk.values import LocalsReader


def thread_name(pid: int, tid: int) -> str | None:
    try:
        return read_text(f"/proc/{pid}/task/{tid}/comm", "replace").rstrip("\n")
    except OSError:
        return None


def _stack(walker: FrameWalker, target: Target, info: ThreadInfo) -> ThreadStack:
    walked = walker.walk(info.tstate_address)
    return ThreadStack(
        interpreter_id=info.interpreter_id, native_thread_id=info.native_thread_id, thread_id=info.thread_id,
        name=thread_name(target.pid, info.native_thread_id) if info.native_thread_id else None,
        is_main=info.is_main, holds_gil=info.holds_gil, os_state=info.os_state, syscall=info.os_state_detail,
        frames=tuple(walked.frames), partial=walked.partial,
    )


def snapshot_target(target: Target, with_locals: bool = False) -> ProcessStacks:
    """Stacks of an opened target (its phases have run)."""
    started = time.perf_counter()
    version = target.version
    assert version is not None
    layout = frame_layout(version.major, version.minor, target.offsets)
    if layout is None:
        raise SafeAttachError(FailureKind.UNSUPPORTED_VERSION,
                              f"no frame layout for CPython {version} (known: 3.9, 3.11, 3.12, 3.13+)")
    objects = RemoteObjects(target.mem, target.plausible, layout)
    locals_reader = LocalsReader(objects).read if with_locals else None
    walker = FrameWalker(objects, target.offsets, target.legacy_layout, locals_reader)
    problems: list[str] = []
    threads: list[ThreadStack] = []
    interps: list[InterpreterInfo] = []
    try:
        interps = target.interpreters()
    except SafeAttachError as exc:
        if fatal(exc):
            raise
        problems.append(f"interpreter list: {exc.message}")
    for interp in interps:
        try:
            holder = target.gil_holder(interp.address)
            tstates = target.thread_addresses(interp.address)
        except SafeAttachError as exc:
            if fatal(exc):
                raise
            problems.append(f"interpreter {interp.id}: thread list: {exc.message}")
            continue
        for tstate in tstates:
            try:
                info = target.thread_info(interp, tstate, holder, with_function=False)
            except SafeAttachError as exc:
                if fatal(exc):
                    raise
                problems.append(f"thread state 0x{tstate:x}: {exc.message}")
                continue
            threads.append(_stack(walker, target, info))
    return ProcessStacks(pid=target.pid, version=str(version), threads=tuple(threads), problems=tuple(problems),
                         elapsed_ms=(time.perf_counter() - started) * 1000)


def snapshot(pid: int, with_locals: bool = False) -> ProcessStacks:
    """Open `pid` read-only and take its stacks; SafeAttachError when it is not a readable Python process."""
    with open_target(pid) as target:
        return snapshot_target(target, with_locals)
