"""Hand-checked x86_64 layouts for targets without _Py_DebugOffsets (3.11, 3.12).

3.11 was verified live (Debian and pyenv builds); 3.12 comes from CPython's headers (see
shared/design/pep768-spec.md §8). Older versions get no thread walk: only what the binary tells.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LegacyLayout:
    interpreters_head: int  # _PyRuntimeState.interpreters.head
    interpreters_main: int
    interp_next: int
    interp_threads_head: int
    interp_id: int
    tstate_next: int
    tstate_cframe: int
    cframe_current_frame: int
    tstate_thread_id: int
    tstate_native_thread_id: int
    frame_code: int
    frame_previous: int
    code_name: int
    ascii_data: int  # where a compact ASCII string's characters start


LEGACY_LAYOUTS: dict[tuple[int, int], LegacyLayout] = {
    (3, 11): LegacyLayout(40, 48, 0, 16, 48, 8, 56, 8, 152, 160, 32, 48, 120, 48),
    (3, 12): LegacyLayout(40, 48, 0, 72, 8, 8, 56, 0, 136, 144, 0, 8, 120, 40),
}
