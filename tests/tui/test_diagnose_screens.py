"""Pilot tests of issue 10's console part: the Stacks screen (live refresh, pause, filter, copy), the doctor's
findings on the Attach screen before Run, and the attempt statistics panel of the Log screen."""

from __future__ import annotations

import threading
from dataclasses import replace

from textual.widgets import Input

from app.render.listings import render_stacks
from app.tui.screens.attach import AttachScreen
from app.tui.screens.help import HelpScreen
from app.tui.screens.log import LogScreen, StatsScreen
from app.tui.screens.report import ThreadsScreen
from app.tui.screens.stacks import StacksScreen
from core.doctor.model import Diagnosis
from core.walk.model import ProcessStacks

from .fake_engine import (
    BLOCKED_PID,
    BUSY_PID,
    DISABLED_PID,
    MARKUP_FUNCTION,
    MARKUP_PID,
    MARKUP_THREAD_NAME,
    FakeEngine,
)
from .helpers import make_app, select_pid, settle, static_text, wait_until


class GatedEngine(FakeEngine):
    """stacks() and diagnose() wait for their gate: a slow target, to show the UI thread is never blocked."""

    def __init__(self) -> None:
        super().__init__()
        self.stacks_gate = threading.Event()
        self.doctor_gate = threading.Event()
        self.stacks_entered = threading.Event()
        self.readers = 0  # stacks() calls started

    def stacks(self, pid: int) -> ProcessStacks:
        with self._lock:
            self.readers += 1
        self.stacks_entered.set()
        assert self.stacks_gate.wait(30)
        return super().stacks(pid)

    def diagnose(self, pid: int) -> Diagnosis:
        assert self.doctor_gate.wait(30)
        return super().diagnose(pid)


async def open_stacks(pilot: object, pid: int = BUSY_PID) -> StacksScreen:
    await select_pid(pilot, pid)  # type: ignore[arg-type]
    await pilot.press("k")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    screen = pilot.app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, StacksScreen)
    return screen


def body(pilot: object) -> str:
    return static_text(pilot, "#stacks-body")  # type: ignore[arg-type]


def status(pilot: object) -> str:
    return static_text(pilot, "#stacks-status")  # type: ignore[arg-type]


async def test_stacks_show_every_thread_with_its_whole_stack_innermost_first() -> None:
    async with make_app(stacks_interval=0).run_test(size=(80, 24)) as pilot:
        await open_stacks(pilot)
        text = body(pilot)
        assert 'Thread 4242 "python3.14"  main  interp 0  GIL yes  R running' in text
        assert 'Thread 4243 "worker-1"  interp 0  GIL no  S futex_wait_queue' in text
        assert "Thread 4244" in text
        lines = [line.strip() for line in text.splitlines()]
        main = lines.index("crunch (/srv/app/busy.py:12)")
        assert lines[main + 1 : main + 3] == ["Job.run (/srv/app/jobs.py:88)", "<module> (/srv/app/busy.py:6)"]
        assert "3 of 3 threads" in status(pilot)
        assert "Thread._bootstrap (/usr/lib/python3.14/threading.py:1032)" in text


async def test_stacks_show_target_text_as_escapes_never_markup() -> None:
    async with make_app(stacks_interval=0).run_test(size=(120, 36)) as pilot:
        await open_stacks(pilot, MARKUP_PID)
        text = body(pilot)
        assert "\x1b" not in text and "\x07" not in text
        assert '"\\x1b[31mpwn\\x07"' in text
        assert MARKUP_FUNCTION in text  # the literal brackets: not interpreted as markup
        assert "/tmp/\\x1b]52;c;bad\\x07.py:3" in text
        assert MARKUP_THREAD_NAME not in text


async def test_stacks_refresh_live_in_a_worker_and_pause_freezes_the_view() -> None:
    engine = FakeEngine()
    async with make_app(engine, stacks_interval=0.05).run_test(size=(80, 24)) as pilot:
        screen = await open_stacks(pilot)
        for _ in range(400):  # bounded: the timer keeps asking for snapshots
            if screen.loads >= 3:
                break
            await pilot.pause(0.02)
        assert screen.loads >= 3 and "live, every 0.05 s" in status(pilot)

        await pilot.press("p")
        await settle(pilot)
        frozen, calls = body(pilot), engine.stack_calls
        busy = engine.stack_data[BUSY_PID]
        engine.stack_data[BUSY_PID] = replace(busy, threads=busy.threads[:1])
        screen.tick()  # what the timer does: nothing while paused
        await settle(pilot)
        assert engine.stack_calls == calls and body(pilot) == frozen
        assert "paused" in status(pilot) and "3 of 3 threads" in status(pilot)

        await pilot.press("p")
        await wait_until(pilot, lambda: "1 of 1 threads" in status(pilot), tries=2000)
        assert "Thread 4243" not in body(pilot)


