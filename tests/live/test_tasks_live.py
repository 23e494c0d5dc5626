"""`tasks` against live 3.14/3.15 targets, compared with CPython's own `python3.X -m asyncio ps/pstree`.

The target (tests/targets/asyncio_tasks.py) parks a TaskGroup tree, a gather, a task with a hostile name and
a second thread's loop in asyncio.sleep; with "cycle", two tasks also await each other. CPython's reader runs
inside the target's chroot with the target's own minor version (it can read no other): the real `ps`/`pstree`
commands, and `asyncio.tools.build_task_table` (the rows `ps` prints) as JSON, since the hostile name's
newline splits a printed row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from live_targets import Interpreter, TargetPool, chroot_command, require

from core.errors import FailureKind, SafeAttachError, exit_code_for
from core.walk.tasks import ProcessTasks, read_tasks

CLI = [sys.executable, "-m", "app.cli"]
EVIL = "evil\x1b[31mname\n"
TABLE = """
import json, sys
from asyncio.tools import build_task_table, get_all_awaited_by
result = get_all_awaited_by(int(sys.argv[1]))
def line(f):  # 3.14: lineno; 3.15: location = (lineno, end_lineno, col, end_col)
    return f.lineno if hasattr(f, "lineno") else f.location[0]
stacks = {t.task_id: [[(f.funcname, f.filename, line(f)) for f in c.call_stack] for c in t.coroutine_stack]
          for thread in result for t in thread.awaited_by}
