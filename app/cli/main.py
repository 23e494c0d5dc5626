"""The `safeattach` command line: the argument parser, and dispatch to the one command module it needs."""

# Start-up is part of the product: this module imports only the standard library and core's vocabulary,
# parses the arguments, then imports what the one command needs (rich only for human output, the engine only
# for the commands that run it). tests/unit/test_import_contract.py guards that by counting modules.

from __future__ import annotations

import os
import sys

from app import __version__
from core.limits import MAX_IDLE_TIMEOUT, MAX_TIMEOUT

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import SimpleNamespace

EXIT_USAGE = 2


def _version_action() -> type[argparse.Action]:
    """`--version`, built only when asked for."""
    import argparse

    class VersionAction(argparse.Action):
        def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
            super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                             help="show program's version number and exit")

        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                     option_string: str | None = None) -> None:
            parser.exit(_print_version())

    return VersionAction


INJECTOR_HELP = ("how legacy injection runs code: ptrace (default; built in, needs no gdb) or gdb (only after "
                 "a health probe of that gdb passed)")


def _timeout(text: str, what: str = "--timeout", maximum: float = MAX_TIMEOUT) -> float:
    import argparse

    from core.requests import InvalidRequest, parse_timeout

    try:
        return parse_timeout(text, what, maximum)
    except InvalidRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _idle_timeout(text: str) -> float:
    return _timeout(text, "--idle-timeout", MAX_IDLE_TIMEOUT)


TIMEOUT_HELP = ("seconds to wait for the target (a finite number > 0, at most {max:g}; default {default:g})")


