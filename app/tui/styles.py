"""Where the per-screen .tcss files live: the repository's styles/ folder, or, for a non-editable install,
the copy installed as data files under <prefix>/share/safeattach/styles."""

from __future__ import annotations

import sys
from pathlib import Path


def _find() -> Path:
    in_repo = Path(__file__).resolve().parents[2] / "styles"
    if in_repo.is_dir():
        return in_repo
    return Path(sys.prefix) / "share" / "safeattach" / "styles"


STYLES_DIR = _find()


def css(name: str) -> str:
    return str(STYLES_DIR / f"{name}.tcss")
