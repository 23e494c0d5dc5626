"""Debugger sessions: the debugpy payload's part of the attach chain.

`DebugSession` adds two steps around the chain for `Payload.DEBUGPY`:

- `reattachCache` (first): a cached server for this process incarnation that still listens (checked in
  /proc, never by connecting) makes every injection step unnecessary;
- `debugpyReady` (last): reads the payload's report (port, debugpy version, whether a server was already
  running), confirms in /proc that the port is in LISTEN state, caches it, and — for a target in another
  network namespace — starts a local `DapBridge` to the relay socket the payload opened in the target.

The bridge socket lives in a long-lived per-target directory `/tmp/safeattach-<uid>-bridge/<pid>-<ticks>/`
(the request's private dir is removed when the chain ends, and the in-target relay stops when its socket
file goes); directories of processes that are gone are removed on the next bridged attach. Bridges
started here run in this process until `stop_bridges()`.
"""

from __future__ import annotations

import errno
import os
import re
import threading
import time
from collections.abc import Callable

from core.dap.payload import is_loopback
from core.dap.reattach import CacheEntry, find_listener, forget, load, store, validate
from core.errors import FailureKind, SafeAttachError
from core.payloads.contract import PayloadResult, PayloadSpec
from core.privdir import mkdir_private, open_base_dir, remove_dir_at
from core.procfs import same_namespace, same_root, start_ticks_of
from core.records import dataclass, field
from core.requests import AttachRequest

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same. The bridge (and
# the in-target gate it shares, which needs typing) loads only for a target in another network namespace, the
# client-started adapter (subprocess) only once the target is open.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from core.dap.bridge import DapBridge
    from core.dap.fast_adapter import FastAdapter
    from core.dap.releases import Release
    from core.results import (
        JSON,
        Access,
        BridgeInfo,
        CacheDetail,
        CacheHitDetail,
        ReadyDetail,
        ServerInfo,
        SessionResult,
        VSCodeConfig,
    )

Say = Callable[[str], None]  # a line of step output

BRIDGE_SOCKET = "dap.sock"
GAVE_UP = "PayloadGaveUp"  # the in-target payload's exception for "stopped cleanly, here is why"
LISTEN_WAIT = 5.0  # seconds for debugpy's port to show up in LISTEN state after the payload reported it
_BRIDGE_DIR = re.compile(r"(\d+)-(\d+)")

_bridges_lock = threading.Lock()
_bridges: list[DapBridge] = []


def active_bridges() -> list[DapBridge]:
    with _bridges_lock:
        return list(_bridges)


def stop_bridges() -> None:
    with _bridges_lock:
        bridges = list(_bridges)
        _bridges.clear()
    for bridge in bridges:
        bridge.stop()


def connect_host(host: str) -> str:
    """Where a local client connects to a server bound to `host` (a wildcard means loopback works)."""
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)


def vscode_config(pid: int, host: str, port: int, local_root: str | None) -> VSCodeConfig:
    """A VS Code launch.json "attach" configuration for this server."""
    config: VSCodeConfig = {
        "name": f"Attach to PID {pid} (safeattach)",
        "type": "debugpy",
        "request": "attach",
        "connect": {"host": host, "port": port},
        "justMyCode": False,
    }
    if local_root is not None:  # the target sees another root: map its paths onto ours
        config["pathMappings"] = [{"localRoot": local_root, "remoteRoot": "/"}]
    return config


def _root_path(pid: int) -> str | None:
    """The target's root directory as we see it, when it is not ours (chroot, container)."""
    if same_root(pid) is not False:
        return None
    try:
        return os.readlink(f"/proc/{pid}/root")
    except OSError:
        return None


def bridge_base(uid: int) -> str:
    """Name of the directory in the target's /tmp that holds the per-process bridge dirs."""
    return f"safeattach-{uid}-bridge"


def prepare_bridge_dir(root: str, pid: int, start_ticks: int, uid: int, gid: int) -> str:
    """Create (or reuse) the target's bridge dir, remove a previous socket and stale siblings.

    Returns the socket path as the target sees it.
    """
    name, base = f"{pid}-{start_ticks}", bridge_base(uid)
    base_fd = open_base_dir(root, base, uid, gid, unreachable=FailureKind.PAYLOAD)
    try:
        for entry in os.listdir(base_fd):
            m = _BRIDGE_DIR.fullmatch(entry)
            if m and entry != name and start_ticks_of(int(m[1])) != int(m[2]):
                remove_dir_at(base_fd, entry)
        fd = mkdir_private(base_fd, name, uid, gid, must_create=False)
        try:
            # the previous relay (if any) stops once its socket file is gone
            os.unlink(BRIDGE_SOCKET, dir_fd=fd)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise SafeAttachError(FailureKind.PAYLOAD, f"cannot remove the old bridge socket: {exc}") from exc
        finally:
            os.close(fd)
    finally:
        os.close(base_fd)
    return f"/tmp/{base}/{name}/{BRIDGE_SOCKET}"


