"""A modal showing a SafeAttachError (or any error) with its message and hint."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from app.tui.styles import css
from core.errors import SafeAttachError
from core.text import visible


class ErrorScreen(ModalScreen[None]):
    CSS_PATH = css("errors")
    BINDINGS = [
        Binding("escape", "dismiss_error", "Close"),
        Binding("enter", "dismiss_error", "Close", show=False),
    ]

    def __init__(self, title: str, message: str, hint: str = "", kind: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.hint = hint
        self.kind = kind

    @classmethod
    def from_error(cls, title: str, error: BaseException) -> ErrorScreen:
        if isinstance(error, SafeAttachError):
            return cls(title, error.message, error.hint, error.kind.value)
        return cls(title, f"{type(error).__name__}: {error}", "This is unexpected; please report it.")

    def compose(self) -> ComposeResult:
        body = Text()
        body.append(visible(self.message), style="bold")
        if self.kind:
            body.append(f"\n\nkind: {self.kind}", style="dim")
        if self.hint:
            body.append("\n\nhint: ", style="bold yellow")
            body.append(visible(self.hint))
        with Vertical(id="error-dialog") as dialog:
            dialog.border_title = self.title_text
            dialog.border_subtitle = "Esc to close"
            yield Static(body, id="error-body")

    def action_dismiss_error(self) -> None:
        self.dismiss(None)
