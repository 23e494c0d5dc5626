"""Where the per-screen .tcss files live: inside the installed package (app/tui/tcss, copied there from the
repository's styles/ folder when the wheel is built), or the repository's styles/ folder itself (a checkout or
an editable install). No path outside the package is needed, so --user, pipx and --target installs work."""

from __future__ import annotations

from pathlib import Path


def _find() -> Path:
    packaged = Path(__file__).resolve().parent / "tcss"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "styles"


STYLES_DIR = _find()


def css(name: str) -> str:
    return str(STYLES_DIR / f"{name}.tcss")
