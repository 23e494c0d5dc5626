"""The rich renderables both front ends show: the step list, the outcome, the connect block, the process,
log and statistics tables, stacks, tasks and doctor findings. The words come from app/render/words.py; untrusted
text is wrapped in Text, never markup. No Textual here (the CLI uses this module too)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from app.render import words
from app.viewmodel import AttemptView
from core.attemptstats import AttemptStats
from core.errors import SafeAttachError
from core.events import StepStatus
from core.model import ProcessSummary
from core.text import visible, visible_block

if TYPE_CHECKING:  # the doctor package loads its checks (the attach chain, the injector): only for findings
    from collections.abc import Callable, Sequence

    from core.doctor.model import Diagnosis
    from core.walk.model import ThreadStack  # core.walk loads the reader (the target, offsets): not at paint
    from core.walk.tasks import ProcessTasks


YES_NO_STYLE = {"yes": "green", "no": "dim", "?": "dim"}
POLICY_STYLE = {"enabled": "green", "opted out": "bold yellow", "n/a": "dim"}
RESULT_STYLE = {"ok": "green", "failed": "bold red", "cancelled": "yellow", "started": "cyan", "abandoned": "magenta"}


def yes_no(value: bool | None) -> Text:
    word = words.yes_no(value)
    return Text(word, style=YES_NO_STYLE[word])


def policy_cell(p: ProcessSummary) -> Text:
    if p.error:
        return Text("error", style="bold red")
    word = words.policy_label(p)
    return Text(word, style=POLICY_STYLE[word])


def command_cell(p: ProcessSummary) -> Text:
    text = Text()
    tag = words.demo_tag(p.cmdline)
    if tag is not None:
        text.append(f"demo:{tag}", style="bold magenta")
        text.append(" ")
    if p.error:
        text.append(visible(p.error), style="red")
        text.append(" — ", style="dim")
    text.append(visible(p.cmdline))
    return text


# column key -> (label, narrow?, cell)
COLUMNS: tuple[tuple[str, str, bool, Callable[[ProcessSummary], Text]], ...] = (
    ("pid", "PID", True, lambda p: Text(str(p.pid), justify="right")),
    ("user", "User", True, lambda p: Text(visible(p.user))),
    ("version", "Version", True, lambda p: Text(str(p.version)) if p.version else Text("?", style="dim")),
    ("build", "Build", False, lambda p: Text(p.build.describe()) if p.build else Text("?", style="dim")),
    ("pep768", "768", True, lambda p: yes_no(p.pep768_capable)),
    ("policy", "Policy", True, policy_cell),
    ("container", "Ctr", False, lambda p: yes_no(p.container)),
    ("command", "Command", True, command_cell),
)


STEP_STYLE = {
    StepStatus.PENDING: "dim",
    StepStatus.RUNNING: "bold cyan",
    StepStatus.OK: "green",
    StepStatus.FAILED: "bold red",
    StepStatus.SKIPPED: "dim",
}


def step_list(view: AttemptView, frame: int | None = None) -> Table:
    """The step list: one row per step; output lines, failure message and hint indented under their step.

    `frame` None shows running steps with a static glyph (the CLI, and deterministic screenshots)."""
    table = Table.grid(padding=(0, 1))
    table.add_column(width=2)
    table.add_column(ratio=1)
    table.add_column(width=8, no_wrap=True)
    table.add_column(width=11, justify="right", no_wrap=True)
    for step in view.steps:
        glyph, style = words.STEP_GLYPH[step.status], STEP_STYLE[step.status]
        if step.status is StepStatus.RUNNING and frame is not None:
            glyph = words.SPINNER[frame % len(words.SPINNER)]
        title = Text(step.title, style="bold" if step.status is StepStatus.RUNNING else "")
        ms = Text(f"{step.elapsed_ms:.1f} ms", style="dim") if step.elapsed_ms is not None else Text("")
        table.add_row(Text(glyph, style=style, justify="right"), title, Text(step.status.value, style=style), ms)
        for line in step.output:
            table.add_row("", Text.assemble(("│ ", "dim"), line), "", "")
        if step.status is StepStatus.FAILED:
            if step.message:
                table.add_row("", Text(step.message, style="red"), "", "")
            if step.hint:
                table.add_row("", Text.assemble(("hint: ", "bold yellow"), (step.hint, "yellow")), "", "")
    return table


def connect_block(result: Mapping[str, object], pid: int, ssh_connection: str | None = None) -> Text | None:
    """How to reach a started debugpy server (words.connect_lines), then the VS Code configuration."""
    lines = words.connect_lines(result, pid, ssh_connection)
    config = words.vscode_json(result)
    if not lines and config is None:
        return None
    out = Text()
    for i, line in enumerate(lines):
        out.append(("\n" if i else "") + line, style="bold green" if line.startswith("Connect ") else "")
    if config is not None:
        out.append(("\n" if lines else "") + words.VSCODE_HEADING + "\n", style="bold")
        out.append(visible_block(config))
    return out


def outcome_text(view: AttemptView, with_connect: bool = True) -> Text:
    """The outcome: verdict, message, kind and hint, what the attempt waited on, then the result as sentences
    and, with `with_connect`, the connect block (the CLI prints that block itself, unwrapped, to stdout)."""
    o = view.outcome
    if o is None:
        return Text("running…" if view.steps else "", style="dim")
    out = Text()
    if o.ok:
        out.append(f"{words.OK_GLYPH} attached", style="bold green")
    elif o.kind is not None and o.kind.value == "cancelled":
        out.append(f"{words.FAILED_GLYPH} cancelled", style="bold yellow")
    else:
        out.append(f"{words.FAILED_GLYPH} failed", style="bold red")
    out.append(f"  pid {o.pid}  {o.elapsed_ms:.1f} ms\n")
    out.append(visible(o.message))
    if o.kind is not None:
        out.append(f"\nkind: {o.kind.value}", style="dim")
        if o.failed_step:
            out.append(f"  at step {o.failed_step}", style="dim")
    if o.hint:
        out.append("\nhint: ", style="bold yellow")
        out.append(visible(o.hint), style="yellow")
    waited = waited_stacks_text(o.result.get("stacks"))
    if waited is not None:
        out.append("\n")
        out.append_text(waited)
    for line in words.result_lines(o.elapsed_ms, o.result):
        out.append(f"\n{line}", style="dim" if line.startswith(("Took ", "Also: ")) else "")
    traceback = o.result.get("traceback")
    if traceback:
        out.append("\n")
        out.append(visible_block(str(traceback).rstrip()), style="red")
    block = connect_block(o.result, o.pid) if with_connect else None
    if block is not None:
        out.append("\n")
        out.append_text(block)
    return out


def attempt_view(view: AttemptView) -> Group:
    """What the CLI shows while an attempt runs and after: a heading, the step list, the outcome."""
    head = Text(f"PID {view.pid} · {view.payload} · method {view.method}", style="bold")
    return Group(head, step_list(view), outcome_text(view, with_connect=False))


WAITED_FRAMES = 3  # innermost frames shown per waited-on thread


def waited_stacks_text(stacks: object) -> Text | None:
    """The stacks a timed-out attempt waited on (its result's "stacks": ThreadStack.to_dict() records),
    compact: per thread its TID, name, OS state and syscall, then the innermost frames. None when absent."""
    if not isinstance(stacks, list) or not stacks:
        return None
    out = Text()
    out.append("waited on:", style="bold")
    for t in stacks:
        if not isinstance(t, Mapping):
            continue
        out.append(f"\n  thread {visible(t.get('native_thread_id', '?'))}", style="bold")
        if t.get("name"):
            out.append(f' "{visible(t["name"])}"')
        if t.get("is_main"):
            out.append("  main", style="dim")
        out.append(f"  state {visible(t.get('os_state', '?'))}")
        if t.get("syscall"):
            out.append(f" ({visible(t['syscall'])})", style="yellow")
        frames = [f for f in t.get("frames") or () if isinstance(f, Mapping)]
        for f in frames[:WAITED_FRAMES]:
            line = "?" if f.get("line") is None else visible(f.get("line"))
            out.append("\n    ")
            out.append(visible(f.get("qualname") or f.get("function") or "?"), style="cyan")
            out.append(f" ({visible(f.get('filename', '?'))}:{line})", style="dim")
        if len(frames) > WAITED_FRAMES:
            out.append(f"\n    … {len(frames) - WAITED_FRAMES} more frame(s)", style="dim")
        if not frames:
            out.append("\n    (no Python frames)", style="dim")
        if t.get("partial"):
            out.append(f"\n    ! partial: {visible(t['partial'])}", style="yellow")
    return out


def result_cell(record: Mapping[str, object]) -> Text:
    result = str(record.get("result", ""))
    return Text(result, style=RESULT_STYLE.get(result, ""))


def version_cell(value: object) -> Text:
    return Text(visible(words.version_label(value)))


def cell(value: object) -> Text:
    """Any value for a table cell, control characters made visible (it may come from a target)."""
    return Text("" if value is None else visible(value))


LOG_COLUMNS = (("n", "#"), ("time", "Time"), ("pid", "PID"), ("version", "Version"), ("method", "Method"),
               ("result", "Result"), ("site", "Failure site"), ("kind", "Kind"), ("ms", "ms"))


def log_cells(index: int, rec: Mapping[str, object], short_time: bool = False) -> dict[str, Text]:
    """One attempt-log record's cells, by LOG_COLUMNS key (the console's attempt table)."""
    return {
        "n": Text(str(index + 1), justify="right"),
        "time": Text(words.fmt_time(rec.get("time"), short=short_time)),
        "pid": Text(str(rec.get("pid", "")), justify="right"),
        "version": version_cell(rec.get("target_version")),
        "method": cell(rec.get("method")),
        "result": result_cell(rec),
        "site": cell(rec.get("failure_site")),
        "kind": cell(rec.get("failure_kind")),
        "ms": Text(words.fmt_ms(rec.get("elapsed_ms")), justify="right"),
    }


def attempt_detail(record: Mapping[str, object]) -> tuple[Table, Table]:
    """One attempt-log record: its fields as labelled values (empty ones left out, flags as words), then its
    steps with status and time."""
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column()
    for key, value in record.items():
        if key == "steps" or words.is_empty(value):
            continue
        if key == "result":
            shown = result_cell(record)
        elif key == "target_version":
            shown = version_cell(value)
        elif key == "time":
            shown = Text(words.fmt_time(value) + " UTC")
        elif key == "flags":
            flags = value if isinstance(value, (list, tuple)) else [value]  # the log file may hold anything
            shown = Text(", ".join(words.FLAG_WORDS.get(str(f), visible(f)) for f in flags))
        elif key == "elapsed_ms":
            shown = Text(words.fmt_ms(value) or visible(value))
        else:
            shown = Text(words.value_words(value))
        fields.add_row(Text(visible(key)), shown)
    steps = Table(box=None, padding=(0, 2), header_style="bold")
    steps.add_column("step")
    steps.add_column("status")
    steps.add_column("ms", justify="right")
    recorded = record.get("steps")
    for step in recorded if isinstance(recorded, list) else []:
        if not isinstance(step, Mapping):
            continue
        status = str(step.get("status", ""))
        steps.add_row(Text(visible(step.get("name", ""))), Text(visible(status), style=RESULT_STYLE.get(status, "dim")),
                      Text(words.fmt_ms(step.get("elapsed_ms"))))
    return fields, steps


def thread_header(t: ThreadStack) -> Text:
    """One thread's line on the Stacks screen: TID, name, main, interpreter, GIL, OS state and syscall."""
    text = Text()
    text.append(f"Thread {t.native_thread_id or '?'}", style="bold")
    if t.name:
        text.append(f' "{visible(t.name)}"', style="bold cyan")
    if t.is_main:
        text.append("  main", style="bold")
    text.append(f"  interp {t.interpreter_id}", style="dim")
    if t.holds_gil is not None:
        text.append("  GIL ")
        text.append_text(yes_no(t.holds_gil))
    text.append(f"  {visible(t.os_state)}", style="green" if t.os_state == "R" else "")
    if t.syscall:
        text.append(f" {visible(t.syscall)}", style="dim")
    return text


