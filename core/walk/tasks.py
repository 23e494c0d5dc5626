"""asyncio tasks of a 3.14+ target, read-only: per thread, each task's name, id (address), coroutine stack
(innermost first) and the tasks that await it; await cycles found and reported.

Follows what CPython 3.14's own reader does (Modules/_remote_debugging): the per-thread task list (an
intrusive `llist` whose head sits in the thread state), then the interpreter-wide list (tasks of threads that
have gone), a task's coroutine chain through `gi_iframe` and, while the generator is suspended in
`yield from`/`await`, the awaited object on top of its frame's stack; the awaiters from `task_awaited_by` (one
object, or a set when `task_awaited_by_is_set`). Every list is bounded and loop-checked, every pointer
checked; corrupt or changing memory ends that part of the walk with a reason, never an untyped exception.
"""

from __future__ import annotations

import struct
import time

from core.errors import FailureKind, SafeAttachError
from core.offsets import DebugOffsets
from core.records import dataclass, field
from core.target import Target, open_target
from core.walk.asyncio_offsets import AsyncioOffsets, locate_asyncio_table
from core.walk.code import CodeReader
from core.walk.frames import fatal
from core.walk.layouts import layout_from_offsets
from core.walk.model import FrameRecord
from core.walk.objects import RemoteObjects, WalkError
from core.walk.pages import PagedMemory
from core.walk.snapshot import thread_name
from core.walk.values import LocalsReader

MAX_TASKS = 1 << 16  # per list, as CPython's reader (2 << 15)
MAX_CORO_DEPTH = 1024  # coroutines awaiting coroutines within one task
MAX_AWAITERS = 4096  # entries of one task_awaited_by set
MAX_SET_SLOTS = 1 << 16
# gi_frame_state of a generator suspended in `yield from` / `await` (pycore_frame.h: -1 in 3.14; the enum
# was renumbered from 0 in 3.15, where it is 2); and which stack slot below stackpointer holds the
# awaited object: the top (stackpointer[-1]) in 3.14, stackpointer[-2] in 3.15 (checked live: the top
# slot holds the value sent in, the tagged None)
YIELD_FROM_STATE = {14: -1, 15: 2}
AWAITED_SLOT = {14: 1, 15: 2}


@dataclass(frozen=True)
class TaskRecord:
    address: int  # the task's id, as `python -m asyncio ps` shows it
    name: str
    coroutine_stack: tuple[FrameRecord, ...]  # innermost first
    awaited_by: tuple[int, ...]  # addresses of the tasks that await this one
    running: bool  # the thread's asyncio_running_task
    partial: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"id": self.address, "name": self.name, "running": self.running,
                "coroutine_stack": [f.to_dict() for f in self.coroutine_stack],
                "awaited_by": list(self.awaited_by), "partial": self.partial}


@dataclass(frozen=True)
class ThreadTasks:
    interpreter_id: int
    native_thread_id: int  # 0 for the interpreter-wide list (tasks of threads that have gone)
    name: str | None
    running_loop: int  # address of the running loop, 0 when none
    tasks: tuple[TaskRecord, ...]
    partial: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"interpreter_id": self.interpreter_id, "native_thread_id": self.native_thread_id,
                "name": self.name, "running_loop": self.running_loop, "partial": self.partial,
                "tasks": [t.to_dict() for t in self.tasks]}


@dataclass(frozen=True)
class ProcessTasks:
    pid: int
    version: str
    threads: tuple[ThreadTasks, ...]
    cycles: tuple[tuple[int, ...], ...] = ()  # await cycles, each a list of task ids ending where it began
    problems: tuple[str, ...] = field(default_factory=tuple)
    elapsed_ms: float = 0.0

    @property
    def partial(self) -> bool:
        return bool(self.problems) or any(t.partial or any(k.partial for k in t.tasks) for t in self.threads)

    def all_tasks(self) -> dict[int, TaskRecord]:
        return {task.address: task for thread in self.threads for task in thread.tasks}

    def to_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "version": self.version, "partial": self.partial, "problems": list(self.problems),
                "elapsed_ms": round(self.elapsed_ms, 3), "cycles": [list(c) for c in self.cycles],
                "threads": [t.to_dict() for t in self.threads]}


