"""Hand-checked x86_64 layouts for targets without _Py_DebugOffsets (3.9, 3.11, 3.12).

3.9 and 3.11 were verified live (Debian bullseye 3.9.2; Debian bookworm and pyenv 3.11 builds, see
tests/test_read_live.py); 3.12 comes from CPython's headers (shared/design/pep768-spec.md §8) and no 3.12
build was available to verify it. 3.10 is not listed: nothing to verify it against, so no thread walk.
"""

from __future__ import annotations

from core.records import dataclass


@dataclass(frozen=True)
class LegacyLayout:
    interpreters_head: int  # _PyRuntimeState.interpreters.head
    interpreters_main: int
    interp_next: int
    interp_threads_head: int
    interp_id: int
    tstate_next: int
    tstate_frame: int  # where the frame chain starts: a _PyCFrame* (3.11, 3.12) or a PyFrameObject* (3.9)
    cframe_current_frame: int | None  # None: tstate_frame points at the frame itself
    tstate_thread_id: int
    tstate_native_thread_id: int | None  # None (before 3.11): read the TID from glibc's struct pthread
    frame_code: int
    frame_previous: int
    code_name: int
    ascii_data: int  # where a compact ASCII string's characters start


# glibc's struct pthread keeps the kernel TID at this offset on x86_64 (stable across glibc 2.2x-2.4x);
# `threading.get_ident()` is the struct's address. Verified live against /proc/PID/task.
PTHREAD_TID_OFFSET = 0x2D0

LEGACY_LAYOUTS: dict[tuple[int, int], LegacyLayout] = {
    (3, 9): LegacyLayout(32, 40, 0, 8, 24, 8, 24, None, 176, None, 32, 24, 112, 48),
    (3, 11): LegacyLayout(40, 48, 0, 16, 48, 8, 56, 8, 152, 160, 32, 48, 120, 48),
    (3, 12): LegacyLayout(40, 48, 0, 72, 8, 8, 56, 0, 136, 144, 0, 8, 120, 40),
}