def stacks_text(threads: Sequence[ThreadStack]) -> Text:
    """Every thread with its whole stack, innermost first; target-controlled names are shown as escapes."""
    from app.render.listings import runs  # with core.walk: not for the console's first paint

    out = Text()
    for i, t in enumerate(threads):
        if i:
            out.append("\n\n")
        out.append_text(thread_header(t))
        if not t.frames and not t.partial:
            out.append("\n    (no Python frames)", style="dim")
        for f, repeats in runs(t.frames):
            out.append("\n    ")
            out.append(visible(f.qualname or f.function), style="cyan")
            line = "?" if f.line is None else str(f.line)
            out.append(f" ({visible(f.filename)}:{line})", style="dim")
            if repeats > 1:
                out.append(f"\n      (the frame above {repeats - 1} more time(s))", style="dim")
        if t.partial:
            out.append(f"\n    ! partial: {visible(t.partial)}", style="yellow")
    return out


DOCTOR_MARK = {"fail": ("FAIL", "bold red"), "warn": ("warn", "bold yellow")}  # by Status value


def doctor_text(d: Diagnosis) -> Text:
    """The doctor's findings, compact: the verdict and path, then only what would stop or slow an attach
    (blocking ones first, in red), each with its fixes, least privilege first."""
    from core.doctor.model import Status

    first = d.blocking
    counted = {st: sum(1 for f in d.findings if f.status is st) for st in (Status.OK, Status.INFO)}
    text = Text()
    text.append("doctor: ", style="bold")
    if first is None:
        text.append("an attach should work", style="bold green")
    else:
        text.append(f"an attach would fail at {visible(first.check)} (exit {d.exit_code})", style="bold red")
    text.append(f"  path: {visible(d.path)}")
    text.append(f"  {counted[Status.OK]} ok, {counted[Status.INFO]} info", style="dim")
    shown = [f for f in d.findings if f.status is Status.FAIL] + [f for f in d.findings if f.status is Status.WARN]
    for f in shown:
        mark, style = DOCTOR_MARK[f.status.value]
        text.append(f"\n{mark} ", style=style)
        text.append(visible(f.check), style="bold")
        text.append(f": {visible(f.message)}", style="red" if f.status is Status.FAIL else "")
        if f.kind is not None:
            text.append(f" [{f.kind.value}]", style="dim")
        for i, fix in enumerate(f.fixes):
            text.append(f"\n  fix {i + 1}: ", style="bold cyan")
            text.append(visible(fix))
    return text