class TaskWalker:
    """Reads tasks with one target's `_Py_DebugOffsets` and `.AsyncioDebug` tables (both already checked)."""

    def __init__(self, objects: RemoteObjects, offsets: DebugOffsets, aio: AsyncioOffsets, minor: int) -> None:
        self.objects, self.aio = objects, aio
        self.code = CodeReader(objects)
        self.values = LocalsReader(objects)
        self.gi_iframe = offsets["gen_object.gi_iframe"]
        self.gi_frame_state = offsets["gen_object.gi_frame_state"]
        self.stackpointer = offsets["interpreter_frame.stackpointer"]
        self.set_used, self.set_table = offsets["set_object.used"], offsets["set_object.table"]
        self.set_mask = offsets["set_object.mask"]
        self.node_next, self.node_prev = offsets["llist_node.next"], offsets["llist_node.prev"]
        self.yield_from = YIELD_FROM_STATE.get(minor, YIELD_FROM_STATE[15])
        self.awaited_slot = AWAITED_SLOT.get(minor, AWAITED_SLOT[15])

    # -- lists ------------------------------------------------------------------------------------------
    def task_list(self, head: int) -> tuple[list[int], str | None]:
        """Task addresses in the list whose head node is at `head`; a reason when the walk stopped early."""
        mem, node_off = self.objects.mem, self.aio.task_node
        out: list[int] = []
        seen = {head}
        try:
            node, previous = mem.read_u64(head + self.node_next), head
            while node != head:
                if node in seen:
                    return out, f"the task list loops back to 0x{node:x}"
                if len(out) >= MAX_TASKS:
                    return out, f"more than {MAX_TASKS} tasks in one list; the rest is not shown"
                task = node - node_off
                if not node or node % 8 or not self.objects.plausible(task, self.aio.task_size):
                    return out, f"implausible task-list node 0x{node:x}"
                if mem.read_u64(node + self.node_prev) != previous:
                    # the list is doubly linked: a node that does not point back was unlinked (its task
                    # finished) or reused since the previous node was read
                    return out, "the task list changed while it was read (a task started or finished)"
                seen.add(node)
                out.append(task)
                node, previous = mem.read_u64(node + self.node_next), node
        except SafeAttachError as exc:
            if fatal(exc):
                raise
            return out, f"task list: {exc.message}"
        return out, None

    # -- one task ---------------------------------------------------------------------------------------
    def task(self, address: int, running: int) -> TaskRecord:
        aio = self.aio
        raw = self.objects.mem.read(address, aio.task_size)
        if raw[aio.task_is_task] != 1:
            raise WalkError(f"0x{address:x} is on a task list but is not a task")
        name, partial = f"<task 0x{address:x}>", None
        stack: list[FrameRecord] = []
        awaiters: list[int] = []
        try:
            name = self.name(_u64(raw, aio.task_name))
            self.coroutine_stack(_u64(raw, aio.task_coro) & ~3, stack)
        except SafeAttachError as exc:
            if fatal(exc):
                raise
            partial = exc.message
        try:
            awaiters = self.awaiters(_u64(raw, aio.task_awaited_by) & ~3, raw[aio.task_awaited_by_is_set])
        except SafeAttachError as exc:
            if fatal(exc):
                raise
            partial = partial or f"awaited by: {exc.message}"
        return TaskRecord(address, name, tuple(stack), tuple(awaiters), address == running, partial)

    def name(self, obj: int) -> str:
        """A str name, or "Task-N" when the task kept only its number (an int, named lazily by get_name)."""
        objects = self.objects
        if not objects.plausible(obj, 16) or obj % 8:
            raise WalkError(f"implausible task name pointer 0x{obj:x}")
        kind = objects.type_name(obj)
        if kind == "int":
            return f"Task-{self.values.repr(obj)}"
        return objects.string(obj, "task name")

    def coroutine_stack(self, coro: int, out: list[FrameRecord]) -> None:
        """The coroutine chain from a task's coroutine, appended outermost first, then reversed in place."""
        objects, lay = self.objects, self.objects.layout
        seen: set[int] = set()
        start = len(out)
        try:
            while coro:
                if coro in seen:
                    raise WalkError(f"the coroutine chain loops back to 0x{coro:x}")
                if len(seen) >= MAX_CORO_DEPTH:
                    raise WalkError(f"more than {MAX_CORO_DEPTH} nested coroutines; the rest is not shown")
                if not objects.plausible(coro, self.gi_iframe + lay.frame_span) or coro % 8:
                    raise WalkError(f"implausible coroutine pointer 0x{coro:x}")
                seen.add(coro)
                gen_type = objects.mem.read_u64(coro + lay.ob_type)
                frame = coro + self.gi_iframe
                record = self.frame(frame)
                if record is not None:
                    out.append(record)
                state = struct.unpack("<b", objects.mem.read(coro + self.gi_frame_state, 1))[0]
                if state != self.yield_from:
                    break
                coro = self.awaited(frame, gen_type)
        finally:
            out[start:] = out[start:][::-1]

    def frame(self, frame: int) -> FrameRecord | None:
        objects, lay = self.objects, self.objects.layout
        raw = objects.mem.read(frame, lay.frame_span)
        code_addr = _u64(raw, lay.frame_code) & ~lay.code_tag_mask
        if not code_addr:
            return None
        code = self.code.read(code_addr)
        line = self.code.line(code, _u64(raw, lay.frame_instr))
        return FrameRecord(code.name, code.qualname, code.filename, line, code.first_line)

    def awaited(self, frame: int, gen_type: int) -> int:
        """What a suspended coroutine awaits, when it is a coroutine of the same type (else 0: a future or
        an iterator ends the chain, as in CPython's reader)."""
        objects = self.objects
        sp = objects.mem.read_u64(frame + self.stackpointer) & ~3
        slot = sp - 8 * self.awaited_slot
        if not sp or slot <= frame or not objects.plausible(slot, 8):
            raise WalkError(f"implausible stack pointer 0x{sp:x} in a suspended coroutine frame")
        target = objects.mem.read_u64(slot) & ~3
        if not target or not objects.plausible(target, 16) or target % 8:
            return 0
        return target if objects.mem.read_u64(target + objects.layout.ob_type) == gen_type else 0

    def awaiters(self, obj: int, is_set: int) -> list[int]:
        """Tasks awaiting this one: `task_awaited_by` is one future/task, or a set of them."""
        if not obj:
            return []
        candidates = self.set_items(obj) if is_set else [obj]
        out = []
        for cand in candidates:
            if not self.objects.plausible(cand, self.aio.task_size) or cand % 8:
                raise WalkError(f"implausible awaiter pointer 0x{cand:x}")
            if self.objects.mem.read(cand + self.aio.task_is_task, 1) == b"\x01":
                out.append(cand)  # a plain future awaiting a task carries no task to show
        return out

    def set_items(self, obj: int) -> list[int]:
        mem = self.objects.mem
        if not self.objects.is_a(obj, "set"):
            raise WalkError(f"task_awaited_by at 0x{obj:x} is not a set")
        used, mask = mem.read_u64(obj + self.set_used), mem.read_u64(obj + self.set_mask)
        slots = mask + 1
        if slots > MAX_SET_SLOTS or slots & mask or used > slots or used > MAX_AWAITERS:
            raise WalkError(f"implausible awaiter set (used {used}, mask {mask})")
        table = mem.read_u64(obj + self.set_table)
        if not self.objects.plausible(table, 16 * slots) or table % 8:
            raise WalkError(f"implausible awaiter set table 0x{table:x}")
        entries = struct.unpack(f"<{2 * slots}q", mem.read(table, 16 * slots))
        keys = [entries[i] & ~3 for i in range(0, 2 * slots, 2) if entries[i] and entries[i + 1] != -1]
        return keys[:used]


