"""Pilot tests of the console's key flows, over the fixed-data FakeEngine."""

from __future__ import annotations

import asyncio

from textual.containers import VerticalScroll
from textual.widgets import Checkbox, DataTable, Input, RadioButton, Tree

from app.tui.app import SafeAttachApp
from app.tui.row_table import RowTable
from app.tui.screens.attach import AttachScreen
from app.tui.screens.errors import ErrorScreen
from app.tui.screens.help import HelpScreen
from app.tui.screens.log import AttemptDetailScreen, LogScreen
from app.tui.screens.processes import ProcessesScreen
from app.tui.screens.report import OffsetsScreen, ThreadsScreen
from core.requests import Method, Payload

from .fake_engine import (
    BLOCKED_PID,
    BUSY_PID,
    DENIED_PID,
    DISABLED_PID,
    LEGACY_PID,
    MARKUP_CMDLINE,
    MARKUP_PID,
    FakeEngine,
)
from .helpers import column, make_app, select_pid, settle, static_text, table_rows, wait_until


def tree_lines(pilot: object) -> list[str]:
    tree = pilot.app.screen.query_one(Tree)  # type: ignore[attr-defined]
    out: list[str] = []

    def walk(node: object, depth: int) -> None:
        out.append("  " * depth + str(node.label))  # type: ignore[attr-defined]
        for child in node.children:  # type: ignore[attr-defined]
            walk(child, depth + 1)

    walk(tree.root, 0)
    return out


async def test_process_list_shows_every_row_with_error_reason() -> None:
    async with make_app().run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert isinstance(pilot.app.screen, ProcessesScreen)
        rows = table_rows(pilot, "#processes")
        assert [r[0] for r in rows] == ["4242", "4243", "4244", "4245", "4246", "4247", "4248"]
        denied = next(r for r in rows if r[0] == str(DENIED_PID))
        assert "permission denied reading /proc/4246/mem" in denied[-1]
        assert denied[5] == "error"
        assert "7 of 7 processes" in static_text(pilot, "#ps-status")
        assert "1 not inspectable" in static_text(pilot, "#ps-status")


async def test_markup_in_command_line_is_shown_literally() -> None:
    async with make_app().run_test(size=(200, 36)) as pilot:
        await settle(pilot)
        table = pilot.app.screen.query_one("#processes", RowTable)
        cell = table.get_row(str(MARKUP_PID))[-1]
        assert str(cell) == MARKUP_CMDLINE
        assert "[bold red]" in str(cell)
        # and it renders literally on screen, with no bold/red span coming from the text
        assert not [s for s in cell.spans if "red" in str(s.style)]
        lines = [table.render_line(y).text for y in range(table.size.height)]
        shown = next(line for line in lines if "not markup" in line)
        assert "[bold red]not markup[/bold red]" in shown and "[link=http://x]y[/link]" in shown


async def test_filter_and_sort_processes() -> None:
    async with make_app().run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert pilot.app.screen.focused is pilot.app.screen.query_one("#filter", Input)
        await pilot.press(*"alice")
        assert column(pilot, "#processes", 0) == ["4242", "4244", "4247"]
        # typing a key that is also a binding ("l" = log, "q" = quit) goes into the filter
        assert isinstance(pilot.app.screen, ProcessesScreen)
        await pilot.press("enter")
        assert pilot.app.screen.focused is pilot.app.screen.query_one("#processes", RowTable)
        assert "filter: alice" in static_text(pilot, "#ps-status")
        await pilot.press("slash", *["backspace"] * 5, "escape")
        assert len(column(pilot, "#processes", 0)) == 7
        # s cycles the sort column: pid -> user
        await pilot.press("s")
        assert column(pilot, "#processes", 1) == ["alice", "alice", "alice", "bob", "carol", "dave", "root"]
        assert "User ▲" in pilot.app.screen.query_one(RowTable).labels
        await pilot.press("s")  # -> version
        assert column(pilot, "#processes", 0)[:2] == [str(DENIED_PID), str(LEGACY_PID)]
        await pilot.press("S")  # reversed: newest first
        assert column(pilot, "#processes", 2)[0] == "3.15.0"