def build_parser() -> argparse.ArgumentParser:
    import argparse  # only here: the common command lines are parsed by app.cli.quick_args

    parser = argparse.ArgumentParser(prog="safeattach", description=__doc__)
    parser.add_argument("--version", action=_version_action())
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
    p.add_argument("--idle-timeout", type=_idle_timeout, default=600.0,
                   help=f"seconds the debug server waits for a (next) client before it stops (at most "
                   f"{MAX_IDLE_TIMEOUT:g}; default 600)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("dap", help="a DAP adapter on stdin/stdout for a process (attaches like `attach`)")
    p.add_argument("pid", type=int)
    p.add_argument("--method", choices=["auto", "safe", "legacy"], default="auto")
    p.add_argument("--timeout", type=_timeout, default=20.0,
                   help=TIMEOUT_HELP.format(max=MAX_TIMEOUT, default=20.0))
    p.add_argument("--idle-timeout", type=_idle_timeout, default=600.0,
                   help=f"as for attach (at most {MAX_IDLE_TIMEOUT:g}; default 600)")
    p = sub.add_parser("log", help="show the attempt log")
    p.add_argument("--json", action="store_true")
    p.add_argument("--failures", action="store_true")
    p.add_argument("--stats", action="store_true",
                   help="success and fallback rates, P50/P95 latency per method and version, failure sites")
    p = sub.add_parser("tui", help="open the attach console")
    p.add_argument("--demo", action="store_true", help="also start sample target processes")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _open_closed_streams()
    if argv is None:  # a process of its own (a caller's, a test's, collector is left as it was)
        from app.cli.startup_gc import raise_for_startup

        raise_for_startup()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments == ["--version"]:  # what argparse's action prints, without building the parser
        return _print_version()
    from app.cli.quick_args import quick_parse

    quick = quick_parse(arguments)
    args: argparse.Namespace | SimpleNamespace = quick or build_parser().parse_args(argv)  # argparse: the rest
    code = _run_command(args)
    if quick is not None and argv is None:  # a process of its own running one of the common commands
        _exit_now(code)
    return code


def _print_version() -> int:
    try:
        print(f"safeattach {__version__}", flush=True)
    except BrokenPipeError:
        _silence_stdout()
    return 0


def _open_closed_streams() -> None:
    """A process started with stdin, stdout or stderr closed (`>&-`) gets None for it from Python: /dev/null
    stands in, so every writer (ours, rich's, argparse's) and every isatty goes on as for a stream nobody
    reads; print(file=None) would have written stderr's lines to stdout (JSON lines, or dap's protocol)."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode))  # the process's own stream: never closed


def _run_command(args: argparse.Namespace | SimpleNamespace) -> int:
    from core.errors import SafeAttachError, exit_code_for

    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        return 130
    except SafeAttachError as exc:
        from app.cli.errors import print_error

        try:
            return print_error(exc, bool(getattr(args, "json", False)))
        except BrokenPipeError:  # nobody reads the error any more: its exit code still says what failed
            _silence_stdout()
            return exit_code_for(exc.kind)
    except BrokenPipeError:
        _silence_stdout()
        return 1


def _silence_stdout() -> None:
    """Point a broken stdout at /dev/null, so that the last flush at exit cannot fail again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _exit_now(code: int) -> None:
    """Flush and leave without the interpreter's teardown (3-4 ms of a 25 ms `info`). Safe here: these
    commands (ps, info, stack, tasks, exec, attach) have finished their work, the engine thread included (exec
    and attach wait for it), their files are closed, attach has stopped any bridge it served (the debug adapter
    runs in a session of its own), and nothing registers atexit handlers."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a closed pipe: as the BrokenPipeError branch above
            code = code or 1
    os._exit(code)


def _dispatch(args: argparse.Namespace | SimpleNamespace) -> int:
    cmd = args.command
    if cmd is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            return _tui(demo=False)
        build_parser().print_help()
        return EXIT_USAGE
    if cmd == "ps":
        from app.cli.read import cmd_ps

        return cmd_ps(args.json)
    if cmd == "info":
        from app.cli.read import cmd_info

        return cmd_info(args.pid, args.json)
    if cmd == "stack":
        from app.cli.read import cmd_stack

        return cmd_stack(args.pid, args.json, args.locals)
    if cmd == "tasks":
        from app.cli.read import cmd_tasks

        return cmd_tasks(args.pid, args.json)
    if cmd == "doctor":
        from app.cli.read import cmd_doctor

        return cmd_doctor(args.pid, args.json, args.injector, args.script)
    if cmd == "exec":
        from app.cli.attach import cmd_exec

        return cmd_exec(args.pid, args.script, args.timeout, args.json, method=args.method,
                        allow_opted_out=args.allow_opted_out, injector=args.injector)
    if cmd == "attach":
        from app.cli.attach import cmd_attach

        return cmd_attach(args.pid, args.listen, args.wait_for_client, args.method, args.allow_opted_out,
                          args.timeout, args.json, injector=args.injector, idle_timeout=args.idle_timeout)
    if cmd == "dap":
        from app.cli.attach import cmd_dap

        return cmd_dap(args.pid, args.method, args.timeout, args.idle_timeout)
    if cmd == "log":
        from app.cli.log import cmd_log

        return cmd_log(args.json, args.failures, args.stats)
    if cmd == "tui":
        return _tui(demo=args.demo)
    build_parser().error(f"unknown command {cmd}")
    return EXIT_USAGE


def _tui(demo: bool) -> int:
    import gc

    from app.cli.startup_gc import restore
    from app.tui.first_listing import FirstListing
    from core.engine import LiveEngine

    engine = LiveEngine()
    # list the processes while textual and the screens are imported (the demo lists once its targets run)
    first = None if demo else FirstListing.start(engine)
    from app.tui.app import run_console
    from core.dap.session import stop_bridges

    gc.freeze()  # what was just imported lives as long as the console: collections need not walk it again
    restore()  # main() raised the collector's threshold for start-up only
    try:
        return run_console(engine, demo=demo, first=first)
    finally:
        stop_bridges()  # DAP bridges to targets in other network namespaces live as long as the console


if __name__ == "__main__":
    raise SystemExit(main())
