"""The first frame that shows the console's process rows, timed (bench/tui_startup.py runs it).

A module of its own, importing nothing textual does not import itself: a fresh process imports it inside the
first paint it measures (tui_startup.py's argparse and statistics would add ~6 ms that the console never pays).
"""

from __future__ import annotations

import asyncio
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from textual.app import App

    from app.tui.app import SafeAttachApp
    from app.tui.first_listing import FirstListing
    from core.model import ProcessSummary
    from core.source import EngineSource


class Counted:
    """The source, counting its listings (the first paint should need exactly one)."""

    def __init__(self, src: EngineSource) -> None:
        self.src = src
        self.listings = 0

    def list_processes(self) -> Sequence[ProcessSummary]:
        self.listings += 1
        return self.src.list_processes()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.src, name)


def watch_first_rows(app: SafeAttachApp) -> tuple[asyncio.Event, list[float], list[int]]:
    """(set at the first frame showing the process rows, [its perf_counter time], [frames painted before])."""
    from app.tui.screens.processes import ProcessesScreen

    return watch_frames(app, lambda screen: isinstance(screen, ProcessesScreen) and screen.loaded)


def watch_frames(app: App[Any], wanted: Callable[[Any], bool]) -> tuple[asyncio.Event, list[float], list[int]]:
    """(set at the first frame of a screen `wanted` accepts, [its perf_counter time], [frames before])."""
    from textual._compositor import CompositorUpdate

    shown, at, before = asyncio.Event(), list[float](), [0]
    display = app._display

    def spy(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if at or renderable is None or app._batch_count:
            return
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)  # what a terminal driver writes (headless skips it)
        if wanted(screen):
            at.append(time.perf_counter())
            shown.set()
        else:
            before[0] += 1

    app._display = spy  # type: ignore[method-assign]
    return shown, at, before


async def first_paint(src: EngineSource, prefetch: bool, t0: float | None = None,
                      first: FirstListing | None = None) -> dict[str, float]:
    """ms from t0 (default: now, imports done) until the first frame that shows the process rows; prefetch:
    the first listing starts before the app is made, as the `tui` command does (or was started: `first`)."""
    t0 = time.perf_counter() if t0 is None else t0
    counted = Counted(src)
    if prefetch and first is None:
        from app.tui.first_listing import FirstListing

        first = FirstListing.start(counted)
    from app.tui.app import SafeAttachApp

    kwargs = {"first": first} if first is not None else {}  # (a console before first_listing: no keyword)
    app = SafeAttachApp(counted, refresh_interval=0, spinners=False, **kwargs)  # type: ignore[arg-type]
    shown, at, before = watch_first_rows(app)
    async with app.run_test(size=(120, 36)):
        await asyncio.wait_for(shown.wait(), timeout=60)
        rows = len(getattr(app.screen, "rows", ()))
    listings = counted.listings + (1 if first is not None and first.forked else 0)
    return {"ms": (at[0] - t0) * 1000, "rows": rows, "listings": listings, "frames_before": before[0],
            "forked": float(first is not None and first.forked)}


async def bare_first_paint(t0: float) -> dict[str, float]:
    """The anchor: ms from t0 until the first frame of a bare Textual app with the console's chrome (a header,
    one Static, a footer), in a process that imports textual after t0 as the console's does."""
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("hello")
            yield Footer()

    app = Bare()
    shown, at, before = watch_frames(app, lambda screen: True)
    async with app.run_test(size=(120, 36)):
        await asyncio.wait_for(shown.wait(), timeout=60)
    return {"ms": (at[0] - t0) * 1000, "frames_before": before[0]}
