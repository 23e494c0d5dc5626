"""CLI commands that attach: `exec`, `attach` (debugpy) and `dap` (`attach`, then a DAP adapter on stdio).

rich and the view model are imported only for human output: `--json` prints event lines straight from the
engine, and the engine is imported only by the commands that run it."""

from __future__ import annotations

import _thread  # the engine's thread and the events' lock: threading's import is 0.9 ms of every exec
import os
import sys
import time

from app.cli.cancel_signals import CANCEL_SIGNALS, cancel_on_signals
from core.errors import FailureKind, exit_code_for
from core.events import Event, Outcome, event_to_dict
from core.json_writer import dumps  # no json: the event lines are core.json_writer's
from core.requests import AttachRequest, CancelToken, Injector, InvalidRequest, Method, Payload

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from rich.console import Console
CANCEL_GRACE = 15.0  # after Ctrl-C or SIGTERM/SIGHUP/SIGQUIT the engine still needs to withdraw the request


class _Channel:
    """Events from the engine thread to the one thread that reads them: queue.Queue's put and get(timeout)
    without queue and threading (0.6 + 0.9 ms of every exec's start-up), nor collections' deque (the collections
    package, 7 M instructions; an attempt has a few dozen events). A list's append and pop(0) are atomic;
    `_ready` is unlocked when an item may be waiting (a spurious wake-up finds none and says so)."""

    def __init__(self) -> None:
        self._items: list[Event | None] = []
        self._ready = _thread.allocate_lock()
        self._ready.acquire()

    def put(self, item: Event | None) -> None:
        self._items.append(item)
        try:
            self._ready.release()
        except RuntimeError:  # already unlocked: the reader has yet to take an earlier item
            pass

    def get(self, timeout: float) -> tuple[bool, Event | None]:
        """(True, item), or (False, None) when nothing arrived within `timeout` seconds."""
        if not self._items:
            self._ready.acquire(True, max(0.0, timeout))
        if not self._items:
            return False, None
        return True, self._items.pop(0)


def _events(request: AttachRequest, cancel: CancelToken) -> _Channel:
    """Run the engine in a worker thread so Ctrl-C can cancel it while the main thread renders."""
    from core.attach import run_attach
    from core.attemptlog import AttemptLog

    q = _Channel()

    def work() -> None:
        try:
            for event in run_attach(request, cancel, log=AttemptLog()):
                q.put(event)
        finally:
            q.put(None)

    _thread.start_new_thread(work, ())  # as a daemon thread: every caller drains it to the end
    return q


def _drain(q: _Channel, cancel: CancelToken, on_event: Callable[[Event], None]) -> Outcome | None:
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
            arrived, event = q.get(timeout)
        except KeyboardInterrupt:
            cancel.cancel("SIGINT")
            continue
        if not arrived:
            if deadline is not None and time.monotonic() >= deadline:
                return outcome
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


def _usage_error(message: str) -> int:
    from app.cli.errors import print_usage_error  # an exec that parses loads neither it nor core.text

    return print_usage_error(message)


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


def _render(q: _Channel, cancel: CancelToken, json_out: bool, to_stderr: bool) -> Outcome | None:
    if json_out:
        def emit(event: Event) -> None:
            out = sys.stderr if to_stderr else sys.stdout
            out.write(dumps(event_to_dict(event), default=str) + "\n")  # one write per line, also unbuffered
            out.flush()

        return _drain(q, cancel, emit)
    from rich.console import Console
    from rich.live import Live

    from app.render.rich import attempt_view
    from app.viewmodel import AttemptView, reduce

    view = AttemptView()
    console = Console(highlight=False, stderr=to_stderr)
    live = Live(attempt_view(view), console=console, refresh_per_second=20, transient=False)

    def show(event: Event) -> None:
        nonlocal view
        view = reduce(view, event)
        live.update(attempt_view(view))

    try:
        try:
            live.start()
        except OSError:  # no terminal to draw on: `show` fails too, and _drain stops rendering
            pass
        return _drain(q, cancel, show)
    finally:
        try:
            live.stop()
            if not console.is_terminal:  # off a terminal, rich's live view ends without a newline
                console.line()
        except OSError:  # the terminal went away (SIGHUP); the engine has finished
            pass
        except SystemExit:  # rich's answer to a broken pipe (stdout now /dev/null): the outcome's code stands
            pass


def cmd_exec(
    pid: int, script: str, timeout: float, json_out: bool, *, method: str = "auto", allow_opted_out: bool = False,
    injector: str = "ptrace",
) -> int:
    request = AttachRequest(pid=pid, payload=Payload.EXEC, script=script, method=Method(method), timeout=timeout,
                            allow_opted_out_legacy=allow_opted_out, injector=Injector(injector))
    return _run(request, json_out)


