"""The console's first paint takes the listing started before textual was imported (app.tui.first_listing):
the Processes screen fills its table from it when it mounts, and the console's own process lists nothing."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from app.tui.first_listing import FirstListing
from app.tui.row_table import RowTable
from app.tui.screens.processes import ProcessesScreen
from core.model import ProcessSummary

from .fake_engine import FakeEngine
from .helpers import make_app, settle, static_text, wait_until

ROOT = Path(__file__).resolve().parents[2]


class Watched(FirstListing):
    """Records which thread takes the result: the UI thread (on mount, before the first frame) or a worker."""

    def __init__(self, source: FakeEngine) -> None:
        super().__init__(source)
        self.takers: list[str] = []

    def result(self, timeout: float | None = None) -> Sequence[ProcessSummary]:
        self.takers.append("ui" if threading.current_thread() is threading.main_thread() else "worker")
        return super().result(timeout)


async def test_first_paint_takes_the_first_listing_and_lists_nothing_itself() -> None:
    engine = FakeEngine()
    first = Watched.start(engine)
    assert isinstance(first, Watched)
    first.result(30)
    first.takers.clear()
    shown = len(engine.processes)
    engine.processes = []  # what a listing in the console's process would now show
    app = make_app(engine, first=first)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ProcessesScreen) and app.screen.is_mounted)
        screen = app.screen
        assert isinstance(screen, ProcessesScreen)
        assert screen.loaded and first.takers == ["ui"]  # filled on mount, before its first frame: no worker
        assert screen.query_one("#processes", RowTable).row_count == shown
        await settle(pilot)
        # one listing for the first paint: in the forked child (this process lists nothing), or in the thread
        # when other threads run here (earlier tests may leave some); the tui command forks (below)
        assert engine.list_calls + first.forked == 1
        await pilot.press("r")  # later refreshes list in the console's process
        await settle(pilot)
        assert engine.list_calls + first.forked == 2
        assert screen.query_one("#processes", RowTable).row_count == 0


async def test_with_other_threads_running_the_first_listing_runs_in_a_thread() -> None:
    engine = FakeEngine()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, args=(30,))
    other.start()
    try:
        first = FirstListing.start(engine)  # fork is unsafe in a process with threads
        rows = first.result(30)
    finally:
        stop.set()
        other.join(30)
    assert not first.forked and engine.list_calls == 1 and len(rows) == len(engine.processes)


def test_a_console_with_targets_of_its_own_lists_in_a_thread() -> None:
    engine = FakeEngine()
    first = FirstListing.start(engine, fork=False)  # the demo: its targets are the console's children
    assert len(first.result(30)) == len(engine.processes)
    assert not first.forked and engine.list_calls == 1


class FailingEngine(FakeEngine):
    def list_processes(self) -> tuple[()]:
        super().list_processes()
        raise OSError("/proc is not mounted")


class HeldEngine(FakeEngine):
    """Lists only once released: the first listing is still under way when the screen mounts."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def list_processes(self) -> Sequence[ProcessSummary]:
        if not self.release.wait(30):
            raise TimeoutError("the test did not release the listing")
        return super().list_processes()


async def test_a_listing_still_under_way_shows_the_screen_and_says_so_then_fills_it() -> None:
    engine = HeldEngine()
    first = FirstListing.start(engine, fork=False)  # a forked child would not see the release
    app = make_app(engine, first=first)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ProcessesScreen) and app.screen.is_mounted)
            await pilot.pause()
            assert "listing processes…" in static_text(pilot, "#ps-status")
            assert app.screen.query_one("#processes", RowTable).row_count == 0
            engine.release.set()
            await wait_until(pilot, lambda: "7 of 7 processes" in static_text(pilot, "#ps-status"))
            assert app.screen.query_one("#processes", RowTable).row_count == 7
    finally:
        engine.release.set()


async def test_a_failed_first_listing_is_listed_again_and_shown() -> None:
    engine = FailingEngine()
    first = FirstListing.start(engine)
    app = make_app(engine, first=first)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: "listing processes failed" in static_text(pilot, "#ps-status"))
        assert "/proc is not mounted" in static_text(pilot, "#ps-status")
        await pilot.press("s")  # sorting an empty table leaves the failure shown (not "listing processes…")
        assert "listing processes failed" in static_text(pilot, "#ps-status")
        assert not first.forked and engine.list_calls == 1  # a failed child: the thread listed, once, here


ORDER_PROBE = """
import os, sys
import app.tui.first_listing as first_listing
started = []
real_start = first_listing.FirstListing.start.__func__

def start(cls, source):
    started.append(real_start(cls, source))
    return started[-1]

first_listing.FirstListing.start = classmethod(start)

def on_import(event, args):
    if event == "import" and args[0] == "textual":
        if started:
            started[0].result(60)  # reaps the child before leaving
        forked = bool(started) and started[0].forked  # the rows came from the forked child
        print("listing started before textual:", len(started), "forked:", forked, flush=True)
        os._exit(0)

sys.addaudithook(on_import)
from app.cli.main import main
main(["tui"])
"""


def test_the_tui_command_starts_the_listing_before_it_imports_textual() -> None:
    out = subprocess.run([sys.executable, "-c", ORDER_PROBE], capture_output=True, text=True, cwd=ROOT,
                         timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "listing started before textual: 1 forked: True", out.stdout + out.stderr


def test_the_console_imports_only_the_first_screen_before_its_first_paint() -> None:
    """The other screens load when first opened (tests/tui/test_flows.py opens each)."""
    code = ("import sys, app.tui.app\n"
            "print(sorted(m for m in sys.modules if m.startswith('app.tui.screens.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['app.tui.screens.processes']", out.stdout
