"""`safeattach tasks PID`: the asyncio tasks of a 3.14+ process, read-only, as text for 80 columns or JSON.

Per thread, each task with its id, coroutine stack (innermost first) and awaiters; then the await tree (who
awaits whom, like `python -m asyncio pstree` but tasks only); await cycles are listed, and shown in the tree
where they close, instead of making the tree impossible.
"""

from __future__ import annotations

import json

from app.cli_stack import FRAME_INDENT, WIDTH, _clip_left
from core.errors import SafeAttachError
from core.text import visible
from core.walk.tasks import ProcessTasks, TaskRecord, read_tasks

STACK_INDENT = FRAME_INDENT + "  "  # frames under their task's "awaited by" line


def _cut(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def _frame_lines(function: str, where: str) -> list[str]:
    """One line when it fits; else the function, then where it is (the end of the path kept), both cut."""
    one = f"{STACK_INDENT}{function} ({where})"
    if len(one) <= WIDTH:
        return [one]
    return [_cut(STACK_INDENT + function), STACK_INDENT + "  " + _clip_left(where, WIDTH - len(STACK_INDENT) - 2)]


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
        lines.extend(_frame_lines(visible(f.qualname or f.function), f"{visible(f.filename)}:{line}"))
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


def cmd_tasks(pid: int, json_out: bool) -> int:
    from app.cli import print_error

    try:
        result = read_tasks(pid)
    except SafeAttachError as exc:
        return print_error(exc, json_out)
    if json_out:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print("\n".join(render_tasks(result)))
    return 0
