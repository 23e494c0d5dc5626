"""The payload that starts (or reuses) a debugpy server inside the target (the `debugpy` method)."""

from __future__ import annotations

from core.payloads.contract import PayloadSpec
from core.payloads.sources import payload_source

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from core.results import JSON

DEFAULT_IDLE_TIMEOUT = 600.0  # seconds the server waits for a (next) client before it stops


def debugpy_payload(
    *, host: str, port: int, wait_for_client: bool, debugpy_dir: str, bridge_socket: str | None,
    min_python: tuple[int, int], allowed_uids: Iterable[int] | None = None,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT, adapter: dict[str, JSON] | None = None,
) -> PayloadSpec:
    """Start debugpy in the target, listening on (host, port) of the target's network namespace.

    `debugpy_dir` is the directory containing the `debugpy` package, as the target sees it (see
    core.dap.dist), and `min_python` the oldest Python that release runs on (core.dap.releases). `port` 0
    binds a free port. `bridge_socket`, a path in the target's view (inside the private dir), additionally
    relays connections from that Unix socket to the debugpy port, for clients in another network namespace
    (see core.dap.bridge). The result dict holds `reused`, `host`, `port` (the real one), `debugpy_version`,
    `pid`, and when relevant `adapter_python`, `waiting_for_client` and `bridge_socket`. A target older than
    `min_python` gets a RuntimeError saying so, before anything is imported.

    `allowed_uids` (None: no gate) puts debugpy's adapter behind the peer-uid gate of
    core/payloads/in_target_adapter_gate.py: only connections from those uids are accepted (from anyone
    when `host` is not loopback, an explicit opt-in), and the adapter exits `idle_timeout` seconds after its
    last client left (or after it started, when nobody connects).

    `adapter` (core.dap.fast_adapter: the client started the gated adapter itself) makes the payload connect
    pydevd to that adapter instead of spawning one: `endpoints` (the file its gate announces the ports in, target's
    view), `token`, `server_host`, `deadline` (epoch seconds) and `python` (what runs it, for the report).
    """
    if not 0 <= port < 65536:
        raise ValueError(f"invalid port {port}")
    if not host:
        raise ValueError("empty host")
    params: dict[str, JSON] = {
        "host": host,
        "port": port,
        "wait_for_client": wait_for_client,
        "debugpy_dir": debugpy_dir,
        "bridge_socket": bridge_socket,
        "min_python": list(min_python),
        "gate": None,
        "adapter": adapter,
    }
    files: dict[str, bytes] = {"bytecode.py": payload_source("in_target_bytecode").encode("utf-8")}
    if allowed_uids is not None:
        if not idle_timeout > 0:
            raise ValueError(f"invalid idle timeout {idle_timeout}")
        # a list display, so the checker types it list[JSON] (sorted() gives list[int]: lists are invariant)
        params["gate"] = {"allowed": [*sorted(set(allowed_uids))], "idle": float(idle_timeout),
                          "open": not is_loopback(host)}
        if adapter is None:
            files["adapter_gate.py"] = payload_source("in_target_adapter_gate").encode("utf-8")
    return PayloadSpec(name="debugpy", source=payload_source("in_target_debugpy"), params=params, files=files)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress  # here: an attach that fails before its payload never needs it

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