def cmd_attach(
    pid: int, listen: str, wait_for_client: bool, method: str, allow_opted_out: bool, timeout: float,
    json_out: bool, *, injector: str = "ptrace", idle_timeout: float = 600.0,
) -> int:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        return _usage_error(f"--listen must be HOST:PORT, got {listen!r}")
    host = host.strip("[]")  # [::1]:PORT
    try:  # the parser checked the timeouts already; the request checks them for every caller
        request = AttachRequest(pid=pid, payload=Payload.DEBUGPY, method=Method(method), timeout=timeout,
                                listen_host=host, listen_port=int(port), wait_for_client=wait_for_client,
                                idle_timeout=idle_timeout,
                                allow_opted_out_legacy=allow_opted_out, injector=Injector(injector))
    except InvalidRequest as exc:
        return _usage_error(str(exc))
    if os.path.exists(f"/proc/{pid}"):  # the adapter's bootstrap starts while the CLI reads the target
        from core.dap import fast_adapter

        fast_adapter.prestart()
        try:
            outcome = run_outcome(request, json_out)
        finally:
            fast_adapter.discard_prestarted()
    else:
        outcome = run_outcome(request, json_out)
    if outcome is None or not outcome.ok:
        return exit_code(outcome)
    if not json_out:
        _print_connect(outcome)
    from core.dap.session import active_bridges

    found = outcome.result.get("warnings")
    warnings = found if isinstance(found, list) else []
    if not warnings and not active_bridges():
        return 0  # the usual case, and with --json one without rich
    from rich.text import Text

    from app.cli.errors import err_console
    from core.text import visible

    err = err_console()
    for warning in warnings:
        err.print(Text(visible(f"warning: {warning}"), style="yellow"))
    if active_bridges():
        _serve_bridges(pid, err)
    return 0


def _print_connect(outcome: Outcome) -> None:
    """The connect block on stdout, unwrapped (the launch.json entry is meant to be copied)."""
    from app.render.words import VSCODE_HEADING, connect_lines, vscode_json
    from core.text import visible_block

    for line in connect_lines(outcome.result, outcome.pid, os.environ.get("SSH_CONNECTION")):
        print(line)
    config = vscode_json(outcome.result)
    if config is not None:
        print(VSCODE_HEADING)
        print(visible_block(config))


def _serve_bridges(pid: int, err: Console) -> None:
    """Keep the local DAP bridge(s) up until Ctrl-C, SIGTERM or the target's exit."""
    import signal

    from rich.text import Text

    from app.cli.startup_gc import restore
    from core.dap.session import stop_bridges
    from core.procfs import start_ticks_of

    restore()  # this runs until Ctrl-C: the collector's threshold as the process started

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


# dap -----------------------------------------------------------------------------------------------------------------
CONNECT_TIMEOUT = 10.0


def cmd_dap(pid: int, method: str, timeout: float, idle_timeout: float) -> int:
    """A DAP adapter on stdin/stdout, for editors that launch an adapter executable (VS Code executable
    adapters, nvim-dap `executable`): attach like `attach` (progress on stderr, as JSON lines), then relay
    stdio to the debug server's port, which admits only this user and the target's (see
    core/payloads/in_target_adapter_gate.py); it ends when either side closes."""
    from core.dap.session import stop_bridges

    try:
        request = AttachRequest(pid=pid, payload=Payload.DEBUGPY, method=Method(method), timeout=timeout,
                                idle_timeout=idle_timeout)
    except InvalidRequest as exc:
        return _usage_error(str(exc))
    outcome = run_outcome(request, json_out=True, to_stderr=True)
    if outcome is None or not outcome.ok:
        return exit_code(outcome)
    connect = outcome.result.get("connect")
    host = connect.get("host") if isinstance(connect, dict) else None
    port = connect.get("port") if isinstance(connect, dict) else None
    if not isinstance(host, str) or not isinstance(port, int):  # an ok debugpy outcome always holds them
        return exit_code_for(FailureKind.INTERNAL)
    import socket  # only `dap` connects (exec and attach would pay its 2-4 ms import for nothing)

    try:
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        print(f"error: cannot connect to the debug server at {host}:{port}: {exc}", file=sys.stderr)
        stop_bridges()
        return exit_code_for(FailureKind.TIMEOUT_CONNECT)
    sock.settimeout(None)
    try:
        _relay_stdio(sock)
    finally:
        sock.close()
        stop_bridges()
    return 0


def _relay_stdio(sock: socket.socket) -> None:
    """Pump stdin -> socket and socket -> stdout until either ends (or a signal that cancels attaches)."""
    import signal
    import threading
    from socket import SHUT_WR

    from app.cli.startup_gc import restore

    restore()  # the relay runs as long as the debug session: the collector's threshold as the process started
    done = threading.Event()

    def upstream() -> None:
        try:
            while data := os.read(sys.stdin.fileno(), 65536):
                sock.sendall(data)
            sock.shutdown(SHUT_WR)
        except OSError:
            pass
        done.set()

    def downstream() -> None:
        try:
            while data := sock.recv(65536):
                view = memoryview(data)
                while view:
                    view = view[os.write(sys.stdout.fileno(), view):]
        except OSError:
            pass
        done.set()

    previous = {sig: signal.signal(sig, lambda signum, frame: done.set()) for sig in CANCEL_SIGNALS}
    try:
        for pump in (upstream, downstream):
            threading.Thread(target=pump, name="safeattach-dap-stdio", daemon=True).start()
        while not done.wait(0.2):
            pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
