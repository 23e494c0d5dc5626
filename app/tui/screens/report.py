"""Offsets (the decoded _Py_DebugOffsets tree) and Threads (a table) for one inspected process."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, Tree
from textual.widgets.tree import TreeNode

from app.render import rich as render
from app.render.words import policy_word
from app.tui.messages import OpenAttach, ReportView, SwitchView
from app.tui.styles import css
from core.model import OffsetsTree, ProcessReport, PythonVersion
from core.text import visible


def report_header(report: ProcessReport) -> Text:
    s = report.summary
    text = Text()
    text.append(f"PID {s.pid}", style="bold")
    text.append(f"  {s.version or '?'}  ")
    text.append(s.build.describe() if s.build else "build ?", style="dim")
    text.append("  ")
    text.append(visible(s.cmdline))
    return text


def hx(value: int) -> str:
    return f"0x{value:x}"


class ReportScreen(Screen[None]):
    """Shared navigation between the views of one report: each asks the app (SwitchView) for the other."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("a", "attach", "Attach"),
        Binding("k", "stacks", "Stacks", id="report.stacks"),
        Binding("T", "tasks", "Tasks", id="report.tasks"),
    ]

    def __init__(self, report: ProcessReport) -> None:
        super().__init__()
        self.report = report

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_attach(self) -> None:
        self.post_message(OpenAttach(self.report.summary))

    def show(self, view: ReportView) -> None:
        self.post_message(SwitchView(self.report, view))

    def action_stacks(self) -> None:
        self.show(ReportView.STACKS)  # the Stacks screen itself disables k (check_action)

    def action_tasks(self) -> None:
        self.show(ReportView.TASKS)  # the Tasks screen itself disables T (check_action)


class OffsetsScreen(ReportScreen):
    CSS_PATH = css("offsets")
    BINDINGS = [
        Binding("t", "threads", "Threads"),
        Binding("e", "expand_all", "Expand all"),
        Binding("c", "collapse_all", "Collapse all"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(report_header(self.report), id="report-header")
        yield Tree(Text("_Py_DebugOffsets"), id="offsets")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Offsets · PID {self.report.summary.pid}"
        tree: Tree[None] = self.query_one(Tree)
        self._fill(tree.root)
        tree.root.expand()
        tree.focus()

    def _fill(self, root: TreeNode[None]) -> None:
        r = self.report
        offsets = r.offsets
        if offsets is None:
            root.set_label(Text("No _Py_DebugOffsets (before 3.13): what was recognised", style="bold"))
            self._recognised(root)
            return
        root.set_label(
            Text.assemble(("_Py_DebugOffsets", "bold"), f"  layout {offsets.layout}, {offsets.size} bytes")
        )
        self._problems(root, offsets)
        for section in offsets.sections:
            bad = any(f.problem for f in section.fields)
            label = Text.assemble(
                (section.name, "bold red" if bad else "bold"),
                (f"  @{hx(section.offset)}  size {hx(section.size)}", "dim"),
            )
            node = root.add(label, expand=True)
            width = max((len(f.name) for f in section.fields), default=0)
            for f in section.fields:
                leaf = Text.assemble(
                    (f"{f.name:<{width}}", "red" if f.problem else ""),
                    (f"  +{hx(f.offset):<7}", "dim"),
                    (f" = {hx(f.value)}", "cyan"),
                )
                if section.name == "header" and f.name == "cookie":
                    leaf.append(f"  {f.value.to_bytes(8, 'little')!r}", style="dim")
                elif section.name == "header" and f.name == "version":
                    leaf.append(f"  {PythonVersion.from_hex(f.value, 'table')}", style="dim")
                if f.problem:
                    leaf.append(f"  ⚠ {f.problem}", style="bold red")
                node.add_leaf(leaf)
        self._recognised(root.add(Text("recognised", style="bold"), expand=False))

    def _problems(self, root: TreeNode[None], offsets: OffsetsTree) -> None:
        if not offsets.problems:
            return
        node = root.add(
            Text(f"⚠ {len(offsets.problems)} validation problem(s)", style="bold red"), expand=True
        )
        for problem in offsets.problems:
            node.add_leaf(Text(visible(problem), style="red"))

    def _recognised(self, root: TreeNode[None]) -> None:
        r = self.report
        s = r.summary
        version = Text.assemble(("version  ", "bold"), str(s.version or "?"))
        if s.version:
            version.append(f"  (from {s.version.source})", style="dim")
        root.add_leaf(version)
        root.add_leaf(Text.assemble(("build    ", "bold"), s.build.describe() if s.build else "?"))
        root.add_leaf(
            Text.assemble(
                ("runtime  ", "bold"), hx(r.runtime_address), (f"  (from {r.runtime_source})", "dim")
            )
        )
        root.add_leaf(Text.assemble(("binary   ", "bold"), visible(r.binary), (f"  (via {r.binary_access})", "dim")))
        for interp in r.interpreters:
            enabled = policy_word(interp.remote_debugging_enabled, unknown="?")
            root.add_leaf(
                Text.assemble(
                    ("interp   ", "bold"),
                    f"#{interp.id} @{hx(interp.address)}{' main' if interp.is_main else ''}",
                    (f"  remote debugging {enabled}", "dim"),
                )
            )
        for note in r.notes:
            root.add_leaf(Text.assemble(("note     ", "bold"), visible(note)))

    def action_threads(self) -> None:
        self.show(ReportView.THREADS)

    def action_expand_all(self) -> None:
        self.query_one(Tree).root.expand_all()

    def action_collapse_all(self) -> None:
        root = self.query_one(Tree).root
        for child in root.children:
            child.collapse_all()


class ThreadsScreen(ReportScreen):
    CSS_PATH = css("threads")
    BINDINGS = [Binding("o", "offsets", "Offsets")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(report_header(self.report), id="report-header")
        yield DataTable(id="threads", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Threads · PID {self.report.summary.pid}"
        table: DataTable[Text] = self.query_one(DataTable)
        for label in ("TID", "Thread id", "Main", "GIL", "OS state", "Function", "Interp"):
            table.add_column(label, key=label)
        for t in self.report.threads:
            state = Text(visible(t.os_state), style="green" if t.os_state == "R" else "")
            if t.os_state_detail:
                state.append(visible(f" {t.os_state_detail}"), style="dim")
            table.add_row(
                Text(str(t.native_thread_id), justify="right"),
                Text(hx(t.thread_id)),
                render.yes_no(t.is_main),
                render.yes_no(t.holds_gil),
                state,
                render.cell(t.current_function or "?"),
                Text(str(t.interpreter_id), justify="right"),
                key=str(t.native_thread_id),
            )
        if not self.report.threads:
            self.query_one("#report-header", Static).update(
                report_header(self.report).append("\nno Python threads found", style="yellow")
            )
        table.focus()

    def action_offsets(self) -> None:
        self.show(ReportView.OFFSETS)
