"""Every key binding of every screen, generated from the BINDINGS so it cannot drift."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from app.tui.styles import css


def _bindings(items: Iterable[BindingType]) -> list[Binding]:
    return [b for b in items if isinstance(b, Binding)]


def key_label(key: str) -> str:
    names = {"slash": "/", "question_mark": "?", "escape": "Esc", "enter": "Enter"}
    return ", ".join(names.get(k, k.replace("ctrl+", "Ctrl+")) for k in key.split(","))


def help_table(sections: list[tuple[str, list[Binding]]]) -> Table:
    table = Table(box=None, padding=(0, 2), show_header=False, expand=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for title, bindings in sections:
        table.add_row(Text(title, style="bold underline"), "")
        seen: dict[str, list[str]] = {}
        for b in bindings:
            desc = b.description or b.action.replace("_", " ")
            seen.setdefault(desc, []).append(key_label(b.key))
        for desc, keys in seen.items():
            table.add_row(Text(" / ".join(keys)), Text(desc))
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    CSS_PATH = css("help")
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, sections: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog") as dialog:
            dialog.border_title = "safeattach console — keys"
            dialog.border_subtitle = "Esc to close · Ctrl+P: command palette"
            yield Static(help_table(self.sections), id="help-body")

    def action_close(self) -> None:
        self.dismiss(None)


def all_sections() -> list[tuple[str, list[Binding]]]:
    from app.tui.app import SafeAttachApp
    from app.tui.screens.attach import AttachScreen
    from app.tui.screens.log import LogScreen, StatsScreen
    from app.tui.screens.processes import ProcessesScreen
    from app.tui.screens.report import OffsetsScreen, ReportScreen, ThreadsScreen
    from app.tui.screens.stacks import StacksScreen
    from app.tui.screens.tasks import TasksScreen

    return [
        ("Everywhere", _bindings(SafeAttachApp.BINDINGS)),
        ("Processes", _bindings(ProcessesScreen.BINDINGS)),
        ("Offsets", _bindings([*OffsetsScreen.BINDINGS, *ReportScreen.BINDINGS])),
        ("Threads", _bindings([*ThreadsScreen.BINDINGS, *ReportScreen.BINDINGS])),
        ("Stacks", _bindings([*StacksScreen.BINDINGS, *ReportScreen.BINDINGS])),
        ("Tasks", _bindings([*TasksScreen.BINDINGS, *ReportScreen.BINDINGS])),
        ("Attach", _bindings(AttachScreen.BINDINGS)),
        ("Log", _bindings(LogScreen.BINDINGS)),
        ("Statistics", _bindings(StatsScreen.BINDINGS)),
    ]