async def test_a_highlight_posted_before_a_refresh_moved_the_cursor_does_not_change_the_selection() -> None:
    async with make_app().run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, LEGACY_PID)
        screen = pilot.app.screen
        assert isinstance(screen, ProcessesScreen)
        table = screen.query_one("#processes", RowTable)
        # the message a Down posted, arriving after a refresh put the cursor back on LEGACY_PID
        stale = table.get_row_index(str(LEGACY_PID)) + 1
        table.post_message(RowTable.RowHighlighted(table, table.row_keys[stale], stale))
        await pilot.pause()
        assert screen.selected_pid == LEGACY_PID and table.cursor_key == str(LEGACY_PID)
        await pilot.press("down")  # a current one still moves the selection
        assert screen.selected_pid == int(table.row_keys[stale])


async def test_a_filter_hiding_the_selected_process_leaves_the_keys_nothing_to_open() -> None:
    async with make_app().run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, BUSY_PID)
        await pilot.press("slash", *"no-such-process", "enter")
        assert column(pilot, "#processes", 0) == []
        await pilot.press("o", "a")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ProcessesScreen)  # no Offsets, no Attach screen opened
        await pilot.press("slash", *["backspace"] * len("no-such-process"), "enter", "o")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, ProcessesScreen)  # shown again: o opens it


async def test_refresh_keeps_selection_by_pid() -> None:
    engine = FakeEngine()
    async with make_app(engine).run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, DISABLED_PID)
        # a new process appears before the selected one and another disappears
        engine.processes = [p for p in engine.processes if p.pid != BUSY_PID]
        engine.processes.insert(0, engine.processes[0].__class__(**{**vars(engine.processes[0]), "pid": 100}))
        await pilot.press("r")
        await settle(pilot)
        table = pilot.app.screen.query_one("#processes", RowTable)
        assert column(pilot, "#processes", 0)[0] == "100"
        assert table.get_row_at(table.cursor_row)[0].plain == str(DISABLED_PID)
        assert engine.list_calls == 2


async def test_select_offsets_threads_then_attach_success() -> None:
    engine = FakeEngine()
    async with make_app(engine, default_script="/tmp/hello.py").run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, BUSY_PID)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, OffsetsScreen)
        lines = tree_lines(pilot)
        assert any("layout 3.14" in line for line in lines)
        assert any("threads_head" in line and "+0x48" in line and "= 0x1e08" in line for line in lines)
        await pilot.press("t")
        assert isinstance(pilot.app.screen, ThreadsScreen)
        assert table_rows(pilot, "#threads")[0][:4] == ["4242", "0x7f0000000740", "yes", "yes"]
        await pilot.press("a")
        assert isinstance(pilot.app.screen, AttachScreen)
        await pilot.press("ctrl+r")
        await settle(pilot)
        steps = static_text(pilot, "#steps")
        assert steps.count("ok") == 9 and "1.5 ms" in steps
        assert "target picked the request up" in steps
        outcome = static_text(pilot, "#outcome")
        assert "attached" in outcome and 'Ran in thread "MainThread"' in outcome and "Took 12 ms: " in outcome
        assert "steps_ms" not in outcome and "flags" not in outcome  # sentences, not raw dicts
        assert engine.requests[-1].script == "/tmp/hello.py"
        assert engine.requests[-1].method is Method.AUTO
        assert engine.requests[-1].payload is Payload.EXEC


async def test_attach_failure_shows_hint() -> None:
    async with make_app(default_script="/tmp/hello.py").run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, DISABLED_PID)
        await pilot.press("a")
        await pilot.press("ctrl+r")
        await settle(pilot)
        steps = static_text(pilot, "#steps")
        assert "Check the target's remote-debug policy" in steps and "failed" in steps
        assert "hint: The target opted out of remote debugging" in steps
        assert steps.count("skipped") == 5
        outcome = static_text(pilot, "#outcome")
        assert "failed" in outcome and "policyDisabled" in outcome
        assert "PYTHON_DISABLE_REMOTE_DEBUG" in outcome
        assert pilot.app.screen.has_class("-failed")


async def test_attach_form_choices_reach_the_request() -> None:
    engine = FakeEngine()
    async with make_app(engine).run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, BUSY_PID)
        await pilot.press("a")
        screen = pilot.app.screen
        assert isinstance(screen, AttachScreen)
        await pilot.press("ctrl+r")  # no script yet: told so, nothing sent
        assert "enter the path of the script" in static_text(pilot, "#outcome")
        assert engine.requests == []
        screen.query_one("#method-legacy").value = True  # type: ignore[attr-defined]
        await pilot.press(*"/x.py", "tab")
        timeout = screen.query_one("#timeout", Input)
        timeout.value = "3"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert engine.requests[-1].method is Method.LEGACY
        assert engine.requests[-1].timeout == 3.0
        assert engine.requests[-1].script == "/x.py"


