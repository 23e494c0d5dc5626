"""Pure helpers turning engine records into rich Text; untrusted text is wrapped in Text, never markup."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from app import render as plain
from app.cli_stack import _runs
from app.cli_stats import _ms, _pct
from app.outcome_render import access_line, connect_address, vscode_block
from app.viewmodel import AttemptView
from core.attemptstats import AttemptStats
from core.doctor.model import Diagnosis, Status
from core.events import StepStatus
from core.model import ProcessSummary
from core.text import visible, visible_block
from core.walk.model import ThreadStack

if TYPE_CHECKING:
    from core.walk.tasks import ProcessTasks

DEMO_MARKER = "safeattach-demo"  # command-line argument carried by the bundled demo targets


YES_NO_STYLE = {"yes": "green", "no": "dim", "?": "dim"}
POLICY_STYLE = {"enabled": "green", "opted out": "bold yellow", "n/a": "dim"}


def yes_no(value: bool | None) -> Text:
    word = plain.yes_no(value)
    return Text(word, style=YES_NO_STYLE[word])


def policy_cell(p: ProcessSummary) -> Text:
    if p.error:
        return Text("error", style="bold red")
    word = plain.policy_label(p)
    return Text(word, style=POLICY_STYLE[word])


def demo_tag(cmdline: str) -> str | None:
    """The demo target's role ("busy", ...) when the command line carries the demo marker."""
    for token in cmdline.split():
        if token.startswith(DEMO_MARKER + ":"):
            return token.split(":", 1)[1] or "demo"
    return None


def command_cell(p: ProcessSummary) -> Text:
    text = Text()
    tag = demo_tag(p.cmdline)
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

SORT_KEYS: dict[str, Callable[[ProcessSummary], Any]] = {
    "pid": lambda p: p.pid,
    "user": lambda p: (p.user, p.pid),
    "version": lambda p: (p.version.hexversion if p.version else -1, p.pid),
    "build": lambda p: (p.build.describe() if p.build else "", p.pid),
    "pep768": lambda p: (not p.pep768_capable, p.pid),
    "policy": lambda p: (str(p.remote_debug_enabled), p.pid),
    "container": lambda p: (p.container, p.pid),
    "command": lambda p: (p.cmdline, p.pid),
}


def matches(p: ProcessSummary, needle: str) -> bool:
    if not needle:
        return True
    hay = " ".join(
        [str(p.pid), p.user, p.cmdline, str(p.version or ""), p.error or "", demo_tag(p.cmdline) or ""]
    ).lower()
    return all(part in hay for part in needle.lower().split())


def visible_rows(
    rows: Sequence[ProcessSummary], needle: str, sort: str, reverse: bool
) -> list[ProcessSummary]:
    return sorted((p for p in rows if matches(p, needle)), key=SORT_KEYS[sort], reverse=reverse)


STATUS_STYLE = {
    StepStatus.PENDING: ("·", "dim"),
    StepStatus.RUNNING: ("", "bold cyan"),
    StepStatus.OK: ("✔", "green"),
    StepStatus.FAILED: ("✘", "bold red"),
    StepStatus.SKIPPED: ("-", "dim"),
}

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def step_lines(view: AttemptView, frame: int | None) -> Table:
    """The step list: one row per step; output lines, failure message and hint indented under their step.

    `frame` None renders running steps with a static glyph (deterministic screenshots)."""
    table = Table.grid(padding=(0, 1))
    table.add_column(width=2)
    table.add_column(ratio=1)
    table.add_column(width=8, no_wrap=True)
    table.add_column(width=11, justify="right", no_wrap=True)
    for step in view.steps:
        glyph, style = STATUS_STYLE[step.status]
        if step.status is StepStatus.RUNNING:
            glyph = "◐" if frame is None else SPINNER[frame % len(SPINNER)]
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


def outcome_text(view: AttemptView) -> Text:
    o = view.outcome
    if o is None:
        return Text("running…" if view.steps else "", style="dim")
    out = Text()
    if o.ok:
        out.append("✔ attached", style="bold green")
    elif o.kind is not None and o.kind.value == "cancelled":
        out.append("✘ cancelled", style="bold yellow")
    else:
        out.append("✘ failed", style="bold red")
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
    address = connect_address(o.result)
    if address is not None:
        out.append("\nconnect a DAP client to ", style="bold green")
        out.append(visible(address), style="bold")
        if o.result.get("reused"):
            out.append("  (an existing debugpy server was reused)", style="dim")
        access = access_line(o.result)
        if access is not None:
            out.append(f"\n{access}", style="dim")
    for key, value in o.result.items():
        if key in ("connect", "vscode", "stacks"):
            continue
        out.append(f"\n{key}: ", style="bold")
        out.append(visible_block(value) if key == "traceback" else visible(value))
    vscode = vscode_block(o.result)
    if vscode is not None:
        out.append("\n")
        out.append_text(vscode)
    return out


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


def result_cell(record: Mapping[str, Any]) -> Text:
    result = str(record.get("result", ""))
    return Text(result, style=plain.RESULT_STYLE.get(result, ""))


def version_cell(value: object) -> Text:
    return Text(visible(plain.version_label(value)))


def cell(value: object) -> Text:
    """Any value for a table cell, control characters made visible (it may come from a target)."""
    return Text("" if value is None else visible(value))


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
    out = Text()
    for i, t in enumerate(threads):
        if i:
            out.append("\n\n")
        out.append_text(thread_header(t))
        if not t.frames and not t.partial:
            out.append("\n    (no Python frames)", style="dim")
        for f, repeats in _runs(t.frames):
            out.append("\n    ")
            out.append(visible(f.qualname or f.function), style="cyan")
            line = "?" if f.line is None else str(f.line)
            out.append(f" ({visible(f.filename)}:{line})", style="dim")
            if repeats > 1:
                out.append(f"\n      (the frame above {repeats - 1} more time(s))", style="dim")
        if t.partial:
            out.append(f"\n    ! partial: {visible(t.partial)}", style="yellow")
    return out


DOCTOR_MARK = {Status.FAIL: ("FAIL", "bold red"), Status.WARN: ("warn", "bold yellow")}


def doctor_text(d: Diagnosis) -> Text:
    """The doctor's findings, compact: the verdict and path, then only what would stop or slow an attach
    (blocking ones first, in red), each with its fixes, least privilege first."""
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
        mark, style = DOCTOR_MARK[f.status]
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
    text.append(f": {_pct(o.success_rate)} succeeded, {_pct(o.fallback_rate)} fell back to legacy")
    text.append(f"\nlatency of successful attempts: P50 {_ms(o.latency.p50_ms)} ms, P95 {_ms(o.latency.p95_ms)} ms")
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
            table.add_row(label, str(g.attempts), _pct(g.success_rate), _pct(g.fallback_rate),
                          _ms(g.latency.p50_ms), _ms(g.latency.p95_ms))
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
    from app.cli_tasks import render_tasks

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
