"""Typed access from a screen to the console app (its EngineSource and navigation)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode

if TYPE_CHECKING:
    from app.tui.app import SafeAttachApp


def console(node: DOMNode) -> SafeAttachApp:
    return cast("SafeAttachApp", node.app)