async def test_stacks_refresh_key_reads_once_even_when_paused() -> None:
    engine = FakeEngine()
    async with make_app(engine, stacks_interval=0).run_test(size=(80, 24)) as pilot:
        await open_stacks(pilot)
        await pilot.press("p")
        engine.stack_data[BUSY_PID] = replace(engine.stack_data[BUSY_PID], threads=())
        await pilot.press("r")
        await settle(pilot)
        assert "no Python threads found" in body(pilot)
        assert "paused" in status(pilot)


async def test_a_slow_snapshot_never_blocks_the_ui_and_only_one_is_in_flight() -> None:
    engine = GatedEngine()
    engine.doctor_gate.set()
    async with make_app(engine, stacks_interval=0.01).run_test(size=(80, 24)) as pilot:
        await select_pid(pilot, BUSY_PID)
        await pilot.press("k")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, StacksScreen), tries=2000)
        assert engine.stacks_entered.wait(10)
        screen = pilot.app.screen
        assert isinstance(screen, StacksScreen)
        for _ in range(10):
            screen.tick()
            await pilot.pause(0.02)
        assert engine.readers == 1  # still inside the first read: no second reader was started
        await pilot.press("slash", *"worker_1")  # the UI answers while the read is stuck
        assert screen.query_one("#stacks-filter", Input).value == "worker_1"
        assert "reading the stacks" in body(pilot)
        engine.stacks_gate.set()
        await wait_until(pilot, lambda: screen.loads >= 1, tries=2000)
        assert "1 of 3 threads" in status(pilot)
        await pilot.press("escape")  # leaves the filter, not the screen
        engine.stacks_gate.set()
        await pilot.pause()
        assert isinstance(pilot.app.screen, StacksScreen)


async def test_stacks_filter_by_tid_name_and_function() -> None:
    async with make_app(stacks_interval=0).run_test(size=(80, 24)) as pilot:
        screen = await open_stacks(pilot)
        box = screen.query_one("#stacks-filter", Input)
        assert not box.display
        await pilot.press("slash", *"worker_2")
        assert box.display and screen.focused is box
        assert [t.native_thread_id for t in screen.shown_threads()] == [4244]
        assert "1 of 3 threads" in status(pilot) and "filter: worker_2" in status(pilot)
        assert "Thread 4242" not in body(pilot)

        box.value = "4243"  # a TID
        await pilot.pause()
        assert [t.native_thread_id for t in screen.shown_threads()] == [4243]
        box.value = "PYTHON3"  # a thread name, case-insensitive
        await pilot.pause()
        assert [t.native_thread_id for t in screen.shown_threads()] == [4242]
        box.value = "Job.run"  # a qualified function name
        await pilot.pause()
        assert [t.native_thread_id for t in screen.shown_threads()] == [4242]
        box.value = "Condition.wait"  # a function deeper than the innermost frame: every worker
        await pilot.pause()
        assert [t.native_thread_id for t in screen.shown_threads()] == [4243, 4244]
        box.value = "nothing-like-this"
        await pilot.pause()
        assert "no thread matches the filter" in body(pilot)

        await pilot.press("enter")
        assert screen.focused is not box and box.display  # a non-empty filter stays shown
        await pilot.press("slash")
        box.value = ""
        await pilot.press("escape")
        assert not box.display and isinstance(pilot.app.screen, StacksScreen)
        assert "3 of 3 threads" in status(pilot)
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, StacksScreen)


async def test_stacks_copy_is_the_stack_command_text_and_notifies() -> None:
    engine = FakeEngine()
    async with make_app(engine, stacks_interval=0).run_test(size=(80, 24)) as pilot:
        await open_stacks(pilot)
        await pilot.press("c")
        await pilot.pause()
        expected = "\n".join(render_stacks(engine.stack_data[BUSY_PID])) + "\n"
        assert pilot.app.clipboard == expected
        assert expected.startswith("PID 4242  CPython 3.14.0  3 thread(s)")
        notes = [n.message for n in pilot.app._notifications]
        assert any("copied 3 thread(s)" in m for m in notes)

        await pilot.press("slash", *"worker_1", "enter", "c")
        await pilot.pause()
        only = replace(engine.stack_data[BUSY_PID], threads=engine.stack_data[BUSY_PID].threads[1:2])
        assert pilot.app.clipboard == "\n".join(render_stacks(only)) + "\n"
        assert "1 thread(s)" in pilot.app.clipboard


