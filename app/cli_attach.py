"""CLI commands that attach: `exec`, `attach` (debugpy) and `log`; wired into app/cli.py.

rich and the view model are imported only for human output: `--json` prints event lines straight from the
engine, and the engine is imported only by the commands that run it."""

from __future__ import annotations

import json
import math
import os
import queue
import signal
import sys
import threading
import time

from app.cancel_signals import CANCEL_SIGNALS, cancel_on_signals
from core.errors import FailureKind, exit_code_for
from core.events import Event, Outcome, event_to_dict
from core.events import StepStatus as S
from core.requests import AttachRequest, CancelToken, Injector, Method, Payload
from core.text import visible, visible_block

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.console import Console, Group

    from app.viewmodel import AttemptView

ICONS = {S.PENDING: ("·", "dim"), S.RUNNING: ("…", "cyan"), S.OK: ("✓", "green"),
         S.FAILED: ("✗", "bold red"), S.SKIPPED: ("-", "dim")}
MAX_IDLE_TIMEOUT = 7 * 24 * 3600.0
CANCEL_GRACE = 15.0  # after Ctrl-C or SIGTERM/SIGHUP/SIGQUIT the engine still needs to withdraw the request


def _events(request: AttachRequest, cancel: CancelToken) -> queue.Queue[Event | None]:
    from core.attach import run_attach
    from core.attemptlog import AttemptLog

    """Run the engine in a worker thread so Ctrl-C can cancel it while the main thread renders."""
    q: queue.Queue[Event | None] = queue.Queue()

    def work() -> None:
        try:
            for event in run_attach(request, cancel, log=AttemptLog()):
                q.put(event)
        finally:
            q.put(None)

    threading.Thread(target=work, name="safeattach-engine", daemon=True).start()
    return q


def _drain(q: queue.Queue[Event | None], cancel: CancelToken, on_event: Any) -> Outcome | None:
    """Pass events to `on_event` until the engine ends. Once cancelled (a signal, Ctrl-C), wait at most
    CANCEL_GRACE for the engine to withdraw the request; a front end that cannot write any more (the
    terminal hung up) stops rendering but keeps draining, so the withdrawal always completes."""
    outcome: Outcome | None = None
    deadline: float | None = None
    rendering = True
    while True:
        if deadline is None and cancel.cancelled:
            deadline = time.monotonic() + CANCEL_GRACE
        try:
            timeout = 0.1 if deadline is None else max(0.0, deadline - time.monotonic())
            event = q.get(timeout=timeout)
        except queue.Empty:
            if deadline is not None and time.monotonic() >= deadline:
                return outcome
            continue
        except KeyboardInterrupt:
            cancel.cancel("SIGINT")
            continue
        if event is None:
            return outcome
        if isinstance(event, Outcome):
            outcome = event
        if rendering:
            try:
                on_event(event)
            except OSError:  # EIO after SIGHUP, EPIPE: the engine still has to finish
                rendering = False


def render_view(view: AttemptView) -> Group:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, 1))
    table.add_column(width=1)
    table.add_column()
    table.add_column(justify="right", style="dim")
    for step in view.steps:
        icon, style = ICONS[step.status]
        line = Text(step.title, style="bold" if step.status is S.RUNNING else "")
        if step.message:
            line.append(f"  {step.message}", style="red" if step.status is S.FAILED else "dim")
        ms = f"{step.elapsed_ms:.1f} ms" if step.elapsed_ms is not None else ""
        table.add_row(Text(icon, style=style), line, ms)
        for out in step.output:
            table.add_row("", Text(f"  {out}", style="dim"), "")
    parts: list[Any] = [Text(f"PID {view.pid} · {view.payload} · method {view.method}", style="bold"), table]
    o = view.outcome
    if o is not None:
        if o.ok:
            parts.append(Text(f"✓ {visible(o.message)} ({o.elapsed_ms:.0f} ms)", style="bold green"))
        else:
            kind = o.kind.value if o.kind else "failed"
            parts.append(Text(f"✗ [{kind}] {visible(o.message)}", style="bold red"))
            if o.hint:
                parts.append(Text(f"hint: {visible(o.hint)}", style="yellow"))
            tb = o.result.get("traceback")
            if tb:
                parts.append(Text(visible_block(str(tb).rstrip()), style="red"))
    return Group(*parts)


