"""Write SVG screenshots of every screen, driven over the fixed FakeEngine data.

Usage, from the repository root: .venv/bin/python -m tests.tui.screenshots [OUTDIR] (default: screenshots/).
The snapshot tests (test_snapshots.py) run the same scenarios.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from app.tui.app import SafeAttachApp
from app.tui.screens.attach import AttachScreen
from core.attach.steps import Step
from core.events import StepStatus

from .fake_engine import BLOCKED_PID, BUSY_PID, DENIED_PID, DISABLED_PID, LEGACY_PID, FakeEngine

Scenario = Callable[[Pilot[int]], Awaitable[None]]


async def settle(pilot: Pilot[int]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def select_pid(pilot: Pilot[int], pid: int) -> None:
    from app.tui.row_table import RowTable

    await settle(pilot)
    table = pilot.app.screen.query_one("#processes", RowTable)
    table.move_cursor(table.get_row_index(str(pid)))
    await pilot.pause()


async def processes(pilot: Pilot[int]) -> None:
    await select_pid(pilot, BUSY_PID)


async def offsets(pilot: Pilot[int]) -> None:
    await select_pid(pilot, BUSY_PID)
    await pilot.press("enter")
    await settle(pilot)


async def offsets_legacy(pilot: Pilot[int]) -> None:
    await select_pid(pilot, LEGACY_PID)
    await pilot.press("enter")
    await settle(pilot)


async def threads(pilot: Pilot[int]) -> None:
    await select_pid(pilot, BUSY_PID)
    await pilot.press("t")
    await settle(pilot)


async def stacks(pilot: Pilot[int]) -> None:
    await select_pid(pilot, BUSY_PID)
    await pilot.press("k")
    await settle(pilot)


async def stacks_filtered(pilot: Pilot[int]) -> None:
    """Filtered by a function of one worker thread, then paused."""
    await stacks(pilot)
    await pilot.press("slash", *"worker_2", "enter", "p")
    await settle(pilot)


async def attach_form(pilot: Pilot[int]) -> None:
    await select_pid(pilot, BUSY_PID)
    await pilot.press("a")
    await settle(pilot)


async def attach_doctor(pilot: Pilot[int]) -> None:
    """The doctor's blocking finding (the target opted out) and its fixes, before Run."""
    await select_pid(pilot, DISABLED_PID)
    await pilot.press("a")
    await settle(pilot)


async def _attach(pilot: Pilot[int], pid: int) -> None:
    await select_pid(pilot, pid)
    await pilot.press("a")
    await settle(pilot)
    await pilot.press("ctrl+r")
    await settle(pilot)


async def attach_ok(pilot: Pilot[int]) -> None:
    await _attach(pilot, BUSY_PID)


async def attach_failed(pilot: Pilot[int]) -> None:
    await _attach(pilot, DISABLED_PID)


async def attach_running(pilot: Pilot[int]) -> None:
    """The blocked target: the last step is running (static glyph: spinners are off)."""
    assert isinstance(pilot.app, SafeAttachApp)
    source = pilot.app.source
    assert isinstance(source, FakeEngine)
    await select_pid(pilot, BLOCKED_PID)
    await pilot.press("a")
    await settle(pilot)
    await pilot.press("ctrl+r")
    await asyncio.to_thread(source.blocking.wait, 10)
    screen = pilot.app.screen
    assert isinstance(screen, AttachScreen)
    for _ in range(500):  # bounded: the StepStarted message is already posted
        step = screen.view.step(Step.AWAIT_RUN)
        if step is not None and step.status is StepStatus.RUNNING:
            break
        await pilot.pause()
    await pilot.pause()


async def attach_timeout(pilot: Pilot[int]) -> None:
    """The blocked target with a short timeout: timeoutRun, and the stack it waited on under the hint."""
    await select_pid(pilot, BLOCKED_PID)
    await pilot.press("a")
    await settle(pilot)
    pilot.app.screen.query_one("#timeout", Input).value = "0.1"
    await pilot.press("ctrl+r")
    await settle(pilot)
    await settle(pilot)


async def tasks(pilot: Pilot[int]) -> None:
    """The asyncio task tree of a 3.14 target: a gather, an await cycle, a task name with escapes."""
    await select_pid(pilot, BUSY_PID)
    await pilot.press("T")
    await settle(pilot)


async def tasks_unsupported(pilot: Pilot[int]) -> None:
    """A 3.9 target: the engine's unsupportedVersion message instead of a tree."""
    await select_pid(pilot, LEGACY_PID)
    await pilot.press("T")
    await settle(pilot)


async def log(pilot: Pilot[int]) -> None:
    await settle(pilot)
    await pilot.press("l")
    await settle(pilot)


async def log_detail(pilot: Pilot[int]) -> None:
    await log(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)


async def log_stats(pilot: Pilot[int]) -> None:
    await log(pilot)
    await pilot.press("s")
    await settle(pilot)


async def help_screen(pilot: Pilot[int]) -> None:
    await settle(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


async def error(pilot: Pilot[int]) -> None:
    await select_pid(pilot, DENIED_PID)
    await pilot.press("enter")
    await settle(pilot)


_SCENARIOS: dict[str, Scenario] = {
    "processes": processes,
    "offsets": offsets,
    "offsets-legacy": offsets_legacy,
    "threads": threads,
    "stacks": stacks,
    "stacks-filtered": stacks_filtered,
    "tasks": tasks,
    "tasks-unsupported": tasks_unsupported,
    "attach": attach_form,
    "attach-doctor": attach_doctor,
    "attach-ok": attach_ok,
    "attach-failed": attach_failed,
    "attach-running": attach_running,
    "attach-timeout": attach_timeout,
    "log": log,
    "log-detail": log_detail,
    "log-stats": log_stats,
    "help": help_screen,
    "error": error,
}


def steady(scenario: Scenario) -> Scenario:
    """The scenario, then every input's cursor made steady: a blinking cursor is a clock, and which phase a
    screenshot caught would depend on how long the scenario took."""

    async def run(pilot: Pilot[int]) -> None:
        await scenario(pilot)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await pilot.pause()

    return run


SCENARIOS: dict[str, Scenario] = {name: steady(scenario) for name, scenario in _SCENARIOS.items()}


def console_for_screenshots() -> SafeAttachApp:
    return SafeAttachApp(FakeEngine(), refresh_interval=0, stacks_interval=0, spinners=False,
                         default_script="/srv/tools/dump_stacks.py")


async def shoot(name: str, outdir: Path, size: tuple[int, int] = (120, 36)) -> Path:
    app = console_for_screenshots()
    path = outdir / f"{name}.svg"
    async with app.run_test(size=size) as pilot:
        await SCENARIOS[name](pilot)
        path.write_text(app.export_screenshot(title=f"safeattach — {name}"))
    return path


def main(argv: list[str]) -> int:
    outdir = Path(argv[0]) if argv else Path("screenshots")
    outdir.mkdir(parents=True, exist_ok=True)
    for name in SCENARIOS:
        print(asyncio.run(shoot(name, outdir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
