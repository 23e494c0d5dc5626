"""Runs INSIDE the target (source shipped by `core.dap.payload`): start or reuse a debugpy server.

Imports nothing from safeattach and stays valid on every CPython the engine can inject into (3.9+).
`run(params, ctx)` returns a JSON-able dict; errors are raised (the loader reports them).

It never blocks the thread it interrupted for long and never prints: the loopback it will listen on is
probed first (a target in a network namespace whose loopback is down would otherwise make debugpy wait for
an adapter that cannot connect, and the adapter print into the target), and on 3.12+ `debugpy.listen()`
runs in a daemon thread this thread waits for only until the request's deadline. When it cannot finish, it raises
`PayloadGaveUp` with the reason, and the program goes on as before.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

KEEP_NAMESPACE = True  # the relay threads started here keep using this module's globals
_STATE_ATTR = "_safeattach_listen"  # set on the debugpy module once we started a listener
_GATE_ATTR = "_safeattach_gate"  # the peer gate that listener's adapter runs behind
_FAILED_ATTR = "_safeattach_failed"  # why that listener's debug server failed after the attach returned
_SERVICE_THREAD = "safeattach-debugpy"
_BYTECODE_FILE = "bytecode.py"  # shipped next to the loader: core/payloads/in_target_bytecode.py
_GATE_BYTECODE = "safeattach_bytecode.py"  # the same file, importable by the adapter's sitecustomize
_PROC = "/proc"
_PROBE_TIMEOUT = 1.0  # seconds: a loopback connect is instant when the loopback works
_LISTEN_MIN, _LISTEN_MAX = 2.0, 15.0  # seconds debugpy.listen() may take, within the request's deadline


class PayloadGaveUp(RuntimeError):
    """The payload stopped without changing the program; the message says what happened in the target."""


def run(params: dict[str, Any], ctx: dict[str, object]) -> dict[str, Any]:
    host = str(params["host"])
    port = int(params["port"])
    min_python = tuple(params.get("min_python") or (3, 10))
    if tuple(sys.version_info[:2]) < min_python and "debugpy" not in sys.modules:
        wanted = ".".join(str(n) for n in min_python)
        raise RuntimeError(
            f"this debugpy needs Python >= {wanted}; the target runs {sys.version_info[0]}.{sys.version_info[1]}"
        )
    existing = _existing_listener()
    if existing is not None:
        debugpy = sys.modules["debugpy"]
        result: dict[str, Any] = {"reused": True, "host": existing[0], "port": existing[1]}
    else:
        _probe_loopback(host)
        debugpy_dir = str(params["debugpy_dir"])
        adapter = params.get("adapter")
        gate = params.get("gate")
        if adapter:  # the client started the adapter (core/dap/fast_adapter.py): connect pydevd to it
            own = "debugpy" in sys.modules
            debugpy = _import_debugpy(debugpy_dir, ctx, server=False)  # pydevd: in the listen thread
            after = _waiter(debugpy) if params.get("wait_for_client") else None
            adapter_python = str(adapter["python"])
            connector = _Connector(adapter, None if own else debugpy_dir, debugpy)
            bound = _listen_bounded(debugpy, host, port, _budget(ctx), None, after, connector)
            gated = None
        else:
            debugpy = _import_debugpy(debugpy_dir, ctx)
            after = _waiter(debugpy) if params.get("wait_for_client") else None
            adapter_python = _configure_adapter_python(debugpy)
            gated = _Gate(gate, ctx, debugpy_dir) if gate else None
            bound = _listen_bounded(debugpy, host, port, _budget(ctx), gated, after)
        real_host, real_port = str(bound[0]), int(bound[1])
        setattr(debugpy, _STATE_ATTR, (real_host, real_port))
        setattr(debugpy, _GATE_ATTR, {k: gate[k] for k in ("allowed", "idle", "open")} if gate else None)
        result = {"reused": False, "host": real_host, "port": real_port, "adapter_python": adapter_python}
        if gated is not None and gated.adapter_pid is not None:
            result["adapter_pid"] = gated.adapter_pid
        elif adapter:
            result["adapter_pid"] = int(adapter["pid"])
    result["gate"] = getattr(debugpy, _GATE_ATTR, None)  # None: not started by safeattach, or ungated
    result["debugpy_version"] = str(getattr(debugpy, "__version__", "unknown"))
    result["pid"] = os.getpid()
    if params.get("wait_for_client"):
        if result["reused"]:
            _waiter(debugpy)()
        result["waiting_for_client"] = True
    bridge = params.get("bridge_socket")
    if bridge:
        result["bridge_socket"] = _start_forwarder(str(bridge), result["host"], int(result["port"]))
    return result


# -- reuse -------------------------------------------------------------------------------------------------


def _existing_listener() -> tuple[str, int] | None:
    """(host, port) of a debugpy server already listening in this process, or None."""
    # ours is known from the moment its port listened (listen() may still be connecting pydevd then)
    known = getattr(sys.modules.get("debugpy"), _STATE_ATTR, None)
    api = sys.modules.get("debugpy.server.api")
    if known is None and (api is None or not getattr(getattr(api, "listen", None), "called", False)):
        return None
    if known is not None:
        failed = getattr(sys.modules.get("debugpy"), _FAILED_ATTR, None)
        if failed is not None:
            raise PayloadGaveUp(
                f"the debug server safeattach started in this process failed after the attach returned: {failed}; "
                "debugpy can listen only once per process, so restart the program to debug it again"
            )
        if int(known[1]) not in _listening_anywhere():
            raise PayloadGaveUp(
                f"the debug server safeattach started in this process (port {known[1]}) has stopped, after its "
                "idle timeout or because it was killed; debugpy can listen only once per process, so restart "
                "the program to debug it again"
            )
        return str(known[0]), int(known[1])
    found = _discover_listener()
    if found is None:
        raise RuntimeError(
            "debugpy.listen() was already called in this process, but its client address could not be found"
        )
    return found


def _listening_anywhere() -> set[int]:
    """TCP ports in LISTEN state in this process's network namespace (whoever holds them)."""
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"{_PROC}/self/net/{table}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) > 3 and cols[3] == "0A":
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def _discover_listener() -> tuple[str, int] | None:
    """Find the address of a listener the program started itself with debugpy.listen().

    In-process adapter mode: pydevd listens itself (`_server_socket_name`). Otherwise listen() spawned a
    daemonised adapter whose command line carries the server access token pydevd keeps; the adapter's
    listening TCP socket other than the one pydevd is connected to is the client endpoint.
    """
    pydevd = sys.modules.get("pydevd")
    py_db = pydevd.get_global_debugger() if pydevd is not None else None
    if py_db is None:
        return None
    own = getattr(py_db, "_server_socket_name", None)
    if own:
        return str(own[0]), int(own[1])
    token = getattr(getattr(py_db, "authentication", None), "access_token", None)
    if not token:
        return None
    adapter = _find_adapter(str(token))
    if adapter is None:
        return None
    adapter_pid, arg_host, arg_port = adapter
    if arg_port:
        return arg_host, arg_port
    server_port = -1
    writer = getattr(py_db, "writer", None)
    try:
        server_port = int(writer.sock.getpeername()[1])  # type: ignore[union-attr]
    except (AttributeError, OSError):
        pass
    ports = [p for p in _listening_ports(adapter_pid) if p != server_port]
    if len(ports) != 1:
        return None
    return arg_host, ports[0]


