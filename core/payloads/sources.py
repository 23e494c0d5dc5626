"""Source text of the in-target payload modules (they are shipped as text, never imported by the client)."""

from __future__ import annotations

import os
from functools import cache

_HERE = os.path.dirname(os.path.abspath(__file__))  # os.path, not pathlib: exec's start-up


@cache
def payload_source(module: str) -> str:
    with open(os.path.join(_HERE, f"{module}.py"), encoding="utf-8") as f:
        return f.read()