def cycles_of(tasks: dict[int, TaskRecord]) -> list[tuple[int, ...]]:
    """Await cycles (awaiter -> awaited edges), each as task ids ending with the first; iterative DFS."""
    children: dict[int, list[int]] = {t: [] for t in tasks}
    for task in tasks.values():
        for parent in task.awaited_by:
            children.setdefault(parent, []).append(task.address)
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(children, WHITE)
    found: list[tuple[int, ...]] = []
    for root in children:
        if colour[root] != WHITE:
            continue
        path, stack = [root], [iter(children[root])]
        colour[root] = GREY
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = BLACK
                stack.pop()
            elif colour.get(nxt, WHITE) == GREY:
                found.append((*path[path.index(nxt):], nxt))
            elif colour.get(nxt, WHITE) == WHITE:
                colour[nxt] = GREY
                path.append(nxt)
                stack.append(iter(children.get(nxt, ())))
    return found


def no_asyncio(target: Target) -> SafeAttachError:
    return SafeAttachError(
        FailureKind.UNSUPPORTED_VERSION,
        f"process {target.pid} has no asyncio debug table (its _asyncio extension is not loaded)",
        "The target has not imported asyncio, so it has no tasks; `safeattach stack PID` shows its threads.",
    )


def read_tasks_target(target: Target) -> ProcessTasks:
    """Tasks of an opened target (its read phases have run)."""
    started = time.perf_counter()
    version, offsets = target.version, target.offsets
    assert version is not None
    if (version.major, version.minor) < (3, 14) or offsets is None:
        raise SafeAttachError(FailureKind.UNSUPPORTED_VERSION,
                              f"asyncio tasks can be read from CPython 3.14 and later; this is {version}",
                              "Older versions keep no task lists a reader can follow; use `safeattach stack`.")
    table = locate_asyncio_table(target.pid, target.mem, target.maps,
                                 target.location.binary if target.location else None)
    if table is None:
        raise no_asyncio(target)
    paged = PagedMemory(target.mem)  # one read per page for this snapshot (core/walk/pages.py)
    objects = RemoteObjects(paged, target.plausible, layout_from_offsets(offsets, version.minor))
    walker = TaskWalker(objects, offsets, table.offsets, version.minor)
    problems: list[str] = []
    threads: list[ThreadTasks] = []
    try:
        interps = target.interpreters()
    except SafeAttachError as exc:
        if fatal(exc):
            raise
        interps, problems = [], [f"interpreter list: {exc.message}"]
    for interp in interps:
        try:
            tstates = target.thread_addresses(interp.address)
        except SafeAttachError as exc:
            if fatal(exc):
                raise
            problems.append(f"interpreter {interp.id}: thread list: {exc.message}")
            tstates = []
        for tstate in tstates:
            threads.append(_thread(target, walker, interp.id, tstate))
        leftovers = _list(walker, interp.id, 0, None, interp.address + table.offsets.interp_tasks_head, 0, 0)
        if leftovers.tasks or leftovers.partial:
            threads.append(leftovers)
    found = [t for t in threads if t.tasks or t.partial]
    return ProcessTasks(pid=target.pid, version=str(version), threads=tuple(found),
                        cycles=tuple(cycles_of({k.address: k for t in found for k in t.tasks})),
                        problems=tuple(problems), elapsed_ms=(time.perf_counter() - started) * 1000)


