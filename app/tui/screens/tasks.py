"""Tasks: the asyncio tasks of one 3.14+ process per thread (name, id, coroutine stack, who awaits whom) and
the await tree, with await cycles marked; refreshed on r.

The tasks are read in a thread worker that only posts a message. A target before 3.14 (or one that has not
imported asyncio) gets the engine's own message (unsupportedVersion) and hint instead of a tree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, Static

from app.render import rich as render
from app.tui.screens.report import ReportScreen, report_header
from app.tui.styles import css
from core.errors import SafeAttachError
from core.model import ProcessReport
from core.source import EngineSource
from core.text import visible

if TYPE_CHECKING:
    from core.walk.tasks import ProcessTasks


class TasksLoaded(Message):
    def __init__(self, tasks: ProcessTasks) -> None:
        super().__init__()
        self.tasks = tasks


class TasksFailed(Message):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class TasksScreen(ReportScreen):
    CSS_PATH = css("tasks")
    BINDINGS = [
        Binding("r", "refresh_now", "Refresh", id="tasks.refresh"),
    ]

    def __init__(self, report: ProcessReport, source: EngineSource) -> None:
        super().__init__(report)
        self.source = source
        self.tasks: ProcessTasks | None = None
        self.error: BaseException | None = None
        self.loads = 0  # answers shown (tasks or an error)
        self._inflight = False

    @property
    def pid(self) -> int:
        return self.report.summary.pid

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(report_header(self.report), id="report-header")
        yield Static(id="tasks-status")
        with VerticalScroll(id="tasks-view"):
            yield Static(Text("reading the asyncio tasks…", style="dim"), id="tasks-body")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Tasks · PID {self.pid}"
        self.query_one("#tasks-view", VerticalScroll).focus()
        self._show_status()
        self.action_refresh_now()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "tasks"  # the report screens' T: this is the Tasks screen already

    # data ------------------------------------------------------------------
    def action_refresh_now(self) -> None:
        if self._inflight:
            return
        self._inflight = True
        self._show_status()
        self._load(self.pid)

    @work(thread=True, group="tasks")
    def _load(self, pid: int) -> None:
        try:
            tasks = self.source.tasks(pid)
        except Exception as exc:
            self.post_message(TasksFailed(exc))
            return
        self.post_message(TasksLoaded(tasks))

    @on(TasksLoaded)
    def _loaded(self, message: TasksLoaded) -> None:
        self._inflight = False
        self.tasks, self.error = message.tasks, None
        self.loads += 1
        self._show()

    @on(TasksFailed)
    def _failed(self, message: TasksFailed) -> None:
        self._inflight = False
        self.tasks, self.error = None, message.error
        self.loads += 1
        self._show()

    # view ------------------------------------------------------------------
    def _show(self) -> None:
        body = self.query_one("#tasks-body", Static)
        if self.tasks is not None:
            body.update(render.tasks_text(self.tasks))
        elif self.error is not None:
            body.update(render.error_text(self.error, "reading the tasks"))
        self._show_status()

    def _show_status(self) -> None:
        status = Text()
        t = self.tasks
        if t is not None:
            count = sum(len(th.tasks) for th in t.threads)
            status.append(f"CPython {visible(t.version)}", style="bold")
            status.append(f"  {count} task(s), {len(t.threads)} thread(s)")
            status.append(f"  {t.elapsed_ms:.1f} ms")
            if t.cycles:
                status.append(f"  {len(t.cycles)} await cycle(s)", style="bold red")
            if t.partial:
                status.append("  PARTIAL", style="bold yellow")
        elif self.error is not None:
            kind = self.error.kind.value if isinstance(self.error, SafeAttachError) else "error"
            status.append(f"no task tree: {kind}", style="bold yellow")
        status.append("  reading…" if self._inflight else "  r refreshes", style="dim")
        self.query_one("#tasks-status", Static).update(status)

