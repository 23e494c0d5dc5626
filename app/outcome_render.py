"""How to reach a started debugpy server, rendered once for the CLI and the console (rich only, no Textual)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

VSCODE_HEADING = "VS Code launch.json configuration:"


def connect_address(result: Mapping[str, Any]) -> str | None:
    """"HOST:PORT" a DAP client connects to, when the outcome's result carries one."""
    connect = result.get("connect")
    if isinstance(connect, Mapping) and "host" in connect and "port" in connect:
        return f"{connect['host']}:{connect['port']}"
    return None


def vscode_block(result: Mapping[str, Any]) -> Text | None:
    """The heading and the launch.json entry, when the outcome's result carries one."""
    if "vscode" not in result:
        return None
    from rich.text import Text

    return Text.assemble((VSCODE_HEADING + "\n", "bold"), json.dumps(result["vscode"], indent=2))


def access_line(result: Mapping[str, Any]) -> str | None:
    """Who may connect and when the server stops, when safeattach controls the server."""
    access = result.get("access")
    if not isinstance(access, Mapping):
        return None
    uids = ", ".join(str(u) for u in access.get("allowed_uids") or [])
    who = f"Only uid {uids} may connect" if not access.get("open_to_network") else (
        f"Local connections only from uid {uids}; remote hosts are not checked (--listen opt-in)")
    idle = access.get("idle_timeout")
    stop = f"; the server stops {idle:g}s after its last client leaves" if isinstance(idle, (int, float)) else ""
    return f"{who}{stop}."


def ssh_forward_line(result: Mapping[str, Any], ssh_connection: str | None) -> str | None:
    """Over SSH (`SSH_CONNECTION` = "client_ip client_port server_ip server_port"), the `ssh -L` command
    that forwards the DAP port to the user's own machine."""
    connect = result.get("connect")
    if not ssh_connection or not isinstance(connect, Mapping):
        return None
    parts = ssh_connection.split()
    if len(parts) != 4:
        return None
    server_ip, server_port = parts[2], parts[3]
    host, port = str(connect.get("host")), connect.get("port")
    target_host = f"[{host}]" if ":" in host else host
    server = f"[{server_ip}]" if ":" in server_ip else server_ip
    via = f" -p {server_port}" if server_port != "22" else ""
    return f"ssh -N -L {port}:{target_host}:{port}{via} {server}"
