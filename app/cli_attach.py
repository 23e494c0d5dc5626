"""CLI commands that attach: `exec`, `attach` (debugpy) and `log`; wired into app/cli.py.

rich and the view model are imported only for human output: `--json` prints event lines straight from the
engine, and the engine is imported only by the commands that run it."""

from __future__ import annotations

import json
import queue
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from core.errors import FailureKind, exit_code_for
from core.events import Event, Outcome, event_to_dict
from core.events import StepStatus as S
from core.requests import AttachRequest, CancelToken, Injector, Method, Payload
from core.text import visible, visible_block

if TYPE_CHECKING:
    from rich.console import Console, Group

    from app.viewmodel import AttemptView

ICONS = {S.PENDING: ("·", "dim"), S.RUNNING: ("…", "cyan"), S.OK: ("✓", "green"),
         S.FAILED: ("✗", "bold red"), S.SKIPPED: ("-", "dim")}
CANCEL_GRACE = 15.0  # after Ctrl-C the engine still needs to withdraw the request


def _events(request: AttachRequest, cancel: CancelToken) -> queue.Queue[Event | None]:
    """Run the engine in a worker thread so Ctrl-C can cancel it while the main thread renders."""
    from core.attach import run_attach
    from core.attemptlog import AttemptLog

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
    outcome: Outcome | None = None
    deadline: float | None = None
    while True:
        try:
            timeout = 0.1 if deadline is None else max(0.0, deadline - time.monotonic())
            event = q.get(timeout=timeout)
        except queue.Empty:
            if deadline is not None and time.monotonic() >= deadline:
                return outcome
            continue
        except KeyboardInterrupt:
            cancel.cancel()
            deadline = time.monotonic() + CANCEL_GRACE
            continue
        if event is None:
            return outcome
        on_event(event)
        if isinstance(event, Outcome):
            outcome = event


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
    return _exit_code(_run_outcome(request, json_out))


def _exit_code(outcome: Outcome | None) -> int:
    if outcome is None:
        return exit_code_for(FailureKind.INTERNAL)
    return 0 if outcome.ok else exit_code_for(outcome.kind or FailureKind.INTERNAL)


def _run_outcome(request: AttachRequest, json_out: bool) -> Outcome | None:
    cancel = CancelToken()
    q = _events(request, cancel)
    if json_out:
        def emit(event: Event) -> None:
            print(json.dumps(event_to_dict(event), default=str), flush=True)

        outcome = _drain(q, cancel, emit)
    else:
        from rich.console import Console
        from rich.live import Live

        from app.viewmodel import AttemptView, reduce

        view = AttemptView()
        console = Console(highlight=False)
        with Live(render_view(view), console=console, refresh_per_second=20, transient=False) as live:
            def show(event: Event) -> None:
                nonlocal view
                view = reduce(view, event)
                live.update(render_view(view))

            outcome = _drain(q, cancel, show)
    return outcome


def cmd_exec(
    pid: int, script: str, timeout: float, json_out: bool, *, method: str = "auto", allow_opted_out: bool = False,
    injector: str = "ptrace",
) -> int:
    request = AttachRequest(pid=pid, payload=Payload.EXEC, script=script, method=Method(method), timeout=timeout,
                            allow_opted_out_legacy=allow_opted_out, injector=Injector(injector))
    return _run(request, json_out)


def cmd_attach(
    pid: int, listen: str, wait_for_client: bool, method: str, allow_opted_out: bool, timeout: float,
    json_out: bool, *, injector: str = "ptrace",
) -> int:
    from core.attach.debug_session import active_bridges

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        from rich.console import Console
        from rich.text import Text

        Console(stderr=True).print(Text(f"error: --listen must be HOST:PORT, got {listen!r}", style="red"))
        return 2
    host = host.strip("[]")  # [::1]:PORT
    request = AttachRequest(pid=pid, payload=Payload.DEBUGPY, method=Method(method), timeout=timeout,
                            listen_host=host, listen_port=int(port), wait_for_client=wait_for_client,
                            allow_opted_out_legacy=allow_opted_out, injector=Injector(injector))
    outcome = _run_outcome(request, json_out)
    if outcome is None or not outcome.ok:
        return _exit_code(outcome)
    if not json_out:
        _print_connect(outcome)
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


def _print_connect(outcome: Outcome) -> None:
    from app.outcome_render import connect_address, vscode_block

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

    signal.signal(signal.SIGTERM, stop)
    try:
        while start_ticks_of(pid) == ticks:
            time.sleep(0.5)
        err.print(Text(f"process {pid} exited; relay stopped", style="yellow"))
    except KeyboardInterrupt:
        pass
    finally:
        stop_bridges()


def cmd_log(json_out: bool, failures_only: bool) -> int:
    from core.attemptlog import read_attempts_counted

    records, corrupt = read_attempts_counted(failures_only)
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
