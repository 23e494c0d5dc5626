"""Source text of the in-target payload modules (they are shipped as text, never imported by the client)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_HERE = Path(__file__).parent


@cache
def payload_source(module: str) -> str:
    return (_HERE / f"{module}.py").read_text(encoding="utf-8")
