"""`safeattach tasks` rendering from records: 80 columns, target text made visible, every task in the tree,
await cycles closed (also a cycle no root leads to), a task awaited twice shown once in full."""

from __future__ import annotations

from app.render.listings import render_tasks
from core.walk.model import FrameRecord
from core.walk.tasks import ProcessTasks, TaskRecord, ThreadTasks, cycles_of

LONG_PATH = "/srv/" + "very-long-directory-name/" * 6 + "module.py"


def task(address: int, name: str, *awaited_by: int, partial: str | None = None) -> TaskRecord:
    frames = (FrameRecord("sleep", "sleep", "/usr/lib/python3.14/asyncio/tasks.py", 716, 690),
              FrameRecord("work" * 20, "Outer.work" * 10, LONG_PATH, 12, 10))
    return TaskRecord(address, name, frames, awaited_by, running=False, partial=partial)


def result(tasks: list[TaskRecord]) -> ProcessTasks:
    threads = (ThreadTasks(0, 4242, "main\x1b]52;c;", 0x7000, tuple(tasks[:4])),
               ThreadTasks(0, 0, None, 0, tuple(tasks[4:]), partial="the task list changed while it was read"))
    return ProcessTasks(4242, "3.14.10", threads, tuple(cycles_of({t.address: t for t in tasks})))


def test_render_fits_escapes_and_closes_cycles() -> None:
    tasks = [
        task(0x1000, "root"),
        task(0x2000, "child\x1b[2J" + "x" * 90, 0x1000),
        task(0x3000, "shared", 0x1000, 0x2000),  # awaited by two tasks
        task(0x4000, "cycle-a", 0x5000),  # a cycle no root leads to
        task(0x5000, "cycle-b", 0x4000, partial="task name at 0x9 is not a str"),
    ]
    out = render_tasks(result(tasks))
    assert all(len(line) <= 80 for line in out), [x for x in out if len(x) > 80]
    text = "\n".join(out)
    assert "\x1b" not in text and "child\\x1b[2J" in text and 'main\\x1b]52;c;' in text
    assert "PARTIAL" in out[0] and "! await cycle: cycle-a -> cycle-b -> cycle-a" in out
    tree = out[out.index("Await tree") + 1:]
    for t in tasks:
        assert any(f"0x{t.address:x}" in line for line in tree), t.name
    assert sum("shared" in line for line in tree) == 2 and any("(see above)" in line for line in tree)
    assert any("cycle-a" in line and "<- await cycle" in line for line in tree)
    assert "Tasks of threads that have exited  interp 0  no running loop" in out
    assert any("! partial: task name at 0x9" in line for line in out)


def test_no_tasks() -> None:
    out = render_tasks(ProcessTasks(1, "3.15.2", ()))
    assert out[1] == "no asyncio tasks" and "Await tree" not in out


def test_cycles_of_finds_each_cycle_once() -> None:
    tasks = {a: task(a, f"t{a}", *parents) for a, parents in
             {1: (3,), 2: (1,), 3: (2,), 4: (4,), 5: (1,), 6: ()}.items()}
    cycles = cycles_of(tasks)
    assert sorted(sorted(set(c)) for c in cycles) == [[1, 2, 3], [4]]
    assert all(c[0] == c[-1] for c in cycles)
