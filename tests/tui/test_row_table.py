"""app.tui.row_table.RowTable on its own: widths, what each line shows, the cursor, keys and clicks, and that
only the rows on screen are ever turned into segments."""

from __future__ import annotations

import pytest
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult

from app.tui.row_table import RowTable

COLUMNS = [("pid", "PID"), ("user", "User"), ("command", "Command")]


def rows(n: int, start: int = 100) -> list[tuple[str, list[Text]]]:
    return [(str(pid), [Text(str(pid), justify="right"), Text(f"u{pid % 7}"), Text(f"python3 job{pid}.py")])
            for pid in range(start, start + n)]


class Host(App[None]):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.seen: list[tuple[str, str]] = []  # (message kind, row key), in order

    def compose(self) -> ComposeResult:
        yield RowTable(id="t")

    def on_mount(self) -> None:
        table = self.query_one(RowTable)
        table.set_columns(COLUMNS)
        table.set_rows(rows(self.n))
        table.focus()

    def on_row_table_row_highlighted(self, event: RowTable.RowHighlighted) -> None:
        self.seen.append(("highlighted", event.key))

    def on_row_table_row_selected(self, event: RowTable.RowSelected) -> None:
        self.seen.append(("selected", event.key))


def lines(table: RowTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


async def test_columns_fit_their_longest_cell_and_lines_show_header_then_rows() -> None:
    async with Host(3).run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        table = pilot.app.query_one(RowTable)
        shown = lines(table)
        # padding of one cell each side; PID right-justified under a header as wide as "PID"
        assert shown[0].startswith(" PID  User  Command          ")
        assert shown[1].startswith(" 100  u2    python3 job100.py ")
        assert shown[4].strip() == ""  # no fourth row
        assert all(len(line) == 60 for line in shown)
        assert table.virtual_size.width == (3 + 2) + (4 + 2) + (17 + 2)
        table.update_cell("101", "user", Text("a-much-longer-user"))
        await pilot.pause()
        assert table.virtual_size.width == (3 + 2) + (18 + 2) + (17 + 2)
        assert lines(table)[2].startswith(" 101  a-much-longer-user  python3 job101.py")
        table.update_cell("101", "user", Text("x"))
        assert table.virtual_size.width == (3 + 2) + (4 + 2) + (17 + 2)  # narrows back to the longest
        assert lines(table)[3].startswith(" 102  u4 ")  # (drawn, so its segments are kept)
        table.update_cell("102", "user", Text("u9"))  # same width: only that row is drawn again
        await pilot.pause()
        assert lines(table)[3].startswith(" 102  u9    python3 job102.py")
        assert table.labels == ["PID", "User", "Command"]
        assert table.get_row("102")[2].plain == "python3 job102.py"
        assert table.get_row_index("102") == 2 and table.row_keys == ["100", "101", "102"]
        table.set_rows([*rows(1, start=9), *rows(1, start=1000)])  # right-justified cells line up on the right
        await pilot.pause()
        assert [line[:6] for line in lines(table)[:3]] == [" PID  ", "    9 ", " 1000 "]


async def test_a_cells_own_style_shows_and_the_cursor_row_takes_the_cursor_colours() -> None:
    async with Host(0).run_test(size=(60, 10)) as pilot:
        table = pilot.app.query_one(RowTable)
        table.set_rows([("1", [Text("1"), Text("root", style="bold red"), Text("a")]),
                        ("2", [Text("2"), Text("root", style="bold red"), Text("b")])])
        table.move_cursor(0)
        await pilot.pause()
        def style_of(line: int, text: str) -> Style:
            found = [seg.style for seg in table.render_line(line) if text in seg.text and seg.style is not None]
            assert len(found) == 1
            return found[0]

        plain = style_of(2, "root")
        assert plain.bold and plain.color is not None and plain.color.name == "red"
        assert style_of(2, "b").color != plain.color
        cursor = table.get_component_rich_style("row-table--cursor")
        on_cursor = style_of(1, "root")
        assert on_cursor.bold  # the cell's own attributes stay
        assert on_cursor.color == cursor.color and on_cursor.bgcolor == cursor.bgcolor


async def test_keys_move_the_cursor_and_keep_it_in_view_under_a_fixed_header() -> None:
    app = Host(200)
    async with app.run_test(size=(60, 12)) as pilot:  # 11 rows under the header
        await pilot.pause()
        table = app.query_one(RowTable)
        assert table.cursor_row == 0
        await pilot.press("down", "down")
        assert table.cursor_row == 2 and table.scroll_y == 0
        await pilot.press("pagedown")  # as DataTable: the cursor and the view move by the 11 rows shown
        assert table.cursor_row == 2 + 11 and table.scroll_y == 11
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 199
        shown = lines(table)
        assert shown[0].startswith(" PID ")  # the header stays on top
        assert shown[-1].startswith(" 299 ")  # the cursor's row is the last line shown
        await pilot.press("pageup")
        assert table.cursor_row == 199 - 11
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0 and table.scroll_y == 0
        assert lines(table)[1].startswith(" 100 ")
        await pilot.press("up")  # at the top: stays
        assert table.cursor_row == 0
        await pilot.press("enter")
        await pilot.pause()
        keys = [key for kind, key in app.seen if kind == "highlighted"]
        assert keys[:3] == ["101", "102", "113"] and "299" in keys and keys[-1] == "100"
        assert app.seen[-1] == ("selected", "100")


async def test_a_short_table_refilled_with_many_rows_scrolls_to_the_cursor_at_once() -> None:
    async with Host(1).run_test(size=(60, 12)) as pilot:  # one row: no scrollbar in the last layout
        await pilot.pause()
        table = pilot.app.query_one(RowTable)
        table.set_rows(rows(200))
        table.move_cursor(198)
        assert table.scroll_y == 198 - 11 + 1  # before any layout: the view already holds the cursor
        await pilot.pause()
        assert lines(table)[-1].startswith(" 298 ") and table.cursor_key == "298"


async def test_a_click_moves_the_cursor_and_a_second_click_selects() -> None:
    app = Host(5)
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        await pilot.click(RowTable, offset=(3, 3))  # line 3: the third row (line 0 is the header)
        await pilot.pause()
        table = app.query_one(RowTable)
        assert table.cursor_row == 2 and app.seen[-1] == ("highlighted", "102")
        await pilot.click(RowTable, offset=(3, 3))
        await pilot.pause()
        assert app.seen[-1] == ("selected", "102")
        await pilot.click(RowTable, offset=(3, 0))  # the header: nothing
        await pilot.click(RowTable, offset=(3, 8))  # below the last row: nothing
        await pilot.pause()
        assert app.seen[-1] == ("selected", "102") and table.cursor_row == 2


async def test_left_and_right_scroll_a_table_wider_than_its_widget() -> None:
    async with Host(0).run_test(size=(20, 6)) as pilot:
        table = pilot.app.query_one(RowTable)
        table.set_rows([("1", [Text("1"), Text("alice"), Text("python3 " + "x" * 40)])])
        await pilot.pause()
        assert lines(table)[1].startswith(" 1    alice  python3")
        await pilot.press("right", "right", "right")
        await pilot.pause()
        assert table.scroll_x > 0
        assert not lines(table)[0].startswith(" PID") and not lines(table)[1].startswith(" 1 ")  # header too
        assert len(lines(table)[1]) == 20


async def test_only_the_rows_on_screen_become_segments() -> None:
    async with Host(5000).run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        table = pilot.app.query_one(RowTable)
        assert 0 < len(table._segments) <= 19
        await pilot.press("end")
        await pilot.pause()
        assert len(table._segments) <= 2 * 19


async def test_bad_rows_are_refused() -> None:
    async with Host(0).run_test(size=(60, 10)) as pilot:
        table = pilot.app.query_one(RowTable)
        with pytest.raises(ValueError, match="3 cells"):
            table.set_rows([("1", [Text("1")])])
        with pytest.raises(ValueError, match="unique"):
            table.set_rows([("1", [Text("1"), Text("a"), Text("b")])] * 2)
        table.move_cursor(5)  # no rows: nothing to move to
        assert table.cursor_row == 0 and table.row_count == 0