async def test_escape_cancels_mid_chain() -> None:
    engine = FakeEngine()
    async with make_app(engine, default_script="/tmp/hello.py").run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, BLOCKED_PID)
        await pilot.press("a")
        screen = pilot.app.screen
        assert isinstance(screen, AttachScreen)
        screen.query_one("#timeout", Input).value = "60"
        await pilot.press("ctrl+r")
        # handshake: the engine is now parked in its last step, waiting on the cancel token
        assert await asyncio.to_thread(engine.blocking.wait, 10)
        await wait_until(pilot, lambda: "running" in static_text(pilot, "#steps"))
        assert "◐ Wait for the target to run it" in static_text(pilot, "#steps")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, AttachScreen)  # escape cancelled, it did not leave
        outcome = static_text(pilot, "#outcome")
        assert "cancelled" in outcome and "withdrawn" in outcome
        assert engine.history[-1]["result"] == "cancelled"
        await pilot.press("escape")  # now nothing runs: escape goes back
        assert isinstance(pilot.app.screen, ProcessesScreen)


async def test_log_filters_and_detail() -> None:
    async with make_app().run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(pilot.app.screen, LogScreen)
        assert len(table_rows(pilot, "#attempts")) == 5
        await pilot.press("f")  # ok
        assert column(pilot, "#attempts", 5) == ["ok", "ok"]
        await pilot.press("f")  # failed
        assert column(pilot, "#attempts", 7) == ["timeoutRun", "policyDisabled"]
        await pilot.press("f", "f")  # cancelled -> all
        assert "result: all" in static_text(pilot, "#log-filters")
        await pilot.press("g")  # first failure site (sorted): awaitRun
        assert column(pilot, "#attempts", 7) == ["timeoutRun", "cancelled"]
        await pilot.press("f", "f")  # failed + awaitRun
        assert column(pilot, "#attempts", 7) == ["timeoutRun"]
        await pilot.press("enter")
        assert isinstance(pilot.app.screen, AttemptDetailScreen)
        detail = static_text(pilot, "#detail-fields") + static_text(pilot, "#detail-steps")
        assert "timeoutRun" in detail and "10000.0" in detail and "awaitRun" in detail
        await pilot.press("escape", "x")
        assert len(table_rows(pilot, "#attempts")) == 5
        await pilot.press("g", "g")  # next failure site: policy
        assert column(pilot, "#attempts", 6) == ["policy"]
        assert column(pilot, "#attempts", 7) == ["policyDisabled"]


async def test_new_attempt_appears_in_log() -> None:
    async with make_app(default_script="/tmp/hello.py").run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, DISABLED_PID)
        await pilot.press("a", "ctrl+r")
        await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        first = table_rows(pilot, "#attempts")[0]
        assert first[0] == "6" and first[2] == str(DISABLED_PID) and first[6] == "policy"


async def test_inspect_error_opens_modal_with_hint() -> None:
    async with make_app().run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, DENIED_PID)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ErrorScreen)
        body = static_text(pilot, "#error-body")
        assert "Operation not permitted" in body and "CAP_SYS_PTRACE" in body and "openProcess" in body
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, ProcessesScreen)


async def test_pre_313_offsets_show_what_was_recognised() -> None:
    async with make_app().run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, LEGACY_PID)
        await pilot.press("o")
        await settle(pilot)
        text = "\n".join(tree_lines(pilot))
        assert "No _Py_DebugOffsets (before 3.13)" in text
        assert "3.9.2" in text and "Py_Version symbol" in text
        assert "0x932d40" in text and "_PyRuntime symbol" in text
        assert "legacy injection (ptrace) is available" in text


async def test_offsets_validation_problems_visible() -> None:
    async with make_app().run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, MARKUP_PID)
        await pilot.press("o")
        await settle(pilot)
        text = "\n".join(tree_lines(pilot))
        assert "1 validation problem(s)" in text
        assert "⚠ beyond the runtime size (0x790)" in text