print(json.dumps({"rows": build_task_table(result), "stacks": {str(k): v for k, v in stacks.items()}}))
"""


def cpython(interp: Interpreter, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(chroot_command(interp.root, [interp.argv0, *args]), capture_output=True, text=True,
                          timeout=60)


def cpython_table(interp: Interpreter, pid: int) -> dict[str, Any]:
    out = cpython(interp, "-c", TABLE, str(pid))
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def stable_read(pid: int) -> ProcessTasks:
    """A read with no partial part (the target is parked; a torn read is retried, bounded)."""
    for _ in range(5):
        result = read_tasks(pid)
        if not result.partial:
            return result
    raise AssertionError(f"every read was partial: {result.problems}")


def spawn(targets: TargetPool, name: str, cycle: bool) -> tuple[Interpreter, int]:
    interp = require(name)
    target = targets.spawn_script(interp, "asyncio_tasks.py", args=["cycle"] if cycle else [])
    return interp, target.pid


@pytest.mark.parametrize("name", ["3.14", "3.14d", "3.15"])
def test_tasks_match_asyncio_ps(targets: TargetPool, name: str) -> None:
    interp, pid = spawn(targets, name, cycle=True)
    ours = stable_read(pid)
    theirs = cpython_table(interp, pid)
    tasks = ours.all_tasks()
    by_thread = {t.native_thread_id: {k.address for k in t.tasks} for t in ours.threads}
    # rows: tid, task id, task name, coroutine stack, awaiter chain, awaiter name, awaiter id
    their_ids = {int(row[1], 16) for row in theirs["rows"]}
    their_tids = {row[0] for row in theirs["rows"]}
    # every thread CPython shows, we show with the same tasks; 3.14.10's reader shows the main thread only
    # (the worker thread's loop is missing from its output), 3.15's shows both
    assert their_tids <= set(by_thread)
    assert their_ids == set().union(*(by_thread[tid] for tid in their_tids))
    if interp.version >= (3, 15):
        assert their_tids == {t.native_thread_id for t in ours.threads if t.tasks}
    assert {r[2] for r in theirs["rows"]} == {tasks[i].name for i in their_ids}
    assert EVIL in {t.name for t in tasks.values()}
    assert {"worker-leaf1", "worker-leaf2", "cycle-a", "cycle-b", "tree-leaf1", "Task-3"} <= {
        t.name for t in tasks.values()}
    # the same awaited-by edges (task id, awaiter id), the same awaiter names and coroutine stacks
    their_edges = {(int(r[1], 16), int(r[6], 16)) for r in theirs["rows"] if r[6] != "0x0"}
    our_edges = {(t.address, a) for t in tasks.values() for a in t.awaited_by if t.address in their_ids}
    assert our_edges == their_edges
    for row in theirs["rows"]:
        task = tasks[int(row[1], 16)]
        assert row[3] == " -> ".join(f.qualname or f.function for f in task.coroutine_stack)
        if row[6] != "0x0":
            assert row[5] == tasks[int(row[6], 16)].name
    for task_id, stacks in theirs["stacks"].items():
        frames = [tuple(f) for coro in stacks for f in coro]
        mine = [(f.qualname, f.filename, f.line) for f in tasks[int(task_id)].coroutine_stack]
        assert mine == frames
    # the await cycle, as ours and as pstree reports it
    names = {tasks[a].name for c in ours.cycles for a in c}
    assert len(ours.cycles) == 1 and names == {"cycle-a", "cycle-b"}
    tree = cpython(interp, "-m", "asyncio", "pstree", str(pid))
    assert tree.returncode == 1 and "cycle: " in tree.stderr
    (line,) = [x for x in tree.stderr.splitlines() if x.startswith("cycle: ")]
    assert set(line.removeprefix("cycle: ").split(" → ")) == names
    # the real `ps` command shows every task id we compared
    ps = cpython(interp, "-m", "asyncio", "ps", str(pid))
    assert ps.returncode == 0, ps.stderr
    assert all(f"0x{i:x}" in ps.stdout for i in their_ids)


@pytest.mark.parametrize("name", ["3.14", "3.15"])
def test_tree_matches_asyncio_pstree(targets: TargetPool, name: str) -> None:
    interp, pid = spawn(targets, name, cycle=False)
    ours = stable_read(pid)
    assert ours.cycles == ()
    tree = cpython(interp, "-m", "asyncio", "pstree", str(pid))
    assert tree.returncode == 0, tree.stderr
    their_tasks = [x.split("(T) ", 1)[1] for x in tree.stdout.splitlines() if "(T) " in x]
    tasks = ours.all_tasks()
    shown = {t.name.split("\n")[0] for t in tasks.values()}  # the hostile name's newline splits its line
    assert set(their_tasks) <= shown
    if interp.version >= (3, 15):
        assert set(their_tasks) == shown
    # every parent -> child line of their tree is an awaited-by edge of ours
    by_name = {t.name.split("\n")[0]: t for t in tasks.values()}
    stack: list[tuple[int, str]] = []
    for line in tree.stdout.splitlines():
        if "(T) " not in line:
            continue
        depth = line.index("(T) ")
        child = line.split("(T) ", 1)[1]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            assert by_name[stack[-1][1]].address in by_name[child].awaited_by
        stack.append((depth, child))


def test_cli_tasks_text_and_json(targets: TargetPool) -> None:
    _, pid = spawn(targets, "3.14", cycle=True)
    text = subprocess.run([*CLI, "tasks", str(pid)], capture_output=True, text=True, timeout=60)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert all(len(x) <= 80 for x in lines), [x for x in lines if len(x) > 80]
    assert "\x1b" not in text.stdout and "evil\\x1b[31mname\\n" in text.stdout
    assert any(x.startswith("! await cycle: cycle-") for x in lines)
    assert any("<- await cycle" in x for x in lines)
    assert "Traceback" not in text.stderr
    out = subprocess.run([*CLI, "tasks", "--json", str(pid)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    names = {t["name"] for th in data["threads"] for t in th["tasks"]}
    assert EVIL in names and {"cycle-a", "cycle-b", "worker-leaf1"} <= names
    assert len(data["cycles"]) == 1 and not data["partial"]


@pytest.mark.parametrize("name", ["3.13", "3.14"])
def test_unsupported_targets_exit_cleanly(targets: TargetPool, name: str) -> None:
    """3.13 (no task lists) and a 3.14 target that never imported asyncio: a typed error, no traceback."""
    target = targets.spawn_script(require(name), "sleepy.py")
    with pytest.raises(SafeAttachError) as info:
        read_tasks(target.pid)
    assert info.value.kind is FailureKind.UNSUPPORTED_VERSION
    for extra in ([], ["--json"]):
        out = subprocess.run([*CLI, "tasks", *extra, str(target.pid)], capture_output=True, text=True, timeout=60)
        assert out.returncode == exit_code_for(FailureKind.UNSUPPORTED_VERSION)
        assert "Traceback" not in out.stderr and "unsupportedVersion" in out.stdout + out.stderr


def test_changing_tasks_give_results_or_typed_errors(targets: TargetPool) -> None:
    """Tasks created and finished while they are read: every read is a (possibly partial) result or a typed
    error of the parse kind, never another exception; most reads see tasks, with their own names (the
    target is not paused: a task freed between two reads can rarely be shown from reused memory)."""
    target = targets.spawn_script(require("3.14"), "asyncio_churn.py")
    seen, names, odd = 0, 0, []
    for _ in range(40):
        try:
            result = read_tasks(target.pid)
        except SafeAttachError as exc:
            assert exc.kind is FailureKind.PARSE, exc
            continue
        tasks = result.all_tasks().values()
        seen += bool(tasks)
        names += len(tasks)
        odd += [t.name for t in tasks if not t.name.startswith(("short-", "Task-", "<task"))]
    assert seen >= 10
    assert len(odd) <= max(2, names // 50), odd
    assert target.alive()


@pytest.mark.parametrize("name", ["3.14", "3.15"])
def test_tasks_of_exited_threads(targets: TargetPool, name: str) -> None:
    """A task whose thread exited sits on the interpreter's list: shown, as CPython shows it (thread id 0)."""
    interp = require(name)
    target = targets.spawn_script(interp, "asyncio_orphan.py")
    ours = stable_read(target.pid)
    (thread,) = ours.threads
    assert thread.native_thread_id == 0 and thread.running_loop == 0
    (task,) = thread.tasks
    assert task.name == "orphan"
    assert [f.qualname for f in task.coroutine_stack] == ["sleep", "body.<locals>.forever"]
    theirs = cpython_table(interp, target.pid)
    assert [(r[0], int(r[1], 16), r[2]) for r in theirs["rows"]] == [(0, task.address, "orphan")]
