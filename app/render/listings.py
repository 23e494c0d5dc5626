"""80-column plain-text listings: stacks (`safeattach stack`), asyncio tasks (`safeattach tasks`) and the
doctor's findings. The CLI prints them, the console copies or styles them; no rich here.

Tasks: per thread, each task with its id, coroutine stack (innermost first) and awaiters; then the await tree (who
awaits whom, like `python -m asyncio pstree` but tasks only); await cycles are listed, and shown in the tree
where they close, instead of making the tree impossible.
"""

from __future__ import annotations

import textwrap

from app.render.words import yes_no
from core.text import visible
from core.walk.model import FrameRecord, ProcessStacks, ThreadStack

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:  # the doctor (core.doctor loads its checks, with pathlib) only for `safeattach doctor`
    from collections.abc import Sequence

    from core.doctor.model import Diagnosis
    from core.walk.tasks import ProcessTasks, TaskRecord

WIDTH = 80
FRAME_INDENT = "    "

# stacks ----------------------------------------------------------------------------------------------------
def _clip_left(text: str, width: int) -> str:
    """Keep the end of a long path (the file name), marking the cut."""
    return text if len(text) <= width else "…" + text[-(width - 1):]


def _cut(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def _frame_lines(function: str, where: str, indent: str = FRAME_INDENT) -> list[str]:
    """One line when it fits; else the function, then where it is (the end of the path kept), both cut."""
    one = f"{indent}{function} ({where})"
    if len(one) <= WIDTH:
        return [one]
    return [_cut(indent + function), indent + "  " + _clip_left(where, WIDTH - len(indent) - 2)]


def _thread_header(t: ThreadStack) -> str:
    parts = [f"Thread {t.native_thread_id or '?'}"]
    if t.name:
        parts.append(f'"{visible(t.name)}"')
    if t.is_main:
        parts.append("main")
    parts.append(f"interp {t.interpreter_id}")
    if t.holds_gil is not None:
        parts.append(f"GIL {yes_no(t.holds_gil)}")
    parts.append(f"{t.os_state} {visible(t.syscall)}".strip())
    return _cut("  ".join(parts))


def runs(frames: Sequence[FrameRecord]) -> list[tuple[FrameRecord, int]]:
    """Consecutive equal frames (a recursion) folded into one with a count."""
    out: list[tuple[FrameRecord, int]] = []
    for f in frames:
        if out and out[-1][0] == f:
            out[-1] = (f, out[-1][1] + 1)
        else:
            out.append((f, 1))
    return out


def render_stacks(stacks: ProcessStacks) -> list[str]:
    lines = [f"PID {stacks.pid}  CPython {stacks.version}  {len(stacks.threads)} thread(s)  "
             f"read in {stacks.elapsed_ms:.1f} ms" + ("  PARTIAL" if stacks.partial else "")]
    for problem in stacks.problems:
        lines.append(_clip_left(f"! {visible(problem)}", WIDTH))
    for t in stacks.threads:
        lines.append("")
        lines.append(_thread_header(t))
        if not t.frames and not t.partial:
            lines.append(f"{FRAME_INDENT}(no Python frames)")
        for f, repeats in runs(t.frames):
            line = "?" if f.line is None else str(f.line)
            lines.extend(_frame_lines(visible(f.qualname or f.function), f"{visible(f.filename)}:{line}"))
            if repeats > 1:
                lines.append(f"{FRAME_INDENT}  (the frame above {repeats - 1} more time(s))")
            for var in f.locals or ():
                lines.append(_cut(f"{FRAME_INDENT}    {visible(var.name)} = {visible(var.value)}"))
        if t.partial:
            lines.append(f"{FRAME_INDENT}! partial: {visible(t.partial)}"[:WIDTH])
    return lines


# asyncio tasks ---------------------------------------------------------------------------------------------
STACK_INDENT = FRAME_INDENT + "  "  # frames under their task's "awaited by" line


NAME_WIDTH = 40  # a longer task name is cut so that its id stays on the line


def _name(task: TaskRecord | None) -> str:
    if task is None:
        return "?"
    name = visible(task.name)
    return name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"


def _label(task: TaskRecord | None, address: int) -> str:
    return f"{_name(task)} 0x{address:x}"


def _task_lines(task: TaskRecord, tasks: dict[int, TaskRecord]) -> list[str]:
    head = f"  {_name(task)}  0x{task.address:x}" + ("  running" if task.running else "")
    lines = [_cut(head)]
    if task.awaited_by:
        by = ", ".join(_label(tasks.get(a), a) for a in task.awaited_by)
        lines.append(_cut(f"{FRAME_INDENT}awaited by {by}"))
    for f in task.coroutine_stack:
        line = "?" if f.line is None else str(f.line)
        lines.extend(_frame_lines(visible(f.qualname or f.function), f"{visible(f.filename)}:{line}", STACK_INDENT))
    if not task.coroutine_stack and not task.partial:
        lines.append(f"{STACK_INDENT}(no coroutine frames)")
    if task.partial:
        lines.append(_cut(f"{STACK_INDENT}! partial: {visible(task.partial)}"))
    return lines


def _tree(result: ProcessTasks) -> list[str]:
    """Tasks under the tasks that await them; a task met again on its own path closes an await cycle."""
    tasks = result.all_tasks()
    children: dict[int, list[int]] = {}
    for task in tasks.values():
        for parent in task.awaited_by:
            children.setdefault(parent, []).append(task.address)
    lines: list[str] = []
    shown: set[int] = set()

    def render(node: int, prefix: str, last: bool, path: tuple[int, ...]) -> None:
        branch = "└── " if last else "├── "
        label = _label(tasks.get(node), node)
        if node in path:
            lines.append(_cut(f"{prefix}{branch}(T) {label}  <- await cycle"))
            return
        again = node in shown
        lines.append(_cut(f"{prefix}{branch}(T) {label}" + ("  (see above)" if again else "")))
        shown.add(node)
        if again:
            return
        kids = children.get(node, [])
        for i, kid in enumerate(kids):
            render(kid, prefix + ("    " if last else "│   "), i == len(kids) - 1, (*path, node))

    roots = [a for a, t in tasks.items() if not any(p in tasks for p in t.awaited_by)]
    for root in roots:
        render(root, "", True, ())
    for cycle in result.cycles:  # cycles no root leads to
        if cycle[0] not in shown:
            render(cycle[0], "", True, ())
    return lines


def render_tasks(result: ProcessTasks) -> list[str]:
    count = sum(len(t.tasks) for t in result.threads)
    lines = [_cut(f"PID {result.pid}  CPython {result.version}  {count} task(s) in {len(result.threads)} "
                  f"thread(s)  read in {result.elapsed_ms:.1f} ms" + ("  PARTIAL" if result.partial else ""))]
    for problem in result.problems:
        lines.append(_clip_left(f"! {visible(problem)}", WIDTH))
    tasks = result.all_tasks()
    for cycle in result.cycles:
        names = (_name(tasks[a]) if a in tasks else f"0x{a:x}" for a in cycle)
        lines.append(_cut("! await cycle: " + " -> ".join(names)))
    if not count and not result.partial:
        lines.append("no asyncio tasks")
    for thread in result.threads:
        lines.append("")
        if thread.native_thread_id:
            head = f"Thread {thread.native_thread_id}"
            if thread.name:
                head += f' "{visible(thread.name)}"'
        else:
            head = "Tasks of threads that have exited"
        head += f"  interp {thread.interpreter_id}"
        head += f"  loop 0x{thread.running_loop:x}" if thread.running_loop else "  no running loop"
        lines.append(_cut(head))
        for task in thread.tasks:
            lines.extend(_task_lines(task, tasks))
        if thread.partial:
            lines.append(_cut(f"  ! partial: {visible(thread.partial)}"))
    if count:
        lines.extend(["", "Await tree"])
        lines.extend(_tree(result))
    return lines


# doctor ----------------------------------------------------------------------------------------------------
MARKS = {"ok": "ok  ", "info": "info", "warn": "warn", "fail": "FAIL"}  # by core.doctor.model.Status value


def render_diagnosis(d: Diagnosis) -> list[str]:
    from core.doctor.model import Status

    lines = [f"PID {d.pid}  CPython {d.version or '?'}  attach path: {d.path}"]
    for f in d.findings:
        kind = f"  [{f.kind.value}]" if f.kind is not None and f.status in (Status.WARN, Status.FAIL) else ""
        lines += textwrap.wrap(f"{MARKS[f.status.value]}  {f.check}: {visible(f.message)}{kind}", WIDTH,
                               subsequent_indent=" " * 6)
        for i, fix in enumerate(f.fixes if f.status in (Status.WARN, Status.FAIL) else ()):
            lines += textwrap.wrap(f"fix {i + 1}: {visible(fix)}", WIDTH, initial_indent=" " * 6,
                                   subsequent_indent=" " * 13)
    first = d.blocking
    lines.append("")
    lines.append("verdict: an attach should work" if first is None else
                 f"verdict: an attach would fail at {first.check} (exit {d.exit_code})")
    return lines
