"""Where safeattach keeps its files on the client: XDG directories, each with an override for tests."""

from __future__ import annotations

import os

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def xdg_location(override_var: str, xdg_var: str, fallback: str) -> str:
    """`$override_var`, else `$xdg_var/safeattach`, else `~/<fallback>/safeattach` (a string: the CLI's hot
    paths do not import pathlib)."""
    explicit = os.environ.get(override_var)
    if explicit:
        return explicit
    xdg = os.environ.get(xdg_var)
    return os.path.join(xdg if xdg else os.path.join(os.path.expanduser("~"), fallback), "safeattach")


def xdg_dir(override_var: str, xdg_var: str, fallback: str) -> Path:
    """xdg_location as a Path."""
    from pathlib import Path

    return Path(xdg_location(override_var, xdg_var, fallback))
