"""Target-controlled text reaches a person's terminal with its control characters made visible; JSON keeps
it exact (the same through the CLI against a live target: tests/live/test_visible_text_live.py)."""

from __future__ import annotations

import os

import pytest
from hostile_text import CLEAR, EVIL_NAME, OSC52

from app.render import rich as tui_render
from app.viewmodel import AttemptView, reduce
from core.errors import FailureKind
from core.events import Outcome, Plan, StepFinished, StepOutput, StepSpec, StepStatus
from core.model import ProcessSummary
from core.text import visible, visible_block


@pytest.mark.parametrize(("raw", "shown"), [
    (OSC52, "\\x1b]52;c;aGVsbG8gcm9vdA==\\x07"),
    (CLEAR, "\\x1b[2J"),
    ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
    ("\x00\x7f\x9b\x85", "\\x00\\x7f\\x9b\\x85"),
    ("abc\u202egnp.exe", "abc\\u202egnp.exe"),
    ("\u2028", "\\u2028"),
    (os.fsdecode(b"bad\xffbyte"), "bad\\xffbyte"),
    ("plain é 中文 😀 ~!@#$%^&*()[]{}\\", "plain é 中文 😀 ~!@#$%^&*()[]{}\\"),
])
def test_visible(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_visible_block_keeps_newlines_only() -> None:
    assert visible_block("Traceback:\n  line\x1b[2J\r\nValueError: \x07") == \
        "Traceback:\n  line\\x1b[2J\nValueError: \\x07"


def _no_controls(text: str) -> None:
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text), repr(text)


def test_view_and_console_renderers_neutralise() -> None:
    view = AttemptView()
    for event in (
        Plan(1, "safe", "exec", (StepSpec("awaitRun", "Wait"),)),
        StepOutput("awaitRun", f"thread {EVIL_NAME}"),
        StepFinished("awaitRun", StepStatus.FAILED, 1.0, f"ran in thread {EVIL_NAME}", FailureKind.SCRIPT_FAILED,
                     "hint"),
        Outcome(False, 1, 1.0, f"the script raised ValueError: {OSC52}", FailureKind.SCRIPT_FAILED, "h",
                "awaitRun", {"traceback": f"Traceback\n  {CLEAR}\nValueError: {OSC52}", "exc_message": OSC52}),
    ):
        view = reduce(view, event)
    step = view.steps[0]
    _no_controls(step.message + "".join(step.output))
    assert "\\x1b[31m" in step.message
    text = tui_render.outcome_text(view).plain
    _no_controls(text)
    assert "\\x1b]52" in text and "Traceback\n" in text
    assert view.outcome is not None and view.outcome.result["exc_message"] == OSC52  # the event stays exact
    row = ProcessSummary(pid=1, user=f"u{CLEAR}", uid=0, cmdline=f"python3 {OSC52} {CLEAR}", start_time=0.0,
                         version=None, build=None, pep768_capable=False, remote_debug_enabled=None, container=False,
                         error=f"boom{CLEAR}")
    _no_controls(tui_render.command_cell(row).plain)
    _no_controls("".join(column[3](row).plain for column in tui_render.COLUMNS))
