"""Decoding and validating CPython's `_Py_DebugOffsets` table (3.13, 3.14, 3.15; free-threaded variants)."""

from .decoded import DebugOffsets
from .eval_breaker import PLEASE_STOP_BIT, please_stop_mask
from .layouts import (
    COOKIE,
    HEADER_SIZE,
    LAYOUTS,
    MAX_TABLE_SIZE,
    FreeThreadedExpectations,
    Layout,
    SectionLayout,
    build_debug_offsets,
    layout_for_version,
    layout_named,
    table_size,
)
from .parse import parse_debug_offsets

__all__ = [
    "COOKIE",
    "HEADER_SIZE",
    "LAYOUTS",
    "MAX_TABLE_SIZE",
    "PLEASE_STOP_BIT",
    "DebugOffsets",
    "FreeThreadedExpectations",
    "Layout",
    "SectionLayout",
    "build_debug_offsets",
    "layout_for_version",
    "layout_named",
    "parse_debug_offsets",
    "please_stop_mask",
    "table_size",
]