def _find_adapter(token: str) -> tuple[int, str, int] | None:
    for entry in os.listdir(_PROC):
        if not entry.isdigit():
            continue
        try:
            with open(f"{_PROC}/{entry}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0")]
        except OSError:
            continue
        if "--server-access-token" not in argv or "--for-server" not in argv:
            continue
        opts = {argv[i]: argv[i + 1] for i in range(len(argv) - 1)}
        if opts.get("--server-access-token") != token:
            continue
        try:
            return int(entry), opts.get("--host", "127.0.0.1"), int(opts.get("--port", "0"))
        except ValueError:
            return None
    return None


def _listening_ports(pid: int) -> list[int]:
    inodes: set[str] = set()
    fd_dir = f"{_PROC}/{pid}/fd"
    try:
        for fd in os.listdir(fd_dir):
            try:
                link = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return []
    ports: list[int] = []
    for table in ("tcp", "tcp6"):
        try:
            with open(f"{_PROC}/{pid}/net/{table}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) > 9 and cols[3] == "0A" and cols[9] in inodes:  # 0A = LISTEN
                ports.append(int(cols[1].rsplit(":", 1)[1], 16))
    return sorted(set(ports))


# -- fresh start -------------------------------------------------------------------------------------------


def _budget(ctx: dict[str, object]) -> float:
    deadline = ctx.get("deadline")
    left = float(deadline) - time.time() if isinstance(deadline, (int, float)) else _LISTEN_MAX
    return min(_LISTEN_MAX, max(_LISTEN_MIN, left))


def _probe_loopback(host: str) -> None:
    """Connect to a throwaway listener on the address debugpy will use; raise PayloadGaveUp if that fails."""
    probe_host = _local_address(host)
    family = socket.AF_INET6 if ":" in probe_host else socket.AF_INET
    try:
        server = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise PayloadGaveUp(f"cannot create a socket in the target: {exc}") from None
    client = None
    try:
        server.bind((probe_host, 0))
        server.listen(1)
        server.settimeout(_PROBE_TIMEOUT)
        client = socket.socket(family, socket.SOCK_STREAM)
        client.settimeout(_PROBE_TIMEOUT)
        client.connect(server.getsockname()[:2])
        conn, _ = server.accept()
        conn.close()
    except OSError as exc:
        raise PayloadGaveUp(_network_reason(probe_host, exc)) from None
    finally:
        server.close()
        if client is not None:
            client.close()


def _network_reason(host: str, exc: OSError) -> str:
    if exc.errno == errno.ENETUNREACH:
        what = "network unreachable in the target's namespace (is its loopback down?)"
    elif exc.errno == errno.EADDRNOTAVAIL:
        what = "address not available in the target's namespace"
    elif isinstance(exc, socket.timeout):
        what = "no answer in time in the target's namespace"
    else:
        what = "the target cannot connect to its own listener"
    return f"{what}: a test connection to {host} failed: {exc}"


def _local_address(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)


def _waiter(debugpy: Any) -> Callable[[], None]:
    """Starts debugpy.wait_for_client() in a service thread (it needs a finished listen())."""
    return lambda: _service_thread(debugpy.wait_for_client, "wait-for-client").start()


class _Connector:
    """What `debugpy --pid` injects, for the adapter the client started (core/dap/fast_adapter.py), in the
    listen thread: import pydevd (about 100 ms, off the interrupted thread), wait until the adapter's gate
    announced its ports, connect pydevd to its server port with the access token and mark debugpy as
    listening (it can listen only once per process). The interrupted thread returns as soon as the adapter
    listens on both ports (`wait_listening`): a DAP client that connects meanwhile is served once pydevd is
    up, as with the gate. If pydevd fails after that, the adapter is stopped (a DAP client sees its connection
    close instead of waiting for a server that cannot come) and the reason stays on the debugpy module for the
    next attach to report."""

    def __init__(self, adapter: dict[str, Any], debugpy_dir: str | None, debugpy: Any) -> None:
        self.adapter = adapter
        self.debugpy_dir = debugpy_dir
        self.debugpy = debugpy
        self.client_port: int | None = None
        # (client port, server port, adapter pid), once the interrupted thread read them and returned its report
        self.known: tuple[int, int, int] | None = None

    def __call__(self, address: tuple[str, int]) -> Any:
        try:
            _import_server(self.debugpy_dir)
            api: Any = sys.modules["debugpy.server.api"]
            return api._starts_debugging(self._connect)(address)
        except BaseException as exc:
            if self.known is not None:  # nobody waits for this thread any more: stop the adapter, keep the reason
                self._failed(f"{type(exc).__name__}: {exc}")
            raise

    def _failed(self, reason: str) -> None:
        setattr(self.debugpy, _FAILED_ATTR, reason)
        pid = (self.known or (0, 0, 0))[2]
        try:  # the adapter started for this process (its command line holds our token): no server will come
            with open(f"{_PROC}/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            if pid > 1 and str(self.adapter["token"]).encode() in argv:
                os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass

    def _endpoints(self) -> tuple[int, int, int] | None:
        try:
            with open(str(self.adapter["endpoints"])) as f:
                client, server, pid = (int(x) for x in f.read().split())
        except (OSError, ValueError):
            return None
        return client, server, pid

    def _connect(self, address: tuple[str, int], settrace_kwargs: dict[str, Any]) -> tuple[str, int]:
        api: Any = sys.modules["debugpy.server.api"]
        adapter = self.adapter
        deadline = float(adapter["deadline"])
        while True:  # the client removes the adapter's directory once the attach returned: read it once
            got = self.known or self._endpoints()
            if got is not None:
                client, server, pid = got
                break
            if time.time() > deadline:
                raise PayloadGaveUp("the debug adapter safeattach started did not come up in time")
            time.sleep(0.002)
        if server not in _listening_anywhere():
            raise PayloadGaveUp("the debug adapter safeattach started is gone")
        adapter["pid"] = pid
        api.listen.called = True  # from here on: another listen() would only hang
        self.client_port = client
        with _no_delay(sys.modules.get("pydevd")):
            api._settrace(host=str(adapter["server_host"]), port=server, wait_for_ready_to_run=False,
                          block_until_connected=True, access_token=str(adapter["token"]), **settrace_kwargs)
        return address[0], client

    def wait_listening(self, thread: threading.Thread, deadline: float) -> int | None:
        """The adapter's client port once it listens on both ports (pydevd may still be importing)."""
        while thread.is_alive() and time.monotonic() < deadline:
            got = self._endpoints()
            if got is not None and got[1] in _listening_anywhere():
                self.known = got
                self.adapter["pid"] = got[2]
                self.client_port = got[0]
                return got[0]
            time.sleep(0.002)
        return self.client_port


@contextlib.contextmanager
def _no_delay(pydevd: Any) -> Iterator[None]:
    """pydevd writes each message as two sends (header, then body): with Nagle's algorithm the body waits for
    the adapter's delayed ACK, about 40 ms per message (each DAP request the debug server answers). Its
    connection to the adapter gets TCP_NODELAY from the moment it exists (pydevd's `start_client`, wrapped
    only while this thread connects; nothing else connects then). Only a speed-up: skipped if absent."""
    original = getattr(pydevd, "start_client", None)
    if original is None:
        yield
        return

    def start_client(*args: Any, **kwargs: Any) -> Any:
        sock = original(*args, **kwargs)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass
        return sock

    pydevd.start_client = start_client
    try:
        yield
    finally:
        pydevd.start_client = original


def _listen_bounded(debugpy: Any, host: str, port: int, budget: float, gate: _Gate | None,
                    after: Callable[[], None] | None = None, start: _Connector | None = None) -> tuple[str, int]:
    """debugpy.listen() in a daemon thread; this (interrupted) thread waits at most `budget` seconds. The
    gate is placed before and removed after listen() by that thread, so a late adapter still finds it.
    With the gate, this thread returns as soon as the gated adapter's client port listens (the gate
    announces it): debugpy.listen() goes on connecting pydevd to the adapter, which a DAP client that
    connects meanwhile waits for. `after` runs once listen() returned."""
    done: dict[str, Any] = {}

    def listen() -> None:
        try:
            if gate is not None:
                gate.place(debugpy)
            try:
                if start is not None:  # imports pydevd itself, then connects it (with TCP_NODELAY)
                    done["bound"] = start((host, port))
                else:
                    with _no_delay(sys.modules.get("pydevd")):
                        done["bound"] = debugpy.listen((host, port))
                if gate is not None:
                    gate.verify(debugpy)
            finally:
                if gate is not None:
                    gate.remove(debugpy)
            if after is not None:
                after()
        except BaseException as exc:  # reported to the waiting thread, never printed
            done["error"] = exc

    if sys.version_info < (3, 12):
        # pydevd traces with sys.settrace before 3.12: listen() must run on a thread that runs the program's
        # code (pure-Python pydevd cannot set the trace function of other threads). The loopback probe
        # already ruled out the namespace that made it hang, and debugpy bounds its own waits (30 s).
        listen()
    else:  # sys.monitoring is process-wide: listen() may run in a thread of its own
        thread = _service_thread(listen, "listen")
        thread.start()
        deadline = time.monotonic() + budget
        announcer = gate if gate is not None else start
        if announcer is not None:
            early = announcer.wait_listening(thread, deadline)
            if early is not None and "error" not in done:
                return host, early
        thread.join(max(0.0, deadline - time.monotonic()))
    if "bound" not in done and "error" not in done:
        raise PayloadGaveUp(
            f"debugpy.listen() did not finish within {budget:.1f}s in the target; it was left to finish or "
            "fail in a daemon thread, and the program goes on"
        )
    if "error" in done:
        exc = done["error"]
        if isinstance(exc, PayloadGaveUp):
            raise exc
        raise PayloadGaveUp(f"debugpy.listen() failed in the target: {type(exc).__name__}: {exc}")
    bound = done["bound"]
    return str(bound[0]), int(bound[1])


def _bytecode_helper(ctx: dict[str, object]) -> dict[str, Any] | None:
    """The namespace of bytecode.py (core/payloads/in_target_bytecode.py), run without importing it."""
    path = os.path.join(str(ctx.get("private_dir", "")), _BYTECODE_FILE)
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError:
        return None
    namespace: dict[str, Any] = {"__name__": "safeattach_bytecode"}
    exec(compile(source, path, "exec"), namespace)
    return namespace


def _import_debugpy(debugpy_dir: str, ctx: dict[str, object], *, server: bool = True) -> Any:
    """Import debugpy from debugpy_dir, leaving sys.path exactly as it was afterwards; where this process
    writes no bytecode, debugpy's own directories cache theirs (in_target_bytecode). `server=False` imports
    the package only (a few milliseconds); `_import_server` then imports pydevd (about 100)."""
    if "debugpy" in sys.modules:  # the program imported debugpy itself but never listened: use its copy
        import debugpy

        if server:
            import debugpy.server.api
        return debugpy
    if not os.path.isdir(os.path.join(debugpy_dir, "debugpy")):
        raise FileNotFoundError(f"no debugpy package under {debugpy_dir!r} (as this process sees it)")
    try:
        helper = _bytecode_helper(ctx)
        if helper is not None:
            helper["cache_package"](debugpy_dir)
    except Exception:  # only a speed-up: debugpy imports from source as before
        pass
    sys.path.insert(0, debugpy_dir)
    try:
        import debugpy

        if server:  # listen() imports debugpy.server.api lazily: import it now, while the path is set
            _import_server(debugpy_dir)
    finally:
        try:
            sys.path.remove(debugpy_dir)
        except ValueError:
            pass
    return debugpy


def _import_server(debugpy_dir: str | None) -> None:
    """debugpy.server.api, which imports pydevd: found through the package's own path (debugpy vendors pydevd
    and puts its directory on sys.path itself while importing it). `debugpy_dir` None: the program's own
    debugpy, imported as it is."""
    # The shipped compiled speedups only match the client's CPython; the pure-Python tracer works everywhere.
    # PYDEVD_* are read once at import time; the environment is restored right after.
    overrides = {}
    if debugpy_dir is not None:
        overrides["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        if not _speedups_match(debugpy_dir):
            overrides["PYDEVD_USE_CYTHON"] = "NO"
    saved_env = {k: os.environ.get(k) for k in overrides}
    for k, v in overrides.items():
        os.environ.setdefault(k, v)
    try:
        import debugpy.server.api  # noqa: F401
    finally:
        for k, old in saved_env.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old


class _Gate:
    """debugpy's adapter behind a peer-uid gate: `adapter_gate.py` (core/payloads/in_target_adapter_gate.py)
    becomes the adapter's sitecustomize through the environment debugpy spawns it with."""

    def __init__(self, config: dict[str, Any], ctx: dict[str, object], debugpy_dir: str) -> None:
        self.config = config
        self.debugpy_dir = debugpy_dir  # the adapter caches the bytecode of what it imports from there
        self.bytecode = os.path.join(str(ctx["private_dir"]), _BYTECODE_FILE)
        self.source = os.path.join(str(ctx["private_dir"]), "adapter_gate.py")
        self.dir = os.path.join(str(ctx["private_dir"]), "gate")
        self.marker = os.path.join(self.dir, "installed")
        self.listening = os.path.join(self.dir, "listening")  # the gate writes the client port there
        self.adapter_pid: int | None = None  # and the adapter's pid (a hint the client checks in /proc)

    def place(self, debugpy: Any) -> None:
        if not any(os.path.exists(f"{_PROC}/self/net/{t}") for t in ("tcp", "tcp6")):
            raise PayloadGaveUp(f"{_PROC} is not mounted in the target's view: the debug server could not tell "
                                "who connects, so it was not started")
        with open(self.source, "rb") as f:
            code = f.read()
        os.mkdir(self.dir, 0o700)
        _write_new(os.path.join(self.dir, "sitecustomize.py"), code)
        caching = False
        try:
            with open(self.bytecode, "rb") as f:
                _write_new(os.path.join(self.dir, _GATE_BYTECODE), f.read())
            caching = True
        except OSError:
            pass
        old = os.environ.get("PYTHONPATH", "")
        env = dict(os.environ)
        env["PYTHONPATH"] = self.dir + (os.pathsep + old if old else "")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["SAFEATTACH_ADAPTER_GATE"] = json.dumps({
            "allowed": list(self.config["allowed"]), "open": bool(self.config["open"]),
            "idle": float(self.config["idle"]), "marker": self.marker, "pythonpath": old,
            "bytecode": self.debugpy_dir if caching else None, "listening": self.listening,
        })
        try:
            debugpy.configure(pythonEnv=env)
        except ValueError as exc:  # a debugpy the program imported itself, too old for this
            raise PayloadGaveUp(f"this debugpy cannot start its adapter behind safeattach's gate: {exc}") from None

    def wait_listening(self, thread: threading.Thread, deadline: float) -> int | None:
        """The client port of the gated adapter once it listens; None if listen() ended first (or the time)."""
        while thread.is_alive() and time.monotonic() < deadline:
            try:
                with open(self.listening) as f:
                    port, pid = f.read().split()
                self.adapter_pid = int(pid)
                return int(port)
            except (OSError, ValueError):
                time.sleep(0.002)
        return None

    def verify(self, debugpy: Any) -> None:
        """Fail closed: an adapter that runs without the gate is stopped."""
        if os.path.exists(self.marker):
            return
        found = _discover_listener_pid()
        if found is not None:
            try:
                os.kill(found, 9)
            except OSError:
                pass
        raise PayloadGaveUp("debugpy's adapter started without safeattach's peer gate; it was stopped")

    def remove(self, debugpy: Any) -> None:
        try:
            debugpy.configure(pythonEnv={})
        except ValueError:
            pass
        for name in ("sitecustomize.py", _GATE_BYTECODE, "installed", "listening", "listening.tmp"):
            try:
                os.unlink(os.path.join(self.dir, name))
            except OSError:
                pass
        try:
            os.rmdir(self.dir)
        except OSError:
            pass


def _write_new(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _discover_listener_pid() -> int | None:
    pydevd = sys.modules.get("pydevd")
    py_db = pydevd.get_global_debugger() if pydevd is not None else None
    token = getattr(getattr(py_db, "authentication", None), "access_token", None)
    found = _find_adapter(str(token)) if token else None
    return found[0] if found is not None else None


def _speedups_match(debugpy_dir: str) -> bool:
    tag = f"cpython-{sys.version_info[0]}{sys.version_info[1]}"
    bundle = os.path.join(debugpy_dir, "debugpy", "_vendored", "pydevd", "_pydevd_bundle")
    try:
        return any(name.startswith("pydevd_cython.") and tag in name for name in os.listdir(bundle))
    except OSError:
        return False


def _configure_adapter_python(debugpy: Any) -> str:
    """debugpy spawns its adapter with sys.executable, which is not Python in an embedding program."""
    python = _python_executable()
    if python is None:
        raise RuntimeError(
            f"no Python executable found for the debugpy adapter (sys.executable={sys.executable!r})"
        )
    debugpy.configure(python=python)
    return python


def _python_executable() -> str | None:
    major, minor = sys.version_info[0], sys.version_info[1]
    candidates = [sys.executable, getattr(sys, "_base_executable", "")]
    names = [f"python{major}.{minor}", f"python{major}"]
    for prefix in (sys.base_prefix, sys.prefix, "/usr", "/usr/local"):
        candidates += [os.path.join(prefix, "bin", n) for n in names]
    for cand in candidates:
        if cand and os.path.basename(cand).startswith("python") and _is_executable(cand):
            return cand
    return None


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


# -- threads and the Unix-socket forwarder -----------------------------------------------------------------


def _service_thread(target: Callable[..., object], what: str, *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, name=f"{_SERVICE_THREAD}-{what}", daemon=True)
    # pydevd must neither trace nor suspend these threads: a suspended relay would freeze the DAP link.
    thread.pydev_do_not_trace = True  # type: ignore[attr-defined]
    thread.is_pydev_daemon_thread = True  # type: ignore[attr-defined]
    return thread


def _start_forwarder(path: str, host: str, port: int) -> str:
    """Accept on the Unix socket `path` and relay each connection to debugpy's TCP endpoint."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(path)
        os.chmod(path, 0o600)
        server.listen(8)
        server.settimeout(1.0)
    except OSError:
        server.close()
        raise
    _service_thread(_accept_loop, "bridge", server, path, host, port).start()
    return path


def _accept_loop(server: socket.socket, path: str, host: str, port: int) -> None:
    ident = _inode(path)
    try:
        while _inode(path) == ident:  # stops once the socket file is removed or replaced
            try:
                conn, _ = server.accept()
            except socket.timeout:  # noqa: UP041  (not TimeoutError before 3.10)
                continue
            except OSError:
                return
            conn.settimeout(None)
            _service_thread(_serve_one, "relay", conn, host, port).start()
    finally:
        server.close()


def _serve_one(conn: socket.socket, host: str, port: int) -> None:
    # Reach debugpy's adapter only once the client has spoken: a connection closed before its first
    # message can wedge the adapter's accept loop for good.
    try:
        first = conn.recv(65536)
        if not first:
            conn.close()
            return
        upstream = socket.create_connection((host, port), timeout=10)
        upstream.settimeout(None)
        upstream.sendall(first)
    except OSError:
        conn.close()
        return
    _relay(conn, upstream)


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _relay(a: socket.socket, b: socket.socket) -> None:
    lock = threading.Lock()
    finished = [0]

    def pump(src: socket.socket, dst: socket.socket) -> None:
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
        with lock:
            finished[0] += 1
            last = finished[0] == 2
        if last:  # the second pump to finish closes both ends
            a.close()
            b.close()

    _service_thread(pump, "relay", a, b).start()
    _service_thread(pump, "relay", b, a).start()
