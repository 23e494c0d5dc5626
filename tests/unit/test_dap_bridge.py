"""DapBridge against a real Unix-socket server (the live end-to-end use is in test_debugpy_payload.py)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from other_user import run_as_other_user

from core.dap.bridge import DapBridge
from core.errors import FailureKind, SafeAttachError


class EchoServer:
    """Echoes with a prefix, one thread per connection; records how many connections it saw."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)  # binds paths longer than sun_path too
        try:
            self.sock.bind(f"/proc/self/fd/{fd}/{path.name}")
        finally:
            os.close(fd)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.accepted = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop, daemon=True)]
        self.threads[0].start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            t = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _echo(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        with conn:
            while data := conn.recv(65536):
                conn.sendall(b"echo:" + data)

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)
        self.sock.close()


@pytest.fixture
def echo(tmp_path: Path) -> Iterator[EchoServer]:
    server = EchoServer(tmp_path / "s.sock")
    yield server
    server.close()


def roundtrip(addr: tuple[str, int], payload: bytes) -> bytes:
    with socket.create_connection(addr, timeout=10) as c:
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := c.recv(65536):
            out += chunk
        return out


def test_relays_each_connection(echo: EchoServer) -> None:
    with DapBridge(echo.path) as bridge:
        host, port = bridge.address
        assert host == "127.0.0.1" and port > 0
        assert roundtrip(bridge.address, b"hello") == b"echo:hello"
        big = os.urandom(1 << 20)
        assert roundtrip(bridge.address, big).replace(b"echo:", b"") == big
        assert bridge.connections == 2
    assert echo.accepted == 2


def test_concurrent_connections(echo: EchoServer) -> None:
    with DapBridge(echo.path) as bridge:
        results: dict[int, bytes] = {}

        def one(n: int) -> None:
            results[n] = roundtrip(bridge.address, b"n%d" % n)

        threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert results == {n: b"echo:n%d" % n for n in range(8)}


def test_stop_closes_every_socket(echo: EchoServer) -> None:
    bridge = DapBridge(echo.path)
    addr = bridge.start()
    client = socket.create_connection(addr, timeout=10)
    client.sendall(b"x")
    assert client.recv(100) == b"echo:x"
    bridge.stop()
    assert client.recv(100) == b""  # the relay was closed under the client
    client.close()
    with pytest.raises(OSError):
        socket.create_connection(addr, timeout=2).close()
    assert not [t for t in bridge._threads if t.is_alive()]


def test_long_socket_path(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    assert len(str(deep / "s.sock")) > 108  # too long for sockaddr_un: like /proc/PID/root/... paths
    server = EchoServer(deep / "s.sock")
    try:
        with DapBridge(deep / "s.sock") as bridge:
            assert roundtrip(bridge.address, b"deep") == b"echo:deep"
    finally:
        server.close()


def test_missing_socket_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SafeAttachError) as err:
        DapBridge(tmp_path / "nope.sock").start()
    assert err.value.kind is FailureKind.TIMEOUT_CONNECT
    assert "nope.sock" in err.value.message
    (tmp_path / "file").write_text("")
    with pytest.raises(SafeAttachError) as err:
        DapBridge(tmp_path / "file").start()
    assert err.value.kind is FailureKind.PAYLOAD


def test_unreachable_socket_drops_the_client_only(tmp_path: Path, echo: EchoServer) -> None:
    with DapBridge(echo.path) as bridge:
        echo.close()
        os.unlink(echo.path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(echo.path))  # exists but nobody listens: connect is refused
        try:
            with socket.create_connection(bridge.address, timeout=10) as c:
                assert c.recv(10) == b""
        finally:
            sock.close()


HOSTILE_PROBE = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
try:
    s.sendall(b"Content-Length: 2\\r\\n\\r\\n{}")
    print("data" if s.recv(65536) else "closed")
except OSError as exc:
    print("closed", exc.errno)
"""


def test_peer_uid_check_closes_other_users_before_relaying(echo: EchoServer) -> None:
    with DapBridge(echo.path, allowed_uids=[os.geteuid()]) as bridge:
        assert run_as_other_user(HOSTILE_PROBE, str(bridge.port)).startswith("closed")
        assert bridge.refused == 1 and echo.accepted == 0  # nothing reached the upstream socket
        with socket.create_connection(bridge.address, timeout=10) as own:
            own.sendall(b"hi")
            assert own.recv(100) == b"echo:hi"
        assert echo.accepted == 1


def test_peer_uid_lookup_matches_the_connecting_socket() -> None:
    from core.payloads.in_target_adapter_gate import peer_uid

    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            server = socket.create_server((host, 0), family=family)
        except OSError:
            continue
        with server, socket.create_connection(server.getsockname()[:2], timeout=5) as client:
            conn, _ = server.accept()
            with conn:
                assert peer_uid(conn) == os.geteuid()
            client.close()