if TYPE_CHECKING:
    class OpenedTarget(Protocol):
        """What the payload needs to know of the opened target (core.target.Target provides it)."""

        @property
        def pid(self) -> int: ...
        @property
        def uid(self) -> int: ...
        @property
        def gid(self) -> int: ...
        @property
        def start_ticks(self) -> int: ...
        @property
        def root(self) -> str: ...


@dataclass
class DebugSession:
    """State of one debugpy attach; the chain calls `check_cache`, `payload_spec` and `ready`."""

    request: AttachRequest
    entry: CacheEntry | None = None  # a valid cache entry: nothing is injected
    cache_state: str = "miss"  # hit / miss / stale
    bridge_socket: str | None = None  # in-target relay socket (target's view)
    found: ServerInfo | None = None  # the server debugpyReady found (its `info`)
    warnings: list[str] = field(default_factory=list)
    bridge: DapBridge | None = None
    fast: FastAdapter | None = None  # the adapter this client started (core.dap.fast_adapter)
    _where: tuple[Release, str] | None = None  # the release and its directory in the target's view
    _chosen: Release | None = None  # the release, once chosen (before its directory is known)

    @property
    def pid(self) -> int:
        return self.request.pid

    @property
    def hit(self) -> bool:
        return self.entry is not None

    # -- reattachCache -----------------------------------------------------------------------------------
    @property
    def info(self) -> ServerInfo:
        assert self.found is not None, "debugpyReady has not run"
        return self.found

    def check_cache(self) -> CacheDetail:
        ticks = start_ticks_of(self.pid)
        entry = load(self.pid, ticks) if ticks is not None else None
        if entry is None:
            return {"message": "no cached server for this process", "cache": "miss"}
        why = validate(entry)
        if why is not None:
            forget(entry.pid, entry.start_ticks)
            self.cache_state = "stale"
            return {"message": f"cached server not usable: {why}", "cache": "stale"}
        self.entry, self.cache_state = entry, "hit"
        hit: CacheHitDetail = {
            "message": f"debugpy still listening on port {entry.port} (PID {entry.listener_pid} holds it)",
            "cache": "hit", "port": entry.port, "listener_pid": entry.listener_pid}
        return hit

    # -- the adapter, started by this client where that is sound ------------------------------------------
    def _release(self, target: OpenedTarget, version: tuple[int, int]) -> tuple[Release, str]:
        """The release is chosen first, so a target whose root is not ours gets a copy of the debugpy it will
        import, and only that one."""
        from core.dap.dist import debugpy_dir_for_target
        from core.dap.releases import release_for_target

        if self._where is None:
            release = self._chosen or release_for_target(version)
            self._where = release, debugpy_dir_for_target(target.pid, target_uid=target.uid, install=release.install)
        return self._where

    def start_adapter(self, target: OpenedTarget, version: tuple[int, int], say: Say) -> None:
        """Start debugpy's adapter now, in parallel with the injection, when the target would start the very
        same one (see core.dap.fast_adapter); otherwise the payload starts it, as before."""
        from core.dap import fast_adapter
        from core.dap.releases import release_for_target

        self._chosen = release_for_target(version)
        why = fast_adapter.blocker(target.pid, version, self._chosen.ours)
        if why is not None:
            say(f"debug adapter: started by the target ({why})")
            return
        booting = fast_adapter.boot()  # its interpreter starts while the debugpy copy is found (and checked)
        try:
            _release, where = self._release(target, version)
        except BaseException:
            booting.abandon()
            raise
        req = self.request
        self.fast = fast_adapter.start(
            target.pid, debugpy_dir=where, host=req.listen_host, port=req.listen_port,
            allowed=self.allowed_uids(target.uid), idle=req.idle_timeout,
            open_to_network=not is_loopback(req.listen_host),
            server_deadline=time.time() + req.timeout + fast_adapter.SERVER_GRACE, booting=booting,
        )
        say(f"debug adapter: started by safeattach as uid {target.uid}, in parallel with the injection")

    def close(self, ok: bool) -> None:
        """The chain ended: a failed attach leaves no adapter of ours behind."""
        fast = self.fast
        if fast is None:
            return
        if not ok:
            fast.kill()
        fast.cleanup()
        if ok:  # the spawned process exits once the adapter daemonised, up to tens of ms after it reported:
            # reaped off the attach's path (a CLI that exits first leaves it to init)
            threading.Thread(target=fast.reap, name="safeattach-reap-adapter", daemon=True).start()

    # -- the payload -------------------------------------------------------------------------------------
    def payload_spec(self, target: OpenedTarget, version: tuple[int, int], say: Say) -> PayloadSpec:
        """The payload for this target."""
        from core.dap import fast_adapter
        from core.dap.payload import debugpy_payload

        req = self.request
        release, where = self._release(target, version)
        if self.fast is not None:
            why = self.fast.exec_failure(fast_adapter.EXEC_WAIT)
            if why is not None:  # the payload starts its adapter itself, as before
                say(f"debug adapter: safeattach could not start it ({why}); the target starts it")
                self.close(ok=False)
                self.fast = None
        if not release.ours:
            say(f"Python {version[0]}.{version[1]} target: using debugpy {release.install.version} from {where}")
        host, port = req.listen_host, req.listen_port
        if same_namespace(target.pid, "net") is False:
            self.bridge_socket = prepare_bridge_dir(target.root, target.pid, target.start_ticks, target.uid,
                                                    target.gid)
            say(f"the target is in another network namespace: debugpy listens on its loopback, relayed "
                f"through {self.bridge_socket}")
            host, port = "127.0.0.1", 0  # the local bridge listens on the requested address instead
        return debugpy_payload(
            host=host, port=port, wait_for_client=req.wait_for_client, debugpy_dir=where,
            min_python=release.min_python, bridge_socket=self.bridge_socket,
            allowed_uids=self.allowed_uids(target.uid), idle_timeout=req.idle_timeout, adapter=self._adapter_params(),
        )

    def _adapter_params(self) -> dict[str, JSON] | None:
        fast = self.fast
        if fast is None:
            return None
        from core.dap import fast_adapter

        return {"endpoints": f"{fast.dir_target_path}/{fast_adapter.ENDPOINTS}", "token": fast.token,
                "server_host": "127.0.0.1", "deadline": fast.server_deadline, "python": fast.python}

    def allowed_uids(self, target_uid: int) -> list[int]:
        """Who may drive the session: the user who attaches and the target's own user, nobody else."""
        return sorted({os.geteuid(), target_uid})

    @property
    def target_uid(self) -> int:
        """The target's uid from /proc (a cache hit opens nothing else); root's for a non-dumpable process,
        which only narrows who may connect."""
        return os.stat(f"/proc/{self.pid}").st_uid

    # -- debugpyReady ------------------------------------------------------------------------------------
    def ready(self, result: PayloadResult | None, say: Say) -> ReadyDetail:
        if self.entry is not None:
            e = self.entry
            self.bridge_socket = e.bridge_socket
            self.found = {"reused": True, "host": e.host, "port": e.port, "listener_pid": e.listener_pid,
                          "gate": e.gate, "debugpy_version": e.debugpy_version}
        else:
            self.found = self._from_payload(result)
        req, info = self.request, self.found
        if info["reused"] and self.bridge_socket is None and (
            req.listen_port not in (0, info["port"]) or req.listen_host != info["host"]
        ):
            say(f"requested {req.listen_host}:{req.listen_port}, but the server already running listens on "
                f"{info['host']}:{info['port']}; it is reused as it is")
        if self.bridge_socket is not None:
            from core.dap.bridge import DapBridge

            path = f"/proc/{self.pid}/root{self.bridge_socket}"
            bridge = DapBridge(path, host=req.listen_host, port=req.listen_port,
                               allowed_uids=self.allowed_uids(self.target_uid))
            bridge.start()
            with _bridges_lock:
                _bridges.append(bridge)
            self.bridge = bridge
            chost, cport = bridge.address
            say(f"local bridge {chost}:{cport} → {self.bridge_socket} in the target → 127.0.0.1:{info['port']}")
            exposed = req.listen_host
        else:
            chost, cport = connect_host(info["host"]), info["port"]
            exposed = info["host"]
        if not is_loopback(exposed):
            self.warnings.append(
                f"listening on {exposed}, not loopback: anyone who can reach port {cport} can run code in "
                f"process {self.pid}"
            )
        elif not info.get("gate") and self.bridge is None:
            self.warnings.append(
                f"this debugpy server was not started by safeattach (the program listens itself): any local user "
                f"can connect to port {cport} and run code in process {self.pid}"
            )
        for w in self.warnings:
            say(f"warning: {w}")
        info["connect_host"], info["connect_port"] = chost, cport
        how = "reused the server already running" if info["reused"] else "started"
        if self.hit:
            how += " (reattach cache)"
        return {"message": f"debugpy {info.get('debugpy_version')} {how}; connect to {chost}:{cport}",
                "reused": info["reused"], "port": info["port"], "connect": f"{chost}:{cport}",
                "cache": self.cache_state}

    def _from_payload(self, result: PayloadResult | None) -> ServerInfo:
        if result is None:
            raise SafeAttachError(FailureKind.PAYLOAD, "the debugpy payload did not report")
        if not result.ok:
            kind, _, reason = result.error.partition(": ")
            if kind == GAVE_UP:  # the payload stopped cleanly and says why
                raise SafeAttachError(
                    FailureKind.PAYLOAD, f"debugpy could not start in the target: {reason}",
                    hint="The payload gave up without changing the program, which goes on running as before.",
                    detail={"reason": reason, "gave_up": True},
                )
            raise SafeAttachError(FailureKind.PAYLOAD, f"debugpy did not start in the target: {result.error}",
                                  detail={"traceback": result.traceback})
        report = result.result
        reused, host, port = report.get("reused"), report.get("host"), report.get("port")
        if not (isinstance(reused, bool) and isinstance(host, str) and isinstance(port, int)):
            raise SafeAttachError(FailureKind.PAYLOAD, "the debugpy payload's report lacks its server's address",
                                  detail={"report": dict(report)})
        if self.fast is not None:
            if reused:  # a server was already running: ours is not needed
                self.fast.kill()
                self.fast = None
            else:
                client_port, _, _adapter = self.fast.endpoints(LISTEN_WAIT)
                if client_port != port:
                    raise SafeAttachError(FailureKind.PAYLOAD, f"the payload reports port {port}, but the adapter "
                                          f"safeattach started listens on {client_port}")
        # our own adapter reported its ports itself: no need to search /proc's socket tables
        listener = self.fast.owned_pid() if self.fast is not None else None
        if listener is None:
            listener = self._find_listener(port, report.get("adapter_pid"))
        gate = report.get("gate")
        info: ServerInfo = {"reused": reused, "host": host, "port": port, "listener_pid": listener,
                            "gate": gate if isinstance(gate, dict) else None}
        for key in ("debugpy_version", "adapter_python"):
            value = report.get(key)
            if isinstance(value, str):
                info[key] = value
        if report.get("waiting_for_client") is True:
            info["waiting_for_client"] = True
        ticks, listener_ticks = start_ticks_of(self.pid), start_ticks_of(listener)
        if ticks is not None and listener_ticks is not None:
            store(CacheEntry(
                pid=self.pid, start_ticks=ticks, host=host, port=port,
                debugpy_version=info.get("debugpy_version", ""), listener_pid=listener,
                listener_start_ticks=listener_ticks, bridge_socket=self.bridge_socket, gate=info["gate"],
            ))
        return info

    def _find_listener(self, port: int, hint: object) -> int:
        """The target-side process listening on `port` (the adapter the target spawned), by /proc's tables."""
        deadline = time.monotonic() + LISTEN_WAIT
        pid_hint = hint if isinstance(hint, int) else None
        listener = find_listener(self.pid, port, pid_hint)
        while listener is None and time.monotonic() < deadline:
            time.sleep(0.02)
            listener = find_listener(self.pid, port, pid_hint)
        if listener is None:
            raise SafeAttachError(
                FailureKind.PAYLOAD,
                f"debugpy reports port {port}, but nothing listens there in the target's network namespace",
                hint="debugpy's adapter may have exited; a process can call debugpy.listen() only once, so "
                "restart it to debug it again",
                detail={"port": port},
            )
        return listener

    # -- the outcome -------------------------------------------------------------------------------------
    def result(self) -> SessionResult:
        info = self.info
        host, port = info["connect_host"], info["connect_port"]
        bridge: BridgeInfo | None = None
        if self.bridge is not None:
            bridge = {"socket": self.bridge_socket, "local": f"{host}:{port}",
                      "lifetime": "until this safeattach process exits (Ctrl-C)"}
        return {
            "debugpy": {
                "host": info["host"], "port": info["port"], "version": info.get("debugpy_version"),
                "reused": info["reused"], "listener_pid": info["listener_pid"],
                "adapter_python": info.get("adapter_python"),
                "waiting_for_client": info.get("waiting_for_client", False),
            },
            "connect": {"host": host, "port": port},
            "reused": info["reused"],
            "reattach_cache": self.cache_state,
            "bridge": bridge,
            "access": self._access(),
            "warnings": list(self.warnings),
            "vscode": vscode_config(self.pid, host, port, _root_path(self.pid)),
        }

    def _access(self) -> Access | None:
        """Who may connect, and when the server stops; None when safeattach does not control it."""
        gate = self.info["gate"]
        if gate is None:
            return None
        allowed: JSON = gate.get("allowed")
        return {"allowed_uids": list(allowed) if isinstance(allowed, list) else [], "idle_timeout": gate.get("idle"),
                "open_to_network": bool(gate.get("open"))}

    def message(self) -> str:
        info = self.info
        what = "already running" if info["reused"] else "started"
        return (f"debugpy {info.get('debugpy_version')} {what} in PID {self.pid}; "
                f"connect to {info['connect_host']}:{info['connect_port']}")

