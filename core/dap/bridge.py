"""Client-side relay from a local TCP port to a Unix socket inside the target's filesystem.

Used when the target lives in another network namespace: its loopback is unreachable from ours, so the
debugpy payload relays a Unix socket (in the request's private dir) to debugpy's TCP port, and this bridge
exposes that socket (reached through /proc/PID/root/...) as 127.0.0.1:PORT for a DAP client. With
`allowed_uids`, a connection whose peer socket belongs to another uid is closed before anything is relayed
(the same check as the in-target adapter gate).
"""

from __future__ import annotations

import os
import socket
import stat
import threading

from core.dap.payload import is_loopback
from core.errors import FailureKind, SafeAttachError
from core.payloads.in_target_adapter_gate import admitted

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from os import PathLike
    from typing import TypeVarTuple, Unpack

    Ts = TypeVarTuple("Ts")

_ACCEPT_POLL = 0.2  # seconds between checks of the stop flag
_CONNECT_TIMEOUT = 10.0
_JOIN_TIMEOUT = 5.0
_SUN_PATH_MAX = 107  # sockaddr_un.sun_path holds 108 bytes including the NUL


class DapBridge:
    """Accepts on (host, port) and relays each connection to the Unix socket `unix_path`."""

    def __init__(self, unix_path: str | PathLike[str], *, host: str = "127.0.0.1", port: int = 0,
                 allowed_uids: Iterable[int] | None = None) -> None:
        self.unix_path = os.fspath(unix_path)
        self._host = host
        self._port = port
        # who may connect (peer uid from /proc/net/tcp*); None: anyone who can reach the port
        self._allowed = frozenset(allowed_uids) if allowed_uids is not None else None
        self.refused = 0  # connections closed by the peer-uid check
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self.connections = 0  # accepted so far

    @property
    def address(self) -> tuple[str, int]:
        if self._listener is None:
            raise RuntimeError("bridge not started")
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        return self.address[1]

    def start(self) -> tuple[str, int]:
        """Bind and start accepting; returns the (host, port) a DAP client should connect to."""
        if self._listener is not None:
            raise RuntimeError("bridge already started")
        self._probe()  # fail now, with a clear error, if the target's socket is not there
        try:
            listener = socket.create_server((self._host, self._port))
        except OSError as exc:
            raise SafeAttachError(
                FailureKind.PAYLOAD, f"cannot listen on {self._host}:{self._port} for the DAP bridge: {exc}"
            ) from exc
        listener.settimeout(_ACCEPT_POLL)
        self._listener = listener
        self._spawn(self._accept_loop, "dap-bridge-accept")
        return self.address

    def stop(self) -> None:
        """Stop accepting, close every socket, and join the relay threads (bounded)."""
        self._stop.set()
        with self._lock:
            socks = list(self._sockets)
            self._sockets.clear()
        for s in socks:
            _close(s)
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=_JOIN_TIMEOUT)
        if self._listener is not None:
            _close(self._listener)

    def __enter__(self) -> DapBridge:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------------------------

    def _probe(self) -> None:
        # Only stat the socket: an empty connection relayed to debugpy's adapter (connect, then close
        # before the first message) can wedge the adapter's accept loop for good.
        try:
            is_socket = stat.S_ISSOCK(os.stat(self.unix_path).st_mode)
        except OSError as exc:
            raise SafeAttachError(
                FailureKind.TIMEOUT_CONNECT,
                f"the debugpy bridge socket {self.unix_path} is not there: {exc.strerror}",
                hint="the payload creates it; check its result and that the private dir still exists",
            ) from exc
        if not is_socket:
            raise SafeAttachError(FailureKind.PAYLOAD, f"{self.unix_path} is not a Unix socket")

    def _connect_unix(self) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(_CONNECT_TIMEOUT)
        try:
            if len(os.fsencode(self.unix_path)) <= _SUN_PATH_MAX:
                s.connect(self.unix_path)
            else:  # /proc/PID/root/... paths get long: go through a directory fd instead
                parent, name = os.path.split(self.unix_path)
                fd = os.open(parent, os.O_PATH | os.O_DIRECTORY)
                try:
                    s.connect(f"/proc/self/fd/{fd}/{name}")
                finally:
                    os.close(fd)
        except OSError:
            s.close()
            raise
        s.settimeout(None)
        return s

    def _spawn(self, target: Callable[[Unpack[Ts]], None], name: str, *args: Unpack[Ts]) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def _track(self, s: socket.socket) -> bool:
        with self._lock:
            if self._stop.is_set():
                return False
            self._sockets.add(s)
            return True

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            if self._allowed is not None and not admitted(conn, self._allowed, not is_loopback(self._host)):
                self.refused += 1
                _close(conn)  # before relaying a byte: another local user never reaches the debugger
                continue
            if not self._track(conn):
                _close(conn)
                return
            try:
                upstream = self._connect_unix()
            except OSError:
                self._forget(conn)
                continue
            if not self._track(upstream):
                _close(upstream)
                return
            self.connections += 1
            done = _Countdown(2, _pair_closer(self, conn, upstream))
            self._spawn(_pump, "dap-bridge-relay", conn, upstream, done)
            self._spawn(_pump, "dap-bridge-relay", upstream, conn, done)

    def _forget(self, s: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(s)
        _close(s)


class _Countdown:
    def __init__(self, n: int, action: Callable[[], object]) -> None:
        self._n = n
        self._action = action
        self._lock = threading.Lock()

    def tick(self) -> None:
        with self._lock:
            self._n -= 1
            fire = self._n == 0
        if fire:
            self._action()


def _pair_closer(bridge: DapBridge, a: socket.socket, b: socket.socket) -> Callable[[], None]:
    def close_both() -> None:
        bridge._forget(a)
        bridge._forget(b)

    return close_both


def _pump(src: socket.socket, dst: socket.socket, done: _Countdown) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    done.tick()


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
