"""CLI commands that only read: `ps`, `info`, `stack`, `tasks` and `doctor` (JSON, or human text: tables
through rich for `ps`/`info`, imported only for those, and 80-column listings for the others)."""

from __future__ import annotations

from app.render.records import report_to_dict, summary_to_dict
from core.json_writer import dumps  # json.dumps's text without json's import (1-4 ms of a read)
from core.model import ProcessReport, ProcessSummary
from core.text import visible

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


def cmd_ps(json_out: bool) -> int:
    from core.inspect import list_python_processes

    rows = list_python_processes()
    if json_out:
        print(dumps([summary_to_dict(r) for r in rows], indent=2))
    else:
        _print_ps(rows)
    return 0


def cmd_info(pid: int, json_out: bool) -> int:
    """A failure to read (a typed SafeAttachError) is reported by app/cli/main.py, as for every command."""
    from core.inspect import inspect_process

    report = inspect_process(pid)
    if json_out:
        print(dumps(report_to_dict(report), indent=2))
    else:
        _print_info(report)
    return 0


def _print_ps(rows: Sequence[ProcessSummary]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from app.render.words import policy_label, yes_no  # human output only (it loads textwrap, datetime, events)

    table = Table(title=f"{len(rows)} Python process(es)", expand=False)
    for col in ("PID", "user", "version", "build", "PEP 768", "policy", "container", "command line"):
        table.add_column(col, overflow="fold" if col == "command line" else "ellipsis")
    for r in rows:
        if r.error:
            table.add_row(str(r.pid), Text(visible(r.user)), "?", "", "", "", yes_no(r.container),
                          Text.assemble(visible(r.cmdline), (visible(f"  ({r.error_kind}: {r.error})"), "red")))
            continue
        table.add_row(
            str(r.pid), Text(visible(r.user)), str(r.version), r.build.describe() if r.build else "?",
            yes_no(r.pep768_capable), policy_label(r), yes_no(r.container), Text(visible(r.cmdline)),
        )
    Console(highlight=False).print(table)


def _print_info(report: ProcessReport) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text
    from rich.tree import Tree

    from app.render.words import policy_label, yes_no

    con = Console(highlight=False)
    s = report.summary
    ver = s.version
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("PID", str(s.pid))
    head.add_row("command", Text(visible(s.cmdline)))
    head.add_row("user", Text(visible(f"{s.user} (uid {s.uid})")))
    head.add_row("version", f"{ver} (0x{ver.hexversion:08x}, from {ver.source})" if ver else "?")
    head.add_row("build", s.build.describe() if s.build else "?")
    head.add_row("runtime", f"0x{report.runtime_address:x} via {report.runtime_source}")
    head.add_row("binary", Text(visible(f"{report.binary} (opened through {report.binary_access})")))
    head.add_row("PEP 768", yes_no(s.pep768_capable))
    head.add_row("policy", policy_label(s))
    head.add_row("container", yes_no(s.container))
    for note in report.notes:
        head.add_row("note", Text(visible(note)))
    con.print(head)
    if report.offsets is not None:
        tree = Tree(f"_Py_DebugOffsets {report.offsets.layout} ({report.offsets.size} bytes)")
        for section in report.offsets.sections:
            branch = tree.add(f"{section.name} @ {section.offset}")
            for f in section.fields:
                label = Text(f"{f.name} @ {f.offset} = {f.value} (0x{f.value:x})")
                if f.problem:
                    label.append(visible(f"  ! {f.problem}"), style="red")
                branch.add(label)
        for problem in report.offsets.problems:
            tree.add(Text(visible(f"! {problem}"), style="red"))
        con.print(tree)
    threads = Table(title=f"{len(report.threads)} thread state(s)")
    for col in ("interp", "native TID", "thread id", "main", "GIL", "OS state", "function"):
        threads.add_column(col)
    for t in report.threads:
        threads.add_row(
            str(t.interpreter_id), str(t.native_thread_id), f"0x{t.thread_id:x}", yes_no(t.is_main),
            yes_no(t.holds_gil), visible(f"{t.os_state} {t.os_state_detail}".strip()),
            Text(visible(t.current_function or "?")),
        )
    con.print(threads)


def _print_listing(json_out: bool, record: dict[str, object], lines: Callable[[], list[str]]) -> None:
    print(dumps(record, indent=2) if json_out else "\n".join(lines()))


def cmd_stack(pid: int, json_out: bool, with_locals: bool = False) -> int:
    from core.walk import snapshot

    stacks = snapshot(pid, with_locals=with_locals)
    def human() -> list[str]:  # the 80-column renderers load app.render.words (textwrap, datetime, events)
        from app.render.listings import render_stacks

        return render_stacks(stacks)

    _print_listing(json_out, stacks.to_dict(), human)
    return 0


def cmd_tasks(pid: int, json_out: bool) -> int:
    from core.walk.tasks import read_tasks

    result = read_tasks(pid)
    def human() -> list[str]:
        from app.render.listings import render_tasks

        return render_tasks(result)

    _print_listing(json_out, result.to_dict(), human)
    return 0


def cmd_doctor(pid: int, json_out: bool, injector: str, script: str | None = None) -> int:
    from core.doctor import diagnose

    diagnosis = diagnose(pid, injector=injector, script=script)
    def human() -> list[str]:
        from app.render.listings import render_diagnosis

        return render_diagnosis(diagnosis)

    _print_listing(json_out, diagnosis.to_dict(), human)
    return diagnosis.exit_code
