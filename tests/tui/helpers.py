"""Pilot helpers: settle workers, read what a user sees (cell text, widget text)."""

from __future__ import annotations

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from app.tui.app import SafeAttachApp
from app.tui.row_table import RowTable

from .fake_engine import FakeEngine


def make_app(engine: FakeEngine | None = None, **kwargs: object) -> SafeAttachApp:
    return SafeAttachApp(engine or FakeEngine(), refresh_interval=0, spinners=False, **kwargs)  # type: ignore[arg-type]


async def settle(pilot: Pilot[int]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def plain(renderable: object) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def static_text(pilot: Pilot[int], selector: str) -> str:
    return plain(pilot.app.screen.query_one(selector, Static).content)


def table_rows(pilot: Pilot[int], selector: str) -> list[list[str]]:
    table = pilot.app.screen.query_one(selector, (DataTable, RowTable))
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def column(pilot: Pilot[int], selector: str, index: int) -> list[str]:
    return [row[index] for row in table_rows(pilot, selector)]


async def select_pid(pilot: Pilot[int], pid: int) -> None:
    await settle(pilot)
    table = pilot.app.screen.query_one("#processes", RowTable)
    table.move_cursor(table.get_row_index(str(pid)))
    await pilot.pause()


async def wait_until(pilot: Pilot[int], predicate: object, tries: int = 200) -> None:
    """Pump the app until predicate() holds; each try is one event-loop pass, bounded."""
    for _ in range(tries):
        if predicate():  # type: ignore[operator]
            return
        await pilot.pause()
    raise AssertionError("condition not reached")
