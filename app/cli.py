"""The `safeattach` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from app.render import policy_label, report_to_dict, summary_to_dict, yes_no
from core.errors import SafeAttachError, exit_code_for
from core.requests import MAX_TIMEOUT
from core.text import visible

EXIT_USAGE = 2


def _err_console() -> Console:
    return Console(stderr=True, highlight=False)


def print_error(exc: SafeAttachError, json_out: bool) -> int:
    if json_out:
        print(json.dumps({"error": exc.to_dict()}))
    else:
        con = _err_console()
        con.print(Text.assemble(("error", "bold red"), f" [{exc.kind.value}]: ", visible(exc.message)))
        if exc.hint:
            con.print(Text.assemble(("hint", "bold yellow"), ": ", visible(exc.hint)))
    return exit_code_for(exc.kind)


def cmd_ps(json_out: bool) -> int:
    from core.inspect import list_python_processes

    rows = list_python_processes()
    if json_out:
        print(json.dumps([summary_to_dict(r) for r in rows], indent=2))
        return 0
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
    return 0


def cmd_info(pid: int, json_out: bool) -> int:
    from core.inspect import inspect_process

    try:
        report = inspect_process(pid)
    except SafeAttachError as exc:
        return print_error(exc, json_out)
    if json_out:
        print(json.dumps(report_to_dict(report), indent=2))
        return 0
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
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("safeattach")
    except PackageNotFoundError:
        return "unknown"


INJECTOR_HELP = ("how legacy injection runs code: ptrace (default; built in, needs no gdb) or gdb (only after "
                 "a health probe of that gdb passed)")


def _timeout(text: str) -> float:
    from core.requests import InvalidRequest, parse_timeout

    try:
        return parse_timeout(text)
    except InvalidRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


TIMEOUT_HELP = ("seconds to wait for the target (a finite number > 0, at most {max:g}; default {default:g})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="safeattach", description=__doc__)
    parser.add_argument("--version", action="version", version=f"safeattach {_version()}")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("ps", help="list Python processes")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("info", help="inspect one Python process")
    p.add_argument("pid", type=int)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("stack", help="every thread's Python stack (read-only; works on opted-out targets)")
    p.add_argument("pid", type=int)
    p.add_argument("--json", action="store_true")
    p.add_argument("--locals", action="store_true", help="also show each frame's locals (bounded reprs)")
    p = sub.add_parser("tasks", help="asyncio tasks of a 3.14+ process: stacks, who awaits whom, await cycles "
                       "(read-only)")
    p.add_argument("pid", type=int)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("doctor", help="what would stop exec/attach on a process, and how to fix it (read-only)")
    p.add_argument("pid", type=int)
    p.add_argument("--script", help="also check that the target could read this script")
    p.add_argument("--injector", choices=["ptrace", "gdb"], default="ptrace", help=INJECTOR_HELP)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("exec", help="run a script inside a process (safe attach, confirmed)")
    p.add_argument("pid", type=int)
    p.add_argument("script")
    p.add_argument("--timeout", type=_timeout, default=10.0,
                   help=TIMEOUT_HELP.format(max=MAX_TIMEOUT, default=10.0))
    p.add_argument("--method", choices=["auto", "safe", "legacy"], default="auto")
    p.add_argument("--allow-opted-out", action="store_true",
                   help="with --method legacy: inject even though the target opted out (logged)")
    p.add_argument("--injector", choices=["ptrace", "gdb"], default="ptrace", help=INJECTOR_HELP)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("attach", help="start (or reuse) a debugpy server inside a process")
    p.add_argument("pid", type=int)
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT for the DAP server")
    p.add_argument("--wait-for-client", action="store_true")
    p.add_argument("--method", choices=["auto", "safe", "legacy"], default="auto")
    p.add_argument("--allow-opted-out", action="store_true")
    p.add_argument("--injector", choices=["ptrace", "gdb"], default="ptrace", help=INJECTOR_HELP)
    p.add_argument("--timeout", type=_timeout, default=20.0,
                   help=TIMEOUT_HELP.format(max=MAX_TIMEOUT, default=20.0))
    p.add_argument("--idle-timeout", type=_timeout, default=600.0,
                   help="seconds the debug server waits for a (next) client before it stops (default 600)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("dap", help="a DAP adapter on stdin/stdout for a process (attaches like `attach`)")
    p.add_argument("pid", type=int)
    p.add_argument("--method", choices=["auto", "safe", "legacy"], default="auto")
    p.add_argument("--timeout", type=_timeout, default=20.0,
                   help=TIMEOUT_HELP.format(max=MAX_TIMEOUT, default=20.0))
    p.add_argument("--idle-timeout", type=_timeout, default=600.0)
    p = sub.add_parser("log", help="show the attempt log")
    p.add_argument("--json", action="store_true")
    p.add_argument("--failures", action="store_true")
    p.add_argument("--stats", action="store_true",
                   help="success and fallback rates, P50/P95 latency per method and version, failure sites")
    p = sub.add_parser("tui", help="open the attach console")
    p.add_argument("--demo", action="store_true", help="also start sample target processes")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(parser, args)
    except KeyboardInterrupt:
        return 130
    except SafeAttachError as exc:
        return print_error(exc, bool(getattr(args, "json", False)))
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    cmd = args.command
    if cmd is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            return _tui(demo=False)
        parser.print_help()
        return EXIT_USAGE
    if cmd == "ps":
        return cmd_ps(args.json)
    if cmd == "info":
        return cmd_info(args.pid, args.json)
    if cmd == "stack":
        from app.cli_stack import cmd_stack

        return cmd_stack(args.pid, args.json, args.locals)
    if cmd == "tasks":
        from app.cli_tasks import cmd_tasks

        return cmd_tasks(args.pid, args.json)
    if cmd == "doctor":
        from app.cli_doctor import cmd_doctor

        return cmd_doctor(args.pid, args.json, args.injector, args.script)
    if cmd == "exec":
        from app.cli_attach import cmd_exec

        return cmd_exec(args.pid, args.script, args.timeout, args.json, method=args.method,
                        allow_opted_out=args.allow_opted_out, injector=args.injector)
    if cmd == "attach":
        from app.cli_attach import cmd_attach

        return cmd_attach(args.pid, args.listen, args.wait_for_client, args.method, args.allow_opted_out,
                          args.timeout, args.json, injector=args.injector, idle_timeout=args.idle_timeout)
    if cmd == "dap":
        from app.cli_dap import cmd_dap

        return cmd_dap(args.pid, args.method, args.timeout, args.idle_timeout)
    if cmd == "log":
        from app.cli_attach import cmd_log

        return cmd_log(args.json, args.failures, args.stats)
    if cmd == "tui":
        return _tui(demo=args.demo)
    parser.error(f"unknown command {cmd}")
    return EXIT_USAGE


def _tui(demo: bool) -> int:
    from app.tui import run_console
    from core.attach.debug_session import stop_bridges
    from core.engine import LiveEngine

    try:
        return run_console(LiveEngine(), demo=demo)
    finally:
        stop_bridges()  # DAP bridges to targets in other network namespaces live as long as the console


if __name__ == "__main__":
    raise SystemExit(main())
