"""The attach console (Textual) over core.source.EngineSource: `run_console(source)`."""

from app.tui.app import SafeAttachApp, run_console

__all__ = ["SafeAttachApp", "run_console"]
