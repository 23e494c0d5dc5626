"""Stacks: every thread of one process with its full Python stack, refreshed live, pausable, filterable, and
copyable as the text `safeattach stack` prints.

A UI-thread timer asks for a snapshot a few times a second; the snapshot is read in a thread worker that only
posts a message, and a new one is asked for only once the previous one has arrived, so a slow target never
piles up readers or blocks the screen.
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, Input, Static

from app.render import rich as render
from app.render.listings import render_stacks
from app.tui.messages import ReportView
from app.tui.screens.report import ReportScreen, report_header
from app.tui.styles import css
from core.model import ProcessReport
from core.source import EngineSource
from core.text import visible
from core.walk.model import ProcessStacks, ThreadStack


class StacksLoaded(Message):
    def __init__(self, stacks: ProcessStacks) -> None:
        super().__init__()
        self.stacks = stacks


class StacksFailed(Message):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


def thread_matches(thread: ThreadStack, needle: str) -> bool:
    """The filter: a TID, a thread name or a function (qualified or not), case-insensitive substring."""
    if not needle:
        return True
    n = needle.lower()
    words = [str(thread.native_thread_id), thread.name or ""]
    words += [w for f in thread.frames for w in (f.function, f.qualname or "")]
    return any(n in w.lower() for w in words)


class StacksScreen(ReportScreen):
    CSS_PATH = css("stacks")
    BINDINGS = [
        Binding("p", "toggle_pause", "Pause", id="stacks.pause"),
        Binding("slash", "filter", "Filter", id="stacks.filter"),
        Binding("c", "copy", "Copy", id="stacks.copy"),
        Binding("r", "refresh_now", "Refresh", id="stacks.refresh"),
        Binding("t", "threads", "Threads", show=False, id="stacks.threads"),
        Binding("o", "offsets", "Offsets", show=False, id="stacks.offsets"),
    ]

    def __init__(self, report: ProcessReport, source: EngineSource, interval: float = 0.3) -> None:
        super().__init__(report)
        self.source = source
        self.interval = interval  # seconds between snapshots; 0: only on open and on r
        self.stacks: ProcessStacks | None = None
        self.error: str | None = None
        self.paused = False
        self.needle = ""
        self.loads = 0  # snapshots shown
        self._inflight = False
        self._manual = False  # the snapshot in flight was asked for with r: shown even when paused
        self._shown_key: tuple[tuple[ThreadStack, ...], bool] | None = None

    @property
    def pid(self) -> int:
        return self.report.summary.pid

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(report_header(self.report), id="report-header")
        yield Input(placeholder="filter: TID, thread name or function (Enter/Esc to return)", id="stacks-filter")
        yield Static(id="stacks-status")
        with VerticalScroll(id="stacks-view"):
            yield Static(Text("reading the stacks…", style="dim"), id="stacks-body")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Stacks · PID {self.pid}"
        self.query_one("#stacks-filter", Input).display = False
        self.query_one("#stacks-view", VerticalScroll).focus()
        self._show_status()
        self.action_refresh_now()
        if self.interval > 0:
            self.set_interval(self.interval, self.tick)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "stacks"  # the report screens' k: this is the Stacks screen already

    # data ------------------------------------------------------------------
    def tick(self) -> None:
        """The live refresh: one snapshot at a time, none while paused or while another screen is on top."""
        if self.paused or self._inflight or not self.is_current:
            return
        self._request()

    def _request(self) -> None:
        self._inflight = True
        self._load(self.pid)

    @work(thread=True, group="stacks")
    def _load(self, pid: int) -> None:
        try:
            stacks = self.source.stacks(pid)
        except Exception as exc:  # shown in the status line; the next tick tries again
            self.post_message(StacksFailed(exc))
            return
        self.post_message(StacksLoaded(stacks))

    def action_refresh_now(self) -> None:
        if self._inflight:
            self._manual = True
            return
        self._manual = True
        self._request()

    @on(StacksLoaded)
    def _loaded(self, message: StacksLoaded) -> None:
        self._inflight = False
        manual, self._manual = self._manual, False
        if self.paused and not manual:
            return  # paused: what is shown stays as it was
        self.stacks = message.stacks
        self.error = None
        self.loads += 1
        self._show()

    @on(StacksFailed)
    def _failed(self, message: StacksFailed) -> None:
        self._inflight = False
        self._manual = False
        self.error = visible(f"reading the stacks failed: {message.error}")
        self._show_status()

    # view ------------------------------------------------------------------
    def shown_threads(self) -> tuple[ThreadStack, ...]:
        if self.stacks is None:
            return ()
        return tuple(t for t in self.stacks.threads if thread_matches(t, self.needle))

    def _show(self) -> None:
        body = self.query_one("#stacks-body", Static)
        if self.stacks is not None:
            shown = self.shown_threads()
            key = (shown, bool(self.stacks.threads))
            if key == self._shown_key:  # the usual live refresh: same stacks, only the status changes
                self._show_status()
                return
            self._shown_key = key
            if shown:
                body.update(render.stacks_text(shown))
            elif self.stacks.threads:
                body.update(Text("no thread matches the filter", style="yellow"))
            else:
                body.update(Text("no Python threads found", style="yellow"))
        self._show_status()

    def _show_status(self) -> None:
        status = Text()
        s = self.stacks
        if s is not None:
            status.append(f"CPython {visible(s.version)}", style="bold")
            status.append(f"  {len(self.shown_threads())} of {len(s.threads)} threads")
            status.append(f"  read in {s.elapsed_ms:.1f} ms")
            if s.partial:
                status.append("  PARTIAL", style="bold yellow")
        if self.paused:
            status.append("  ⏸ paused", style="bold yellow")
        elif self.interval > 0:
            status.append(f"  live, every {self.interval:g} s", style="green")
        else:
            status.append("  r refreshes", style="dim")
        if self.needle:
            status.append("  filter: ", style="bold")
            status.append(visible(self.needle))
        if self.error:
            status.append(f"\n{self.error}", style="bold red")
        for problem in s.problems if s is not None else ():
            status.append(f"\n! {visible(problem)}", style="yellow")
        self.query_one("#stacks-status", Static).update(status)

    # actions -----------------------------------------------------------------
    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self._show_status()

    def action_filter(self) -> None:
        box = self.query_one("#stacks-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#stacks-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.needle = event.value.strip()
        self._show()

    @on(Input.Submitted, "#stacks-filter")
    def _filter_done(self) -> None:
        self._leave_filter()

    def _leave_filter(self) -> None:
        box = self.query_one("#stacks-filter", Input)
        if not box.value:
            box.display = False
        self.query_one("#stacks-view", VerticalScroll).focus()

    def copy_text(self) -> str:
        """What c copies: the threads shown (the filter applies), as `safeattach stack PID` prints them."""
        assert self.stacks is not None
        return "\n".join(render_stacks(replace(self.stacks, threads=self.shown_threads()))) + "\n"

    def action_copy(self) -> None:
        if self.stacks is None:
            self.notify("no stacks read yet", severity="warning")
            return
        text = self.copy_text()
        self.app.copy_to_clipboard(text)
        count = len(self.shown_threads())
        self.notify(f"copied {count} thread(s), {text.count(chr(10))} lines, as `safeattach stack` text")

    def action_back(self) -> None:
        if self.focused is self.query_one("#stacks-filter", Input):
            self._leave_filter()
        else:
            super().action_back()

    def action_threads(self) -> None:
        self.show(ReportView.THREADS)

    def action_offsets(self) -> None:
        self.show(ReportView.OFFSETS)
