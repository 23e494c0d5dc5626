"""The console's app-wide messages: a screen posts one to ask for another screen, the app routes it.

Screens never import the app (app/tui/app.py imports the screens), so navigation is a message that bubbles from
the screen to the app; what a screen reads from the engine is handed to it when it is made.
"""

from __future__ import annotations

from enum import Enum

from textual.message import Message

from core.model import ProcessReport, ProcessSummary


class ReportView(Enum):
    """The views of one inspected process."""

    OFFSETS = "offsets"
    THREADS = "threads"
    STACKS = "stacks"
    TASKS = "tasks"


class OpenReport(Message):
    """Inspect a process, then show one view of its report (from the process list)."""

    def __init__(self, pid: int, view: ReportView) -> None:
        super().__init__()
        self.pid = pid
        self.view = view


class SwitchView(Message):
    """Replace the current report screen by another view of the same report (no new inspection)."""

    def __init__(self, report: ProcessReport, view: ReportView) -> None:
        super().__init__()
        self.report = report
        self.view = view


class OpenAttach(Message):
    """Open the attach form for a process."""

    def __init__(self, process: ProcessSummary) -> None:
        super().__init__()
        self.process = process


class OpenLog(Message):
    """Show the attempt log (unless it is shown already)."""
