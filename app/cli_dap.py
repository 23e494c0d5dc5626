"""`safeattach dap PID`: a DAP adapter on stdin/stdout, for editors that launch an adapter executable (VS Code
`debugServer`/executable adapters, nvim-dap `executable`). It attaches like `safeattach attach` (progress on
stderr), then relays stdio to the debug server's port, which admits only this user and the target's (see
core/payloads/in_target_adapter_gate.py); it ends when either side closes."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading

from app.cancel_signals import CANCEL_SIGNALS
from app.cli_attach import exit_code, idle_timeout_error, run_outcome
from core.dap.session import stop_bridges
from core.errors import FailureKind, exit_code_for
from core.requests import AttachRequest, Method, Payload

CONNECT_TIMEOUT = 10.0


def cmd_dap(pid: int, method: str, timeout: float, idle_timeout: float) -> int:
    bad_idle = idle_timeout_error(idle_timeout)
    if bad_idle is not None:
        print(f"error: {bad_idle}", file=sys.stderr)
        return 2
    request = AttachRequest(pid=pid, payload=Payload.DEBUGPY, method=Method(method), timeout=timeout,
                            idle_timeout=idle_timeout)
    outcome = run_outcome(request, json_out=True, to_stderr=True)
    if outcome is None or not outcome.ok:
        return exit_code(outcome)
    connect = outcome.result["connect"]
    try:
        sock = socket.create_connection((str(connect["host"]), int(connect["port"])), timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        print(f"error: cannot connect to the debug server at {connect['host']}:{connect['port']}: {exc}",
              file=sys.stderr)
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
    done = threading.Event()

    def upstream() -> None:
        try:
            while data := os.read(sys.stdin.fileno(), 65536):
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
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
