"""Runs INSIDE debugpy's adapter process as its `sitecustomize` (placed by the debugpy payload): a peer-uid gate
on every TCP connection the adapter accepts, and an idle timeout.

debugpy's adapter accepts DAP clients on a loopback TCP port, and whoever connects can run code as the
target's user. The gate is installed before the adapter opens any port: `socket.socket.accept` only returns
connections whose peer socket belongs to an allowed uid (the uid column of the peer's row in
/proc/net/tcp*, found by its address and port), and closes the others before reading a byte. A peer with no
row (a remote host) is admitted only when the user explicitly listened on a non-loopback address. The
adapter exits once no client has been connected for `idle` seconds; the debuggee goes on running.

Configuration comes from the environment variable SAFEATTACH_ADAPTER_GATE (JSON); any failure to install
the gate ends the process before the adapter starts (fail closed). Self-contained, valid on CPython 3.9+;
`peer_uid` is also imported by the client's own bridge (core.dap.bridge) for the same check.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ipaddress

    IP = ipaddress.IPv4Address | ipaddress.IPv6Address  # never evaluated: this file runs on 3.9 targets too

ENV = "SAFEATTACH_ADAPTER_GATE"
_ESTABLISHED, _LISTEN = "01", "0A"
_SERVER_SEEN = ("server", 0)  # in `clients` once a debug server connected to the server port
_ROW_RETRIES = 5  # the peer's row is there once accept() returns; retry briefly in case /proc lags


def _addr(hex_addr: str) -> tuple[IP, int]:
    """(ip address, port) from a /proc/net/tcp* column like `0100007F:1F90` (words in host byte order)."""
    import ipaddress  # on the first accept, not while the adapter starts (debugpy does not need it: ~4 ms)

    host, port = hex_addr.split(":")
    raw = bytes.fromhex(host)
    words = b"".join(raw[i:i + 4][::-1] if sys.byteorder == "little" else raw[i:i + 4] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(words)
    return _plain(ip), int(port, 16)


def _plain(ip: IP) -> IP:
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped if mapped is not None else ip


def _rows(proc: str) -> list[list[str]]:
    rows: list[list[str]] = []
    for table in ("tcp", "tcp6"):
        try:
            with open(f"{proc}/net/{table}") as f:
                rows += [line.split() for line in f.read().splitlines()[1:]]
        except OSError:
            continue
    return rows


def peer_uid(conn: socket.socket, proc: str = "/proc/self") -> int | None:
    """The uid owning the local socket at the other end of the TCP connection `conn`, or None when no local
    socket is (a remote peer, or one that is already gone)."""
    import ipaddress

    try:
        peer = conn.getpeername()
        me = conn.getsockname()
    except OSError:
        return None
    want_local = (_plain(ipaddress.ip_address(peer[0].split("%")[0])), int(peer[1]))
    want_remote = (_plain(ipaddress.ip_address(me[0].split("%")[0])), int(me[1]))
    for attempt in range(_ROW_RETRIES):
        for cols in _rows(proc):
            if len(cols) > 7 and cols[3] != _LISTEN and _addr(cols[1]) == want_local and _addr(cols[2]) == want_remote:
                return int(cols[7])
        if attempt + 1 < _ROW_RETRIES:
            time.sleep(0.01)
    return None


def admitted(conn: socket.socket, allowed: frozenset[int], open_to_network: bool) -> bool:
    if conn.family not in (socket.AF_INET, socket.AF_INET6):
        return True  # the gate guards TCP ports only
    uid = peer_uid(conn)
    return open_to_network if uid is None else uid in allowed


def install(allowed: frozenset[int], open_to_network: bool, idle: float, announce: str | None = None,
            endpoints: str | None = None, server_deadline: float | None = None) -> None:
    """Gate socket.socket.accept; start the idle watchdog once the first port (debugpy's client port) listens,
    and write that port into the file `announce` (the payload reports it without waiting for the rest).

    An adapter the client started itself (core.dap.fast_adapter) also writes, once its second port (the one
    the debug server connects to) listens, both ports into `endpoints` for the payload, and exits at the
    time `server_deadline` unless a debug server connected by then."""
    accept, listen = socket.socket.accept, socket.socket.listen
    watching: list[int] = []  # the client port, then the server port
    clients: set[tuple[object, int]] = set()  # admitted peers of the client port (and _SERVER_SEEN)

    def gated_accept(self: socket.socket) -> tuple[socket.socket, Any]:
        import ipaddress

        while True:
            conn, address = accept(self)
            if admitted(conn, allowed, open_to_network):
                if watching and int(self.getsockname()[1]) == watching[0]:
                    clients.add((_plain(ipaddress.ip_address(address[0].split("%")[0])), int(address[1])))
                elif len(watching) > 1 and int(self.getsockname()[1]) == watching[1]:
                    clients.add(_SERVER_SEEN)
                return conn, address
            try:
                conn.close()  # before reading anything: the peer gets no DAP byte
            except OSError:
                pass

    def watched_listen(self: socket.socket, *args: int) -> None:
        listen(self, *args)
        if self.family not in (socket.AF_INET, socket.AF_INET6) or len(watching) > 1:
            return
        watching.append(int(self.getsockname()[1]))
        if len(watching) == 1:
            thread = threading.Thread(target=_watchdog, args=(watching[0], idle, clients, server_deadline),
                                      name="safeattach-idle", daemon=True)
            thread.start()
            if announce is not None:
                _announce(announce, f"{watching[0]} {os.getpid()}")
        elif endpoints is not None:
            _announce(endpoints, f"{watching[0]} {watching[1]} {os.getpid()}")

    socket.socket.accept = gated_accept  # type: ignore[method-assign]
    socket.socket.listen = watched_listen  # type: ignore[method-assign,assignment]


def _announce(path: str, text: str) -> None:
    """Atomically (the payload polls for the file): only a speed-up, so a failure is ignored."""
    tmp = path + ".tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, text.encode())  # the pid saves the client a scan of /proc
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except OSError:
        pass


def _connected(port: int, clients: set[tuple[object, int]]) -> bool:
    """An admitted client is still connected to `port` (refused peers, closed at once, never count)."""
    return any(len(c) > 3 and c[3] == _ESTABLISHED and _addr(c[1])[1] == port and _addr(c[2]) in clients
               for c in _rows("/proc/self"))


def _watchdog(port: int, idle: float, clients: set[tuple[object, int]], server_deadline: float | None = None) -> None:
    last = time.monotonic()
    while True:
        time.sleep(min(1.0, idle))
        if server_deadline is not None and _SERVER_SEEN not in clients and time.time() > server_deadline:
            os._exit(0)  # the debug server this adapter was started for never came: nothing to serve
        if _connected(port, set(clients)):
            last = time.monotonic()
        elif time.monotonic() - last >= idle:
            os._exit(0)  # no client for `idle` seconds: the server stops, the debuggee goes on


def _no_uname_child() -> None:
    """debugpy's log module asks `platform` for the processor as it is imported; on Linux that runs `uname -p`
    in a child process (6-9 ms of the adapter's start-up, inside the target's root). Debian's uname prints
    "unknown" there, which platform reports as "": the adapter gets that "" without the child, through the
    per-platform hook platform's _Processor looks up first. Only debugpy's (unwritten) log header could differ,
    on a distribution whose uname prints the machine instead."""
    import platform

    processor = getattr(platform, "_Processor", None)
    if processor is not None and sys.platform == "linux" and not hasattr(processor, "get_linux"):
        processor.get_linux = staticmethod(lambda: "")


def _from_environment() -> None:
    config = json.loads(os.environ.pop(ENV))
    deadline = config.get("server_deadline")
    install(frozenset(int(u) for u in config["allowed"]), bool(config["open"]), float(config["idle"]),
            config.get("listening"), config.get("endpoints"), float(deadline) if deadline is not None else None)
    previous = config.get("pythonpath")  # later children of the adapter must not load this file again
    if previous:
        os.environ["PYTHONPATH"] = previous
    else:
        os.environ.pop("PYTHONPATH", None)
    if config.get("bytecode"):  # this adapter caches the bytecode of debugpy's modules (in_target_bytecode)
        try:
            _cache_bytecode(str(config["bytecode"]))
        except Exception:  # only a speed-up: the gate above is installed either way
            pass
    try:
        _no_uname_child()
    except Exception:  # only a speed-up
        pass
    fd = os.open(config["marker"], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.close(fd)


def _cache_bytecode(parent: str) -> None:
    """The adapter runs with PYTHONDONTWRITEBYTECODE (nothing lands in the gate's dir); its imports from
    debugpy's directory still leave their .pyc for the next attach."""
    import safeattach_bytecode  # type: ignore[import-not-found]  # placed next to this file by the payload

    hook = safeattach_bytecode.caching_hook(parent)
    sys.path_hooks.insert(0, hook)
    for path in list(sys.path_importer_cache):
        try:
            hook(path)
        except ImportError:
            continue
        del sys.path_importer_cache[path]  # found again through the hook


if __name__ == "sitecustomize" and ENV in os.environ:
    try:
        _from_environment()
    except BaseException:  # fail closed: no adapter without its gate
        os._exit(70)
