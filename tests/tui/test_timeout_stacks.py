"""A timeoutRun outcome on the Attach screen shows the stacks the attempt waited on (issue 10)."""

from __future__ import annotations

from textual.widgets import Input

from app.render.rich import waited_stacks_text
from app.tui.screens.attach import AttachScreen
from core.text import visible

from .fake_engine import BLOCKED_PID, MARKUP_FUNCTION, MARKUP_PID, MARKUP_THREAD_NAME, fake_stacks
from .helpers import make_app, plain, select_pid, settle, static_text


async def test_a_timeout_shows_the_waited_on_stack_under_the_hint() -> None:
    async with make_app().run_test(size=(80, 24)) as pilot:
        await select_pid(pilot, BLOCKED_PID)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(pilot.app.screen, AttachScreen)
        pilot.app.screen.query_one("#timeout", Input).value = "0.1"
        pilot.app.screen.query_one("#script", Input).value = "/srv/tools/dump_stacks.py"
        await pilot.press("ctrl+r")
        await settle(pilot)
        text = static_text(pilot, "#outcome")
        assert "kind: timeoutRun" in text
        assert text.index("hint:") < text.index("waited on:")
        assert 'thread 4247 "python3.14"  main  state S (clock_nanosleep)' in text
        assert "<module> (/srv/app/blocked.py:4)" in text
        assert "stacks:" not in text  # not also dumped raw among the result's keys


def test_waited_stacks_are_compact_and_escaped() -> None:
    thread = fake_stacks()[MARKUP_PID].threads[0]
    deep = thread.to_dict()
    deep["frames"] = deep["frames"] * 3  # 6 frames: 3 shown
    text = plain(waited_stacks_text([deep]))
    assert "\x1b" not in text and "\x07" not in text
    assert visible(MARKUP_THREAD_NAME) in text and MARKUP_FUNCTION in text  # markup shown literally
    assert "… 3 more frame(s)" in text
    assert waited_stacks_text([]) is None and waited_stacks_text(None) is None