def _run(request: AttachRequest, json_out: bool) -> int:
    return exit_code(run_outcome(request, json_out))


def exit_code(outcome: Outcome | None) -> int:
    if outcome is None:
        return exit_code_for(FailureKind.INTERNAL)
    return 0 if outcome.ok else exit_code_for(outcome.kind or FailureKind.INTERNAL)


def run_outcome(request: AttachRequest, json_out: bool, *, to_stderr: bool = False) -> Outcome | None:
    """Run one attempt, rendering it (to stderr when stdout carries something else, e.g. DAP)."""
    cancel = CancelToken()
    with cancel_on_signals(cancel):
        return _render(_events(request, cancel), cancel, json_out, to_stderr)


def _render(q: queue.Queue[Event | None], cancel: CancelToken, json_out: bool, to_stderr: bool) -> Outcome | None:
    if json_out:
        def emit(event: Event) -> None:
            print(json.dumps(event_to_dict(event), default=str), flush=True, file=sys.stderr if to_stderr else None)

        return _drain(q, cancel, emit)
    from rich.console import Console
    from rich.live import Live

    from app.viewmodel import AttemptView, reduce

    view = AttemptView()
    live = Live(render_view(view), console=Console(highlight=False, stderr=to_stderr), refresh_per_second=20,
                transient=False)

    def show(event: Event) -> None:
        nonlocal view
        view = reduce(view, event)
        live.update(render_view(view))

    try:
        try:
            live.start()
        except OSError:  # no terminal to draw on: `show` fails too, and _drain stops rendering
            pass
        return _drain(q, cancel, show)
    finally:
        try:
            live.stop()
        except OSError:  # the terminal went away (SIGHUP); the engine has finished
            pass


def cmd_exec(
    pid: int, script: str, timeout: float, json_out: bool, *, method: str = "auto", allow_opted_out: bool = False,
    injector: str = "ptrace",
) -> int:
    request = AttachRequest(pid=pid, payload=Payload.EXEC, script=script, method=Method(method), timeout=timeout,
                            allow_opted_out_legacy=allow_opted_out, injector=Injector(injector))
    return _run(request, json_out)


def idle_timeout_error(value: float) -> str | None:
    if math.isfinite(value) and 0 < value <= MAX_IDLE_TIMEOUT:
        return None
    return f"--idle-timeout must be a number of seconds in (0, {MAX_IDLE_TIMEOUT:g}], got {value:g}"


def cmd_attach(
    pid: int, listen: str, wait_for_client: bool, method: str, allow_opted_out: bool, timeout: float,
    json_out: bool, *, injector: str = "ptrace", idle_timeout: float = 600.0,
) -> int:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        return _usage(f"--listen must be HOST:PORT, got {listen!r}")
    host = host.strip("[]")  # [::1]:PORT
    bad_idle = idle_timeout_error(idle_timeout)
    if bad_idle is not None:
        return _usage(bad_idle)
    request = AttachRequest(pid=pid, payload=Payload.DEBUGPY, method=Method(method), timeout=timeout,
                            listen_host=host, listen_port=int(port), wait_for_client=wait_for_client,
                            idle_timeout=idle_timeout,
                            allow_opted_out_legacy=allow_opted_out, injector=Injector(injector))
    outcome = run_outcome(request, json_out)
    if outcome is None or not outcome.ok:
        return exit_code(outcome)
    if not json_out:
        _print_connect(outcome)
    from core.attach.debug_session import active_bridges

    warnings = outcome.result.get("warnings") or []
    if not warnings and not active_bridges():
        return 0  # the usual case, and with --json one without rich
    from rich.text import Text

    from app.cli_human import err_console

    err = err_console()
    for warning in warnings:
        err.print(Text(visible(f"warning: {warning}"), style="yellow"))
    if active_bridges():
        _serve_bridges(pid, err)
    return 0


