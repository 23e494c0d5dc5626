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