async def test_help_lists_bindings_and_palette_has_actions() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Offsets", "Threads", "Attach", "Filter", "Sort", "Refresh", "Help", "Log"):
            assert title in titles
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        body = static_text(pilot, "#help-body")
        for line in ("Ctrl+r", "Run attach", "Result filter", "Site filter", "Expand all", "Reverse"):
            assert line in body
        await pilot.press("escape")
        assert isinstance(app.screen, ProcessesScreen)


async def test_quit_returns_exit_code_zero() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_code == 0


async def test_narrow_layouts_fit_80_columns() -> None:
    async with make_app().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        labels = pilot.app.screen.query_one("#processes", RowTable).labels
        assert labels == ["PID ▲", "User", "Version", "768", "Policy", "Command"]
        await pilot.press("l")
        await settle(pilot)
        table = pilot.app.screen.query_one("#attempts", DataTable)
        assert [str(c.label) for c in table.columns.values()] == [
            "Time", "PID", "Version", "Result", "Failure site", "Kind"
        ]
        assert table_rows(pilot, "#attempts")[0][0] == "01-01 11:05:00"
        assert table.virtual_size.width <= 80


async def test_refresh_updates_changed_cell_in_place() -> None:
    engine = FakeEngine()
    async with make_app(engine).run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, LEGACY_PID)
        index = next(i for i, p in enumerate(engine.processes) if p.pid == MARKUP_PID)
        engine.processes[index] = engine.processes[index].__class__(
            **{**vars(engine.processes[index]), "user": "[red]mallory"}
        )
        await pilot.press("r")
        await settle(pilot)
        table = pilot.app.screen.query_one("#processes", RowTable)
        assert str(table.get_row(str(MARKUP_PID))[1]) == "[red]mallory"
        assert table.get_row_at(table.cursor_row)[0].plain == str(LEGACY_PID)


async def test_debugpy_attach_shows_where_to_connect() -> None:
    engine = FakeEngine()
    async with make_app(engine).run_test(size=(120, 36)) as pilot:
        await select_pid(pilot, BUSY_PID)
        await pilot.press("a")
        await settle(pilot)
        pilot.app.screen.query_one("#payload-debugpy", RadioButton).value = True
        await pilot.press("ctrl+r")
        await settle(pilot)
        outcome = static_text(pilot, "#outcome")
        assert "Connect any DAP client to 127.0.0.1:5678" in outcome
        assert "VS Code launch.json configuration" in outcome and '"request": "attach"' in outcome
        assert engine.requests[-1].payload is Payload.DEBUGPY


async def test_override_opt_out_needs_the_legacy_method() -> None:
    engine = FakeEngine()
    async with make_app(engine, default_script="/tmp/hello.py").run_test(size=(80, 24)) as pilot:
        await select_pid(pilot, DISABLED_PID)
        await pilot.press("a")
        await settle(pilot)
        pilot.app.screen.query_one("#override", Checkbox).value = True
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "applies to the legacy method only" in static_text(pilot, "#outcome")
        assert engine.requests == []
        pilot.app.screen.query_one("#method-legacy", RadioButton).value = True
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert engine.requests[-1].method is Method.LEGACY
        assert engine.requests[-1].allow_opted_out_legacy is True


async def test_spinner_does_not_pull_the_view_back_down() -> None:
    engine = FakeEngine()
    app = SafeAttachApp(engine, refresh_interval=0, spinners=True, default_script="/tmp/hello.py")  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        await select_pid(pilot, BLOCKED_PID)
        await pilot.press("a")
        screen = pilot.app.screen
        assert isinstance(screen, AttachScreen)
        screen.query_one("#timeout", Input).value = "60"
        await pilot.press("ctrl+r")
        assert await asyncio.to_thread(engine.blocking.wait, 10)
        await wait_until(pilot, lambda: "Wait for the target to run it" in static_text(pilot, "#steps"))
        progress = screen.query_one("#attach-progress", VerticalScroll)
        await wait_until(pilot, lambda: progress.max_scroll_y > 0 and progress.scroll_y == progress.max_scroll_y)
        progress.scroll_home(animate=False)
        await wait_until(pilot, lambda: progress.scroll_y == 0)
        before = static_text(pilot, "#steps")
        for _ in range(3):  # spinner ticks, driven directly rather than waited for
            screen._tick()
            await pilot.pause()
        assert static_text(pilot, "#steps") != before  # the spinner moved...
        assert progress.scroll_y == 0  # ...and the user's scroll position stayed
        await pilot.press("escape")
        await settle(pilot)
        assert "cancelled" in static_text(pilot, "#outcome")