async def test_stacks_copy_of_target_text_is_escaped() -> None:
    async with make_app(stacks_interval=0).run_test(size=(80, 24)) as pilot:
        await open_stacks(pilot, MARKUP_PID)
        await pilot.press("c")
        await pilot.pause()
        assert "\x1b" not in pilot.app.clipboard and "\\x1b]52;c;bad\\x07" in pilot.app.clipboard


async def test_stacks_reachable_from_offsets_and_threads_and_back() -> None:
    async with make_app(stacks_interval=0).run_test(size=(80, 24)) as pilot:
        await select_pid(pilot, BUSY_PID)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ThreadsScreen)
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(pilot.app.screen, StacksScreen)
        await pilot.press("t")
        assert isinstance(pilot.app.screen, ThreadsScreen)


async def test_help_lists_the_stacks_and_statistics_keys() -> None:
    async with make_app().run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        text = static_text(pilot, "#help-body")
        for line in ("Stacks", "Pause", "Copy", "Statistics"):
            assert line in text


async def test_attach_shows_the_doctors_blocking_finding_and_fixes_before_run() -> None:
    engine = FakeEngine()
    async with make_app(engine).run_test(size=(80, 24)) as pilot:
        await select_pid(pilot, DISABLED_PID)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(pilot.app.screen, AttachScreen)
        text = static_text(pilot, "#doctor")
        assert "an attach would fail at policy (exit 20)" in text
        assert "FAIL policy: the target opted out of remote debugging" in text
        assert "fix 1: restart it without PYTHON_DISABLE_REMOTE_DEBUG" in text
        assert "fix 2:" in text
        assert engine.requests == []  # nothing was run


async def test_attach_doctor_clean_and_warning_targets() -> None:
    async with make_app().run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, BUSY_PID)
        await pilot.press("a")
        await settle(pilot)
        text = static_text(pilot, "#doctor")
        assert "an attach should work" in text and "path: safe" in text and "FAIL" not in text
        await pilot.press("escape")
        await select_pid(pilot, BLOCKED_PID)
        await pilot.press("a")
        await settle(pilot)
        text = static_text(pilot, "#doctor")
        assert "an attach should work" in text
        assert "warn threads.blocked: the main thread is parked in clock_nanosleep" in text


async def test_attach_screen_is_usable_while_the_doctor_runs() -> None:
    engine = GatedEngine()
    async with make_app(engine, default_script="/srv/tools/x.py").run_test(size=(80, 24)) as pilot:
        await select_pid(pilot, BUSY_PID)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, AttachScreen), tries=2000)
        await pilot.pause()
        assert "doctor: checking PID 4242" in static_text(pilot, "#doctor")
        await pilot.press("ctrl+r")  # Run does not wait for the doctor
        await wait_until(pilot, lambda: bool(engine.requests), tries=2000)
        engine.doctor_gate.set()
        await settle(pilot)
        assert "an attach should work" in static_text(pilot, "#doctor")


async def test_log_statistics_panel() -> None:
    async with make_app().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(pilot.app.screen, LogScreen)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(pilot.app.screen, StatsScreen)
        summary = static_text(pilot, "#stats-summary")
        assert "5 attempt(s): 40% succeeded, 0% fell back to legacy" in summary
        assert "P50 38 ms, P95 41 ms" in summary
        groups = static_text(pilot, "#stats-groups")
        assert "path safe" in groups and "method safe" in groups and "version 3.14" in groups
        assert "3.15" in groups
        failures = static_text(pilot, "#stats-failures")
        assert "policy/policyDisabled" in failures and "awaitRun/timeoutRun" in failures
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, LogScreen)


async def test_stacks_scroll_with_the_keyboard_at_80x24() -> None:
    async with make_app(stacks_interval=0).run_test(size=(80, 24)) as pilot:
        screen = await open_stacks(pilot)
        view = screen.query_one("#stacks-view")
        assert screen.focused is view and view.max_scroll_y > 0  # 3 threads do not fit in 24 rows
        await pilot.press("end")
        await pilot.pause()
        assert view.scroll_y == view.max_scroll_y
        await pilot.press("home", "down")
        await pilot.pause()
        assert view.scroll_y == 1
