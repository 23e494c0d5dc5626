"""The help: every key binding of every screen, as the app collects them from the BINDINGS (so it cannot drift)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from app.tui.styles import css

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

Section = tuple[str, list[Binding]]  # a title and its keys


def bindings(items: Iterable[BindingType]) -> list[Binding]:
    return [b for b in items if isinstance(b, Binding)]


def key_label(key: str) -> str:
    names = {"slash": "/", "question_mark": "?", "escape": "Esc", "enter": "Enter"}
    return ", ".join(names.get(k, k.replace("ctrl+", "Ctrl+")) for k in key.split(","))


def help_table(sections: list[Section]) -> Table:
    table = Table(box=None, padding=(0, 2), show_header=False, expand=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for title, section in sections:
        table.add_row(Text(title, style="bold underline"), "")
        seen: dict[str, list[str]] = {}
        for b in section:
            desc = b.description or b.action.replace("_", " ")
            seen.setdefault(desc, []).append(key_label(b.key))
        for desc, keys in seen.items():
            table.add_row(Text(" / ".join(keys)), Text(desc))
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    CSS_PATH = css("help")
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, sections: list[Section]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog") as dialog:
            dialog.border_title = "safeattach console — keys"
            dialog.border_subtitle = "Esc to close · Ctrl+P: command palette"
            yield Static(help_table(self.sections), id="help-body")

    def action_close(self) -> None:
        self.dismiss(None)
