"""Where the per-screen .tcss files live (the repository's styles/ folder)."""

from __future__ import annotations

from pathlib import Path

STYLES_DIR = Path(__file__).resolve().parents[2] / "styles"


def css(name: str) -> str:
    return str(STYLES_DIR / f"{name}.tcss")
