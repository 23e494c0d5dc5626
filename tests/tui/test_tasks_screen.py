"""Pilot tests of the Tasks screen (issue 10, console): the asyncio task tree of a 3.14+ target, refresh on r,
target-chosen names shown as text, and the engine's message for a target before 3.14."""

from __future__ import annotations

from app.tui.screens.stacks import StacksScreen
from app.tui.screens.tasks import TasksScreen
from core.text import visible

from .fake_engine import BUSY_PID, LEGACY_PID, MARKUP_TASK_NAME, FakeEngine, fake_tasks
from .helpers import make_app, select_pid, settle, static_text


async def open_tasks(pilot: object, pid: int = BUSY_PID) -> TasksScreen:
    await select_pid(pilot, pid)  # type: ignore[arg-type]
    await pilot.press("T")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    screen = pilot.app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, TasksScreen)
    return screen


def body(pilot: object) -> str:
    return static_text(pilot, "#tasks-body")  # type: ignore[arg-type]


async def test_tasks_tree_shows_awaiters_stacks_and_the_cycle() -> None:
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = await open_tasks(pilot)
        text = body(pilot)
        assert screen.loads == 1
        assert 'Thread 4242 "python3.14"' in text
        assert "Task-1  0x7f0010000010  running" in text
        assert "awaited by Task-1 0x7f0010000010" in text
        assert "sleep (/usr/lib/python3.14/asyncio/tasks.py:702)" in text
        assert "! await cycle: cycle-a -> cycle-b -> cycle-a" in text
        assert "<- await cycle" in text  # marked where it closes in the tree
        assert "Await tree" in text and "├── (T) fetch-1 0x7f0010000020" in text
        status = static_text(pilot, "#tasks-status")
        assert "6 task(s)" in status and "1 await cycle(s)" in status


async def test_r_reads_the_tasks_again() -> None:
    engine = FakeEngine()
    async with make_app(engine).run_test(size=(80, 24)) as pilot:
        screen = await open_tasks(pilot)
        assert engine.task_calls == 1
        await pilot.press("r")
        await settle(pilot)
        assert engine.task_calls == 2 and screen.loads == 2
        assert "Task-1" in body(pilot)


async def test_a_task_name_with_escapes_and_markup_is_shown_as_text() -> None:
    async with make_app().run_test(size=(120, 36)) as pilot:
        await open_tasks(pilot)
        text = body(pilot)
        assert "\x1b" not in text
        assert visible(MARKUP_TASK_NAME) in text  # the escape as \x1b, the markup tags literally
        assert "[bold red]task[/bold red]" in text


async def test_a_target_before_3_14_shows_the_engines_message() -> None:
    async with make_app().run_test(size=(80, 24)) as pilot:
        await open_tasks(pilot, LEGACY_PID)
        text = body(pilot)
        assert "asyncio tasks can be read from CPython 3.14 and later; this is 3.9.2" in text
        assert "use `safeattach stack`" in text
        assert "unsupportedVersion" in static_text(pilot, "#tasks-status")
        assert "Await tree" not in text


async def test_tasks_and_stacks_switch_with_their_keys() -> None:
    async with make_app().run_test(size=(80, 24)) as pilot:
        await open_tasks(pilot)
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(pilot.app.screen, StacksScreen)
        await pilot.press("T")
        await settle(pilot)
        assert isinstance(pilot.app.screen, TasksScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ProcessesScreen"


def test_the_live_engine_reads_tasks_through_core_walk_tasks(monkeypatch: object) -> None:
    import core.walk.tasks
    from core.engine import LiveEngine

    expected = fake_tasks()[BUSY_PID]
    seen: list[int] = []

    def fake_read(pid: int) -> object:
        seen.append(pid)
        return expected

    monkeypatch.setattr(core.walk.tasks, "read_tasks", fake_read)  # type: ignore[attr-defined]
    assert LiveEngine().tasks(BUSY_PID) is expected and seen == [BUSY_PID]