def stats_summary(stats: AttemptStats) -> Text:
    o = stats.overall
    text = Text()
    text.append(f"{o.attempts} attempt(s)", style="bold")
    text.append(f": {words.pct(o.success_rate)} succeeded, {words.pct(o.fallback_rate)} fell back to legacy")
    text.append(f"\nlatency of successful attempts: P50 {words.ms(o.latency.p50_ms)} ms, "
                f"P95 {words.ms(o.latency.p95_ms)} ms")
    if stats.delta_p50_ms is not None and stats.delta_p95_ms is not None:
        text.append(f"\nlegacy minus safe attach: P50 {stats.delta_p50_ms:+.0f} ms, P95 {stats.delta_p95_ms:+.0f} ms")
    else:
        text.append("\nlegacy minus safe attach: needs successful attempts on both paths", style="dim")
    if stats.skipped:
        text.append(f"\n{stats.skipped} record(s) without a result skipped", style="dim")
    return text


def stats_table(stats: AttemptStats) -> Table:
    """Attempts, success and fallback rates, P50/P95 per path taken, per --method and per target version."""
    table = Table(box=None, padding=(0, 1), header_style="bold", expand=False)
    table.add_column("group")
    for col in ("attempts", "ok", "fallback", "P50 ms", "P95 ms"):
        table.add_column(col, justify="right")
    for title, groups in (("path", stats.by_path), ("method", stats.by_method), ("version", stats.by_version)):
        for i, (name, g) in enumerate(groups.items()):
            label = Text(f"{title} " if i == 0 else " " * (len(title) + 1), style="bold")
            label.append(visible(name), style="cyan")
            table.add_row(label, str(g.attempts), words.pct(g.success_rate), words.pct(g.fallback_rate),
                          words.ms(g.latency.p50_ms), words.ms(g.latency.p95_ms))
    return table