def _usage(message: str) -> int:
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True).print(Text(f"error: {message}", style="red"))
    return 2


def _print_connect(outcome: Outcome) -> None:
    from app.outcome_render import access_line, connect_address, ssh_forward_line, vscode_block

    if not sys.stdout.isatty():  # rich's live view ends without a newline when not on a terminal
        print()
    r = outcome.result
    debugpy = r["debugpy"]
    where = connect_address(r) or "?"
    state = "already running (reused)" if r["reused"] else "started"
    if r.get("reattach_cache") == "hit":
        state += ", found through the reattach cache"
    print(visible(f"debugpy {debugpy['version']} {state} in PID {outcome.pid}"))
    print(visible(f"Connect any DAP client to {where} (debugpy \"attach\" with \"connect\")."))
    access = access_line(r)
    if access is not None:
        print(visible(access))
    forward = ssh_forward_line(r, os.environ.get("SSH_CONNECTION"))
    if forward is not None:
        print(f"Over SSH: run on your own machine, then connect there to 127.0.0.1:{r['connect']['port']}:")
        print(visible(f"  {forward}"))
    vscode = vscode_block(r)
    if vscode is not None:
        print(visible_block(vscode.plain))


def _serve_bridges(pid: int, err: Console) -> None:
    """Keep the local DAP bridge(s) up until Ctrl-C, SIGTERM or the target's exit."""
    from rich.text import Text

    from core.attach.debug_session import stop_bridges
    from core.procfs import start_ticks_of

    err.print(Text("The target is in another network namespace: this command relays the port above into it. "
                   "Keep it running while you debug; Ctrl-C stops the relay (the debugpy server in the target "
                   "keeps running; attach again to reconnect).", style="cyan"))
    ticks = start_ticks_of(pid)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for sig in CANCEL_SIGNALS:
        signal.signal(sig, stop)
    try:
        while start_ticks_of(pid) == ticks:
            time.sleep(0.5)
        err.print(Text(f"process {pid} exited; relay stopped", style="yellow"))
    except KeyboardInterrupt:
        pass
    finally:
        stop_bridges()


def cmd_log(json_out: bool, failures_only: bool, stats: bool = False) -> int:
    from core.attemptlog import read_attempts_counted

    records, corrupt = read_attempts_counted(failures_only)
    if stats:
        from app.cli_stats import print_stats

        return print_stats(records, corrupt, json_out)
    if json_out:
        for rec in records:
            print(json.dumps(rec, sort_keys=True))
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from app.render import RESULT_STYLE, fmt_ms, fmt_time, version_label

    console = Console(highlight=False)
    table = Table(title=f"{len(records)} attempt(s)" + (" (failures)" if failures_only else ""))
    for col in ("time", "PID", "version", "method", "thread", "result", "failed at", "kind", "ms"):
        table.add_column(col)
    for rec in records:
        result = str(rec.get("result", "?"))
        flags = ",".join(rec.get("flags") or [])
        table.add_row(
            visible(fmt_time(rec.get("time"))), visible(rec.get("pid", "")),
            visible(version_label(rec.get("target_version"))), visible(rec.get("method", "")),
            visible(rec.get("thread_selection") or ""),
            Text(visible(result + (f" [{flags}]" if flags else "")), style=RESULT_STYLE.get(result, "red")),
            visible(rec.get("failure_site") or ""), visible(rec.get("failure_kind") or ""),
            fmt_ms(rec.get("elapsed_ms")),
        )
    console.print(table)
    if corrupt:
        console.print(Text(f"{corrupt} corrupt line(s) skipped", style="yellow"))
    return 0
