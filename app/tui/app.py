"""The attach console: a Textual app over any core.source.EngineSource.

Engine calls run in thread workers that post messages; widgets are only changed on the UI thread.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen

from app.tui.screens.attach import AttachScreen
from app.tui.screens.errors import ErrorScreen
from app.tui.screens.help import HelpScreen, all_sections
from app.tui.screens.log import LogScreen
from app.tui.screens.processes import ProcessesScreen
from app.tui.screens.report import OffsetsScreen, ThreadsScreen
from app.tui.screens.stacks import StacksScreen
from app.tui.screens.tasks import TasksScreen
from app.tui.styles import css
from core.model import ProcessReport, ProcessSummary
from core.source import EngineSource


class Inspected(Message):
    def __init__(self, report: ProcessReport, view: str) -> None:
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
    CSS_PATH = css("app")
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
    ) -> None:
        super().__init__()
        self.source = source
        self.refresh_interval = refresh_interval
        self.stacks_interval = stacks_interval  # the Stacks screen's live refresh; 0: only on open and on r
        self.spinners = spinners  # False: static spinner glyphs (deterministic snapshots)
        self.default_script = default_script
        self.notice = notice
        self.inspecting: int | None = None

    def on_mount(self) -> None:
        self.push_screen(ProcessesScreen(self.refresh_interval))
        if self.notice:
            self.notify(self.notice, timeout=6)

    # navigation used by the screens ------------------------------------------
    def open_report(self, pid: int, view: str) -> None:
        self.inspecting = pid
        self._inspect(pid, view)

    @work(thread=True, exclusive=True, group="inspect")
    def _inspect(self, pid: int, view: str) -> None:
        try:
            report = self.source.inspect(pid)
        except Exception as exc:
            self.post_message(InspectFailed(pid, exc))
            return
        self.post_message(Inspected(report, view))

    @on(Inspected)
    def _inspected(self, message: Inspected) -> None:
        self.inspecting = None
        screen: Screen[None]
        if message.view == "offsets":
            screen = OffsetsScreen(message.report)
        elif message.view == "stacks":
            screen = StacksScreen(message.report, self.stacks_interval)
        elif message.view == "tasks":
            screen = TasksScreen(message.report)
        else:
            screen = ThreadsScreen(message.report)
        self.push_screen(screen)

    @on(InspectFailed)
    def _inspect_failed(self, message: InspectFailed) -> None:
        self.inspecting = None
        self.push_screen(ErrorScreen.from_error(f"Cannot inspect PID {message.pid}", message.error))

    def open_attach(self, process: ProcessSummary) -> None:
        self.push_screen(AttachScreen(process, self.default_script))

    def open_log(self) -> None:
        if not isinstance(self.screen, LogScreen):
            self.push_screen(LogScreen())

    # actions -------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(all_sections()))

    def action_log(self) -> None:
        self.open_log()

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


def run_console(source: EngineSource, *, demo: bool = False) -> int:
    """Run the console until the user quits; returns the exit code."""
    if not demo:
        return _run(SafeAttachApp(source))
    from app.demo import PAYLOAD_SCRIPT, demo_targets

    with _exit_on_hangup(), demo_targets() as targets:
        names = ", ".join(f"{t.role} (PID {t.pid}, {t.interpreter})" for t in targets)
        app = SafeAttachApp(source, default_script=str(PAYLOAD_SCRIPT), notice=f"demo targets: {names}")
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
