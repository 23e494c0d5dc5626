"""Source text of the in-target payload modules (they are shipped as text, never imported by the client)."""

from __future__ import annotations

import os

_HERE = os.path.dirname(os.path.abspath(__file__))  # os.path, not pathlib: exec's start-up
_READ: dict[str, str] = {}  # read once per process (not functools.cache: functools brings collections to exec)


def payload_source(module: str) -> str:
    text = _READ.get(module)
    if text is None:
        with open(os.path.join(_HERE, f"{module}.py"), encoding="utf-8") as f:
            text = _READ[module] = f.read()
    return text
