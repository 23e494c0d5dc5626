"""The attempt log: filter by result and by failure site; Enter shows one attempt in detail."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Static

from app.render import rich as render
from app.tui.styles import css
from core.attemptstats import AttemptStats, attempt_stats
from core.source import EngineSource

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

RESULTS = ("all", "ok", "failed", "cancelled")
COLUMNS = render.LOG_COLUMNS
WIDE_ONLY = {"n", "method", "ms"}  # dropped below NARROW_BELOW columns (all shown in the detail view)
NARROW_BELOW = 100


class AttemptsLoaded(Message):
    def __init__(self, records: Sequence[Mapping[str, object]], stats: AttemptStats) -> None:
        super().__init__()
        self.records = list(records)
        self.stats = stats


class LogScreen(Screen[None]):
    CSS_PATH = css("log")
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("f", "cycle_result", "Result filter"),
        Binding("g", "cycle_site", "Site filter"),
        Binding("x", "clear_filters", "Clear filters"),
        Binding("r", "reload", "Reload"),
        Binding("s", "stats", "Statistics", id="log.stats"),
        Binding("enter", "detail", "Detail", show=False),
    ]

    def __init__(self, source: EngineSource) -> None:
        super().__init__()
        self.source = source
        self.records: list[Mapping[str, object]] = []
        self.result_filter = "all"
        self.site_filter = "all"
        self.narrow: bool | None = None
        self.stats: AttemptStats | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="log-filters")
        yield DataTable(id="attempts", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Attempt log"
        self.query_one(DataTable).focus()
        self._apply_width(self.app.size.width)
        self.action_reload()

    def on_resize(self, event: Resize) -> None:
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        narrow = width < NARROW_BELOW
        if narrow == self.narrow:
            return
        self.narrow = narrow
        table: DataTable[Text] = self.query_one(DataTable)
        table.clear(columns=True)
        for key, label in COLUMNS:
            if not (narrow and key in WIDE_ONLY):
                table.add_column(label, key=key)
        self._fill()

    @work(thread=True, exclusive=True, group="attempts")
    def _load(self) -> None:
        records = self.source.attempts()
        self.post_message(AttemptsLoaded(records, attempt_stats(records)))  # stats off the UI thread

    def action_reload(self) -> None:
        self._load()

    @on(AttemptsLoaded)
    def _loaded(self, message: AttemptsLoaded) -> None:
        self.records = message.records
        self.stats = message.stats
        self._fill()

    def sites(self) -> list[str]:
        return sorted({str(r["failure_site"]) for r in self.records if r.get("failure_site")})

    def visible_records(self) -> list[tuple[int, Mapping[str, object]]]:
        out = []
        for i, rec in enumerate(self.records):
            if self.result_filter != "all" and rec.get("result") != self.result_filter:
                continue
            if self.site_filter != "all" and rec.get("failure_site") != self.site_filter:
                continue
            out.append((i, rec))
        return list(reversed(out))  # newest first

    def _fill(self) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        table.clear()
        for i, rec in self.visible_records():
            cells = render.log_cells(i, rec, short_time=bool(self.narrow))
            table.add_row(*(cells[str(key.value)] for key in table.columns), key=str(i))
        shown = len(table.rows)
        self.query_one("#log-filters", Static).update(
            Text.assemble(
                ("result: ", "bold"),
                self.result_filter,
                "   ",
                ("failure site: ", "bold"),
                self.site_filter,
                (f"   {shown} of {len(self.records)} attempts", "dim"),
            )
        )

    def action_cycle_result(self) -> None:
        self.result_filter = RESULTS[(RESULTS.index(self.result_filter) + 1) % len(RESULTS)]
        self._fill()

    def action_cycle_site(self) -> None:
        options = ["all", *self.sites()]
        current = options.index(self.site_filter) if self.site_filter in options else 0
        self.site_filter = options[(current + 1) % len(options)]
        self._fill()

    def action_clear_filters(self) -> None:
        self.result_filter = self.site_filter = "all"
        self._fill()

    @on(DataTable.RowSelected, "#attempts")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(
                AttemptDetailScreen(int(event.row_key.value) + 1, self.records[int(event.row_key.value)])
            )

    def action_detail(self) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        if table.row_count:
            table.action_select_cursor()

    def action_stats(self) -> None:
        if self.stats is None:
            self.notify("the attempt log is still loading", severity="warning")
            return
        self.app.push_screen(StatsScreen(self.stats))

    def action_back(self) -> None:
        self.app.pop_screen()


class StatsScreen(ModalScreen[None]):
    """The attempt log summarised by core.attemptstats: rates, P50/P95 per path, method and version."""

    CSS_PATH = css("log")
    BINDINGS = [Binding("escape,s", "close", "Close")]

    def __init__(self, stats: AttemptStats) -> None:
        super().__init__()
        self.stats = stats

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="stats-dialog") as dialog:
            dialog.border_title = "Attempt statistics"
            dialog.border_subtitle = "Esc to close"
            yield Static(render.stats_summary(self.stats), id="stats-summary")
            yield Static(render.stats_table(self.stats), id="stats-groups")
            yield Static(render.failures_table(self.stats), id="stats-failures")

    def action_close(self) -> None:
        self.dismiss(None)


class AttemptDetailScreen(ModalScreen[None]):
    CSS_PATH = css("log")
    BINDINGS = [Binding("escape", "close", "Close"), Binding("enter", "close", "Close", show=False)]

    def __init__(self, number: int, record: Mapping[str, object]) -> None:
        super().__init__()
        self.number = number
        self.record = record

    def compose(self) -> ComposeResult:
        fields, steps = render.attempt_detail(self.record)
        with VerticalScroll(id="detail-dialog") as dialog:
            dialog.border_title = f"Attempt #{self.number}"
            dialog.border_subtitle = "Esc to close"
            yield Static(fields, id="detail-fields")
            yield Static(steps, id="detail-steps")

    def action_close(self) -> None:
        self.dismiss(None)
