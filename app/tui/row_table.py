"""A table of single-line rows drawn line by line: only the rows on screen are rendered.

The Processes screen shows every Python process (hundreds on a busy host) and rebuilds its table on every
refresh that adds or drops one. Textual's DataTable measures every cell through Rich when rows are added and
renders each visible cell through a padded Rich layout; with 200 rows that was 50-100 ms of the console's first
paint and of each such refresh. Here a column's width is the longest cell (`Text.cell_len`), a row becomes
segments once, when first shown, and a frame styles only the lines it shows (the Line API).

It looks and behaves like a row-cursor DataTable with zebra stripes: a fixed header line, the cursor row
highlighted (brighter while focused), arrows and Page Up/Down/Home/End move the cursor, left/right scroll
sideways, Enter or a click on the cursor row selects it.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers read it the same
if TYPE_CHECKING:
    from collections.abc import Sequence

PADDING = 1  # cells on each side of a column, as DataTable's default cell_padding


class RowTable(ScrollView, can_focus=True):
    """Rows of Text cells under a header, keyed by string; one row is the cursor row."""

    COMPONENT_CLASSES = {"row-table--header", "row-table--cursor", "row-table--even-row"}
    # DataTable's look, for a row cursor with zebra stripes
    DEFAULT_CSS = """
    RowTable {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .row-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .row-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .row-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .row-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .row-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .row-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .row-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    BINDINGS = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First row", show=False),
        Binding("end,ctrl+end", "last", "Last row", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
    ]

    class _RowMessage(Message):
        def __init__(self, table: RowTable, key: str, index: int) -> None:
            super().__init__()
            self.table, self.key, self.index = table, key, index

        @property
        def control(self) -> RowTable:
            return self.table

    class RowHighlighted(_RowMessage):
        """The cursor moved to another row (also when moved by the program)."""

    class RowSelected(_RowMessage):
        """Enter on the cursor row, or a click on it."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._labels: list[Text] = []
        self._column_keys: list[str] = []
        self._widths: list[int] = []  # content widths, without the padding
        self._keys: list[str] = []
        self._cells: list[tuple[Text, ...]] = []
        self._index: dict[str, int] = {}
        self._segments: dict[int, list[Segment]] = {}  # row index -> its unstyled segments, made when first shown
        self._cursor = 0
        self._announced = False  # the first move says where the cursor is even when it did not move

    # content -------------------------------------------------------------------
    def set_columns(self, columns: Sequence[tuple[str, str]]) -> None:
        """The columns, as (key, label); the rows are cleared."""
        self._column_keys = [key for key, _ in columns]
        self._labels = [Text(label) for _, label in columns]
        self.set_rows(())

    def set_rows(self, rows: Sequence[tuple[str, Sequence[Text]]]) -> None:
        """Every row at once, as (key, one cell per column); the cursor keeps its index (clamped)."""
        n = len(self._column_keys)
        keys = [key for key, _ in rows]
        cells = [tuple(row) for _, row in rows]
        if any(len(row) != n for row in cells):
            raise ValueError(f"every row needs {n} cells")
        index = {key: i for i, key in enumerate(keys)}
        if len(index) != len(keys):
            raise ValueError("row keys must be unique")
        self._keys, self._cells, self._index = keys, cells, index
        self._widths = [self._measure(j) for j in range(n)]
        self._segments.clear()
        self._cursor = max(0, min(self._cursor, len(self._keys) - 1))
        self._resized()

    def update_cell(self, row_key: str, column_key: str, value: Text) -> None:
        """One cell replaced; its column widens or narrows to fit."""
        row, column = self._index[row_key], self._column_keys.index(column_key)
        cells = list(self._cells[row])
        cells[column] = value
        self._cells[row] = tuple(cells)
        width = self._measure(column)
        if width != self._widths[column]:
            self._widths[column] = width
            self._segments.clear()
            self._resized()
        else:
            self._segments.pop(row, None)
            self.refresh()

    def _measure(self, column: int) -> int:
        return max([self._labels[column].cell_len, *(cells[column].cell_len for cells in self._cells)])

    def _resized(self) -> None:
        width = sum(w + 2 * PADDING for w in self._widths)
        self.virtual_size = Size(width, len(self._keys) + 1)  # + the header line
        self.refresh()

    # what tests and screens read ------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def row_keys(self) -> list[str]:
        return list(self._keys)

    @property
    def labels(self) -> list[str]:
        return [label.plain for label in self._labels]

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def cursor_key(self) -> str | None:
        """The key of the cursor's row; None with no rows."""
        return self._keys[self._cursor] if self._keys else None

    def get_row_at(self, index: int) -> tuple[Text, ...]:
        return self._cells[index]

    def get_row(self, key: str) -> tuple[Text, ...]:
        return self._cells[self._index[key]]

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    # the cursor ----------------------------------------------------------------
    def move_cursor(self, row: int, *, animate: bool = False) -> None:
        """Put the cursor on `row` (clamped), scroll it into view, and say so (RowHighlighted)."""
        if not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        changed = row != self._cursor
        self._cursor = row
        self.scroll_to_cursor(animate)
        self.refresh()
        if changed or not self._announced:
            self._announced = True
            self.post_message(self.RowHighlighted(self, self._keys[row], row))

    def scroll_to_cursor(self, animate: bool = False) -> None:
        """Scroll the least that shows the cursor row under the header."""
        shown = self._page()
        top = round(self.scroll_y)
        # force: whether Textual allows a scroll follows the scrollbars of the last layout, and rows set since
        # (a short table refilled with hundreds) may need one it has not shown yet
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=animate, immediate=not animate, force=True)
        elif self._cursor >= top + shown:
            self.scroll_to(y=self._cursor - shown + 1, animate=animate, immediate=not animate, force=True)

    def _page(self) -> int:
        """The rows shown under the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def _move_page(self, rows: int) -> None:
        """As DataTable pages: the cursor and the view move by the rows shown."""
        self.scroll_to(y=self.scroll_y + rows, animate=False, immediate=True, force=True)
        self.move_cursor(self._cursor + rows)

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        self._move_page(-self._page())

    def action_page_down(self) -> None:
        self._move_page(self._page())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._keys) - 1)

    def action_select_cursor(self) -> None:
        if self._keys:
            self.post_message(self.RowSelected(self, self._keys[self._cursor], self._cursor))

    def on_click(self, event: events.Click) -> None:
        row = event.style.meta.get("row")
        if not isinstance(row, int) or not 0 <= row < len(self._keys):
            return
        event.stop()
        if row == self._cursor:
            self.action_select_cursor()
        else:
            self.move_cursor(row)

    # drawing -------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("row-table--header")
            return self._line(self._header_segments(), style, Style.null(), width, base)
        row = round(self.scroll_y) + y - 1
        if row >= len(self._keys):
            return Strip.blank(width, base)
        style = base + self.get_component_rich_style("row-table--even-row") if row % 2 == 0 else base
        post = Style.null()
        if row == self._cursor:
            cursor = self.get_component_rich_style("row-table--cursor")
            style += cursor
            post = Style.from_color(cursor.color, cursor.bgcolor)  # the cursor's colours win over the cell's
        style += Style.from_meta({"row": row})
        segments = self._segments.get(row)
        if segments is None:
            segments = self._segments[row] = self._cell_segments(self._cells[row])
        return self._line(segments, style, post, width, base)

    def _line(self, segments: list[Segment], style: Style, post: Style, width: int, base: Style) -> Strip:
        filler = max(0, width - self.virtual_size.width)  # the columns' width, set with them (_resized)
        line = [*Segment.apply_style(segments, style, post), Segment(" " * filler, style + post)]
        scroll_x = round(self.scroll_x)
        return Strip(line).crop(scroll_x, scroll_x + width).adjust_cell_length(width, base).simplify()

    def _header_segments(self) -> list[Segment]:
        return self._cell_segments(tuple(self._labels))

    def _cell_segments(self, cells: tuple[Text, ...]) -> list[Segment]:
        console = self.app.console
        pad = Segment(" " * PADDING)
        out: list[Segment] = []
        for cell, width in zip(cells, self._widths, strict=True):
            gap = Segment(" " * (width - cell.cell_len))
            right = cell.justify == "right"
            out.append(pad)
            if right:
                out.append(gap)
            segments = cell.render(console)
            if cell.style:  # render() applies a Text's own style only when it has spans
                segments = Segment.apply_style(segments, console.get_style(cell.style, default=Style.null()))
            out.extend(segments)
            if not right:
                out.append(gap)
            out.append(pad)
        return out
