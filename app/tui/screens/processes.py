"""The live process list: refreshed by a thread worker, filterable, sortable, selection kept by PID."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from app.render import rich as render
from app.render import words
from app.tui.first_listing import FirstListing
from app.tui.messages import OpenAttach, OpenReport, ReportView
from app.tui.row_table import RowTable
from app.tui.styles import css
from core.model import ProcessSummary
from core.source import EngineSource
from core.text import visible

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

NARROW_BELOW = 110  # columns: below this, Build and Ctr are dropped
FIRST_LISTING_WAIT = 60.0  # seconds a worker waits for a first listing still under way, then shows the timeout


class ProcessesLoaded(Message):
    def __init__(self, rows: Sequence[ProcessSummary]) -> None:
        super().__init__()
        self.rows = tuple(rows)


class ProcessesFailed(Message):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class ProcessesScreen(Screen[None]):
    CSS_PATH = css("processes")
    BINDINGS = [
        Binding("o", "offsets", "Offsets"),
        Binding("enter", "offsets", "Offsets", show=False),
        Binding("t", "threads", "Threads"),
        Binding("k", "stacks", "Stacks", id="processes.stacks"),
        Binding("T", "tasks", "Tasks", show=False, id="processes.tasks"),  # the footer is full at 80 columns
        Binding("a", "attach", "Attach"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse", "Reverse", show=False),
        Binding("r", "refresh_now", "Refresh"),
    ]

    def __init__(self, source: EngineSource, refresh_interval: float, first: FirstListing | None = None) -> None:
        super().__init__()
        self.source = source
        self.refresh_interval = refresh_interval
        self._first = first  # a listing started before the console loaded: taken once, on mount
        self.rows: tuple[ProcessSummary, ...] = ()
        self.sort_key = "pid"
        self.sort_reverse = False
        self.needle = ""
        self.narrow: bool | None = None
        self.selected_pid: int | None = None
        self._shown: list[tuple[object, ...]] = []
        self._visible: list[ProcessSummary] | None = None  # rows and column keys of the last _fill
        self._visible_keys: list[str] = []
        self.loaded = False
        self._failure: Text | None = None  # the last listing's failure, while no listing has succeeded

    def compose(self) -> ComposeResult:
        yield Header()
        yield RowTable(id="processes")
        yield Static(id="ps-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Processes"
        self._apply_width(self.app.size.width)
        self.query_one(RowTable).focus()
        first, self._first = self._first, None
        if first is not None and first.done:
            self._take(first)  # filled before the first frame: no empty table, no second listing
        else:
            self._load(first)
        self.call_after_refresh(self._mount_filter)
        if self.refresh_interval > 0:
            self.set_interval(self.refresh_interval, self.action_refresh_now)

    # data ------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="list-processes")
    def _load(self, first: FirstListing | None = None) -> None:
        try:
            rows = first.result(FIRST_LISTING_WAIT) if first is not None else self.source.list_processes()
        except Exception as exc:  # the engine should not raise here; show it rather than crash
            self.post_message(ProcessesFailed(exc))
            return
        self.post_message(ProcessesLoaded(rows))

    def _take(self, first: FirstListing) -> None:
        try:
            rows = first.result(0)
        except Exception as exc:
            self._failed(ProcessesFailed(exc))
            return
        self._loaded(ProcessesLoaded(rows))

    def action_refresh_now(self) -> None:
        self._load()

    @on(ProcessesLoaded)
    def _loaded(self, message: ProcessesLoaded) -> None:
        self.rows = message.rows
        self.loaded = True
        self._failure = None
        self._fill()

    @on(ProcessesFailed)
    def _failed(self, message: ProcessesFailed) -> None:
        self._failure = Text(visible(f"listing processes failed: {message.error}"), style="bold red")
        self.query_one("#ps-status", Static).update(self._failure)

    # layout ----------------------------------------------------------------
    def on_resize(self, event: Resize) -> None:
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        narrow = width < NARROW_BELOW
        if narrow != self.narrow:
            self.narrow = narrow
            self._fill(columns=True)

    def _columns(self) -> list[tuple[str, str]]:
        cols = []
        for key, label, in_narrow, _ in render.COLUMNS:
            if self.narrow and not in_narrow:
                continue
            if key == self.sort_key:
                label += " ▼" if self.sort_reverse else " ▲"
            cols.append((key, label))
        return cols

    def _fill(self, columns: bool = False) -> None:
        """Rebuild the rows (and the columns when asked) only if what is shown changed; keep the cursor."""
        visible = words.visible_rows(self.rows, self.needle, self.sort_key, self.sort_reverse)
        shown_columns = self._columns()
        column_keys = [k for k, _ in shown_columns]
        if not columns and visible == self._visible and column_keys == self._visible_keys:
            self._status(len(visible))  # the usual periodic refresh: nothing shown changed, build no cells
            return
        self._visible, self._visible_keys = visible, column_keys
        table = self.query_one(RowTable)
        keys = set(column_keys)
        cells = [(p.pid, tuple(c(p) for k, _, _, c in render.COLUMNS if k in keys)) for p in visible]
        signature: list[tuple[object, ...]] = [(pid, *(str(t) for t in row)) for pid, row in cells]
        if not columns and signature == self._shown:
            self._status(len(visible))
            return
        previous, self._shown = self._shown, signature
        if not columns and [row[0] for row in previous] == [row[0] for row in signature]:
            # same rows in the same order: update only the cells that changed (no rebuild, no cursor move)
            for (pid, row), old_sig, new_sig in zip(cells, previous, signature, strict=True):
                for j, (before, after) in enumerate(zip(old_sig[1:], new_sig[1:], strict=True)):
                    if before != after:
                        table.update_cell(str(pid), column_keys[j], row[j])
            self._status(len(visible))
            return
        scroll_y = table.scroll_y
        if columns:
            table.set_columns(shown_columns)
        table.set_rows([(str(pid), row) for pid, row in cells])
        self._restore_cursor(table, [pid for pid, _ in cells])
        table.scroll_to(y=scroll_y, animate=False, immediate=True)  # the view stays, unless the cursor left it
        table.scroll_to_cursor()
        self._status(len(visible))

    def _restore_cursor(self, table: RowTable, pids: list[int]) -> None:
        if not pids:
            return
        if self.selected_pid in pids:
            row = pids.index(self.selected_pid)
        else:
            row = min(table.cursor_row, len(pids) - 1)
            self.selected_pid = pids[row]
        table.move_cursor(row)

    def _status(self, shown: int) -> None:
        if self._failure is not None and not self.loaded:
            return  # the failure stays until a listing succeeds (sorting an empty table changes nothing)
        parts = [
            f"{shown} of {len(self.rows)} processes" if self.loaded else "listing processes…",
            f"sort: {self.sort_key}{' ▼' if self.sort_reverse else ''}",
        ]
        if self.needle:
            parts.append(f"filter: {self.needle}")
        errors = sum(1 for p in self.rows if p.error)
        if errors:
            parts.append(f"{errors} not inspectable")
        self.query_one("#ps-status", Static).update(Text("  ·  ".join(parts)))

    @on(RowTable.RowHighlighted, "#processes")
    def _highlighted(self, event: RowTable.RowHighlighted) -> None:
        # a message posted before a refresh put the cursor on another process is stale: o/t/k/a would act on
        # the process it named while the cursor shows another
        if event.key == event.table.cursor_key:
            self.selected_pid = int(event.key)

    @on(RowTable.RowSelected, "#processes")
    def _selected(self, event: RowTable.RowSelected) -> None:
        self.selected_pid = int(event.key)
        self.action_offsets()

    # filter / sort ---------------------------------------------------------
    async def _mount_filter(self) -> Input:
        """The filter box, mounted hidden once the first frame is out (composed with the screen it cost ~20 ms
        of the first paint)."""
        found = self.query("#filter")
        if found:
            return found.only_one(Input)
        box = Input(placeholder="filter: pid, user, command, version… (Enter/Esc to return)", id="filter")
        box.display = False
        await self.mount(box, before=self.query_one(RowTable))
        return box

    async def action_filter(self) -> None:
        box = await self._mount_filter()  # at once, if / came before the first frame
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.needle = event.value.strip()
        self._fill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self._leave_filter()

    def key_escape(self) -> None:
        if self.focused is not None and self.focused.id == "filter":
            self._leave_filter()

    def _leave_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if not box.value:
            box.display = False
        self.query_one(RowTable).focus()

    def action_sort(self) -> None:
        keys = [k for k, _ in self._columns()]
        self.sort_key = (
            keys[(keys.index(self.sort_key) + 1) % len(keys)] if self.sort_key in keys else keys[0]
        )
        self._fill(columns=True)

    def action_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._fill(columns=True)

    # navigation ------------------------------------------------------------
    def _selected_row(self) -> ProcessSummary | None:
        """The selected process if it is shown: a filter that hides every row leaves o/t/k/a nothing to act on
        (Enter already had none)."""
        return next((p for p in self._visible or () if p.pid == self.selected_pid), None)

    def _open(self, view: ReportView) -> None:
        if (p := self._selected_row()) is not None:
            self.post_message(OpenReport(p.pid, view))

    def action_offsets(self) -> None:
        self._open(ReportView.OFFSETS)

    def action_threads(self) -> None:
        self._open(ReportView.THREADS)

    def action_stacks(self) -> None:
        self._open(ReportView.STACKS)

    def action_tasks(self) -> None:
        self._open(ReportView.TASKS)

    def action_attach(self) -> None:
        if (p := self._selected_row()) is not None:
            self.post_message(OpenAttach(p))