def failures_table(stats: AttemptStats) -> Table | Text:
    if not stats.failures:
        return Text("no failures", style="green")
    table = Table(box=None, padding=(0, 1), header_style="bold", expand=False)
    table.add_column("failure site/kind")
    table.add_column("count", justify="right")
    for key, count in stats.failures.items():
        table.add_row(Text(visible(key), style="red"), str(count))
    return table


def tasks_text(result: ProcessTasks) -> Text:
    """The asyncio tasks as `safeattach tasks` prints them (its summary line left to the status), styled:
    thread headings bold, task lines cyan, await cycles red. The lines are already `visible`; wrapping them in
    Text keeps them text, never markup."""
    from app.render.listings import render_tasks

    out = Text()
    for i, line in enumerate(render_tasks(result)[1:]):
        if i:
            out.append("\n")
        if "await cycle" in line:
            style = "bold red"
        elif line.startswith(("Thread ", "Tasks of threads", "Await tree")):
            style = "bold"
        elif line.startswith("! ") or "! partial" in line:
            style = "yellow"
        elif line.startswith("  ") and not line.startswith("   "):
            style = "cyan"
        else:
            style = ""
        out.append(line, style=style)
    return out


def error_text(error: BaseException, doing: str) -> Text:
    """What went wrong `doing` something: the engine's message and hint (both may quote the target), or the
    unexpected exception."""
    text = Text()
    if isinstance(error, SafeAttachError):
        text.append(visible(error.message), style="bold yellow")
        if error.hint:
            text.append("\n\n")
            text.append(visible(error.hint), style="dim")
    else:
        text.append(visible(f"{doing} failed: {type(error).__name__}: {error}"), style="bold red")
    return text
