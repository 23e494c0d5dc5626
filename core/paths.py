"""Where safeattach keeps its files on the client: XDG directories, each with an override for tests."""

from __future__ import annotations

import os
from pathlib import Path


def xdg_dir(override_var: str, xdg_var: str, fallback: str) -> Path:
    """`$override_var`, else `$xdg_var/safeattach`, else `~/<fallback>/safeattach`."""
    explicit = os.environ.get(override_var)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get(xdg_var)
    return (Path(xdg) if xdg else Path.home() / fallback) / "safeattach"