def _thread(target: Target, walker: TaskWalker, interp_id: int, tstate: int) -> ThreadTasks:
    aio, mem = walker.aio, walker.objects.mem
    try:
        native = mem.read_u64(tstate + target.offsets.tstate_native_thread_id) if target.offsets else 0
        loop = mem.read_u64(tstate + aio.tstate_running_loop) & ~3
        running = mem.read_u64(tstate + aio.tstate_running_task) & ~3
    except SafeAttachError as exc:
        if fatal(exc):
            raise
        return ThreadTasks(interp_id, 0, None, 0, (), f"thread state 0x{tstate:x}: {exc.message}")
    name = thread_name(target.pid, native) if 0 < native < 1 << 22 else None
    return _list(walker, interp_id, native, name, tstate + aio.tstate_tasks_head, loop, running)


def _list(walker: TaskWalker, interp_id: int, native: int, name: str | None, head: int, loop: int,
          running: int) -> ThreadTasks:
    addresses, partial = walker.task_list(head)
    tasks = []
    for address in addresses:
        try:
            tasks.append(walker.task(address, running))
        except SafeAttachError as exc:
            if fatal(exc):
                raise
            partial = partial or exc.message
    return ThreadTasks(interp_id, native, name, loop, tuple(tasks), partial)


def read_tasks(pid: int) -> ProcessTasks:
    """Open `pid` read-only and read its asyncio tasks; SafeAttachError when that is not possible."""
    with open_target(pid) as target:
        return read_tasks_target(target)


def _u64(raw: bytes, offset: int) -> int:
    return int(struct.unpack_from("<Q", raw, offset)[0])
