"""The attach console: a Textual app over any core.source.EngineSource.

Engine calls run in thread workers that post messages; widgets are only changed on the UI thread. Only the
Processes screen is imported with the app: the others load when first opened, after the first paint.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen

from app.tui.first_listing import FirstListing
from app.tui.messages import OpenAttach, OpenLog, OpenReport, ReportView, SwitchView
from app.tui.screens.processes import ProcessesScreen
from app.tui.styles import css
from core.model import ProcessReport
from core.source import EngineSource

if TYPE_CHECKING:  # the other screens are imported where they are opened (12-20 ms less before the first paint)
    from collections.abc import Awaitable, Callable, Iterable, Iterator

    from app.tui.screens.help import Section
    from app.tui.screens.report import ReportScreen


class Inspected(Message):
    def __init__(self, report: ProcessReport, view: ReportView) -> None:
        super().__init__()
        self.report = report
        self.view = view


class InspectFailed(Message):
    def __init__(self, pid: int, error: BaseException) -> None:
        super().__init__()
        self.pid = pid
        self.error = error


class SafeAttachApp(App[int]):
    TITLE = "safeattach"
    # processes.tcss here too: Textual loads a screen's CSS_PATH when the screen is pushed, never for the
    # default screen (get_default_screen)
    CSS_PATH = [css("app"), css("processes")]
    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("l", "log", "Log"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+p", "command_palette", "Commands", show=False),
    ]

    def __init__(
        self,
        source: EngineSource,
        *,
        refresh_interval: float = 2.0,
        stacks_interval: float = 0.3,
        spinners: bool = True,
        default_script: str = "",
        notice: str = "",
        first: FirstListing | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.refresh_interval = refresh_interval
        self.stacks_interval = stacks_interval  # the Stacks screen's live refresh; 0: only on open and on r
        self.spinners = spinners  # False: static spinner glyphs (deterministic snapshots)
        self.default_script = default_script
        self.notice = notice
        self.first = first  # the process listing started before the console loaded (app.tui.first_listing)
        self.inspecting: int | None = None

    def get_default_screen(self) -> ProcessesScreen:
        # the Processes screen is the base of the stack: no empty default screen is composed and styled first
        return ProcessesScreen(self.source, self.refresh_interval, self.first)

    def on_mount(self) -> None:
        if self.notice:
            self.notify(self.notice, timeout=6)

    # navigation: the screens post these messages (app/tui/messages.py) -----------
    @on(OpenReport)
    def _open_report(self, message: OpenReport) -> None:
        self.inspecting = message.pid
        self._inspect(message.pid, message.view)

    @work(thread=True, exclusive=True, group="inspect")
    def _inspect(self, pid: int, view: ReportView) -> None:
        try:
            report = self.source.inspect(pid)
        except Exception as exc:
            self.post_message(InspectFailed(pid, exc))
            return
        self.post_message(Inspected(report, view))

    @on(Inspected)
    def _inspected(self, message: Inspected) -> None:
        self.inspecting = None
        self.push_screen(self.report_screen(message.report, message.view))

    @on(InspectFailed)
    def _inspect_failed(self, message: InspectFailed) -> None:
        from app.tui.screens.errors import ErrorScreen

        self.inspecting = None
        self.push_screen(ErrorScreen.from_error(f"Cannot inspect PID {message.pid}", message.error))

    @on(SwitchView)
    def _switch_view(self, message: SwitchView) -> None:
        self.switch_screen(self.report_screen(message.report, message.view))

    def report_screen(self, report: ProcessReport, view: ReportView) -> ReportScreen:
        from app.tui.screens.report import OffsetsScreen, ThreadsScreen
        from app.tui.screens.stacks import StacksScreen
        from app.tui.screens.tasks import TasksScreen

        if view is ReportView.OFFSETS:
            return OffsetsScreen(report)
        if view is ReportView.STACKS:
            return StacksScreen(report, self.source, self.stacks_interval)
        if view is ReportView.TASKS:
            return TasksScreen(report, self.source)
        return ThreadsScreen(report)

    @on(OpenAttach)
    def _open_attach(self, message: OpenAttach) -> None:
        from app.tui.screens.attach import AttachScreen

        self.push_screen(AttachScreen(message.process, self.source, self.default_script, spinners=self.spinners))

    @on(OpenLog)
    def _open_log(self) -> None:
        from app.tui.screens.log import LogScreen

        if not isinstance(self.screen, LogScreen):
            self.push_screen(LogScreen(self.source))

    # actions -------------------------------------------------------------------
    def action_help(self) -> None:
        from app.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(help_sections()))

    def action_log(self) -> None:
        self._open_log()

    def action_quit(self) -> None:  # type: ignore[override]
        self.exit(0)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not active.enabled or not binding.description or binding.description in seen:
                continue
            if binding.action in ("command_palette", "quit"):
                continue
            seen.add(binding.description)
            yield SystemCommand(
                binding.description,
                f"key: {binding.key}",
                self._runner(binding.action, active.node),
            )

    def _runner(self, action: str, node: DOMNode) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await self.run_action(action, node)

        return run


def help_sections() -> list[Section]:
    """Every screen's keys, from the BINDINGS (so the help cannot drift from them)."""
    from app.tui.screens.attach import AttachScreen
    from app.tui.screens.help import bindings
    from app.tui.screens.log import LogScreen, StatsScreen
    from app.tui.screens.report import OffsetsScreen, ReportScreen, ThreadsScreen
    from app.tui.screens.stacks import StacksScreen
    from app.tui.screens.tasks import TasksScreen

    def report(screen: type[ReportScreen]) -> list[Binding]:
        both: list[BindingType] = [*screen.BINDINGS, *ReportScreen.BINDINGS]
        return bindings(both)

    return [
        ("Everywhere", bindings(SafeAttachApp.BINDINGS)),
        ("Processes", bindings(ProcessesScreen.BINDINGS)),
        ("Offsets", report(OffsetsScreen)),
        ("Threads", report(ThreadsScreen)),
        ("Stacks", report(StacksScreen)),
        ("Tasks", report(TasksScreen)),
        ("Attach", bindings(AttachScreen.BINDINGS)),
        ("Log", bindings(LogScreen.BINDINGS)),
        ("Statistics", bindings(StatsScreen.BINDINGS)),
    ]


def run_console(source: EngineSource, *, demo: bool = False, first: FirstListing | None = None) -> int:
    """Run the console until the user quits; returns the exit code. `first`: a listing of `source` already
    under way (started before textual was imported); with `demo` one is started once the targets run, in a
    thread (app.tui.first_listing says why)."""
    if not demo:
        return _run(SafeAttachApp(source, first=first))
    from app.demo import PAYLOAD_SCRIPT, demo_targets

    with _exit_on_hangup(), demo_targets() as targets:
        names = ", ".join(f"{t.role} (PID {t.pid}, {t.interpreter})" for t in targets)
        app = SafeAttachApp(source, default_script=str(PAYLOAD_SCRIPT), notice=f"demo targets: {names}",
                            first=FirstListing.start(source, fork=False))  # its targets are our children
        return _run(app)


@contextmanager
def _exit_on_hangup() -> Iterator[None]:
    """SIGTERM/SIGHUP (a closed terminal) unwind the stack, so the demo targets are still reaped."""

    def unwind(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, unwind) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(app: SafeAttachApp) -> int:
    code = app.run()
    return code if isinstance(code, int) else 0
