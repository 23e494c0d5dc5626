"""Choosing the thread state that will run the request, as a chain of methods tried in order.

1. `main`: the interpreter's `threads.main` (what `sys.remote_exec` uses).
2. `enumerate`: walk `threads.head`/`next`; prefer a thread running bytecode (OS state R, a current frame).
3. `symbol`: the main thread state embedded in the exported `_PyRuntime` object (scan that object only).
4. `scan`: a bounded scan of writable anonymous memory for a structure that looks like a thread state of
   this interpreter.

Every candidate is checked the same way (pointer plausibility, back-pointer to the interpreter, a live
native thread of the process) and re-validated with a second read before it is returned.
"""

from __future__ import annotations

import os
import struct
import time

from core.errors import FailureKind, SafeAttachError
from core.memory import ProcessMemory
from core.model import InterpreterInfo
from core.offsets import DebugOffsets
from core.procfs import MapEntry, thread_os_state
from core.records import dataclass

METHODS: tuple[str, ...] = ("main", "enumerate", "symbol", "scan")
SCAN_LIMIT_BYTES = 64 * 1024 * 1024
SCAN_TIME_LIMIT = 3.0
SCAN_CHUNK = 4 * 1024 * 1024


# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:  # what the thread strategies read; only the type checker needs the Protocol
    from collections.abc import Callable, Sequence
    from typing import Protocol

    class TargetLike(Protocol):
        pid: int
        mem: ProcessMemory
        offsets: DebugOffsets | None
        maps: list[MapEntry]

        @property
        def runtime_address(self) -> int: ...

        def plausible(self, address: int, size: int = 8) -> bool: ...

        def thread_addresses(self, interp: int) -> list[int]: ...

        def current_function(self, tstate: int) -> str | None: ...


@dataclass(frozen=True)
class ThreadChoice:
    tstate: int
    native_thread_id: int
    method: str
    os_state: str
    os_state_detail: str
    has_frame: bool
    current_function: str | None = None

    def describe(self) -> str:
        where = f" in {self.current_function}()" if self.current_function else ""
        detail = f" ({self.os_state_detail})" if self.os_state_detail else ""
        return f"thread {self.native_thread_id} state {self.os_state}{detail}{where}, tstate 0x{self.tstate:x}"


def _offsets(target: TargetLike) -> DebugOffsets:
    if target.offsets is None:
        raise SafeAttachError(FailureKind.NOT_CAPABLE, "no _Py_DebugOffsets table in this target")
    return target.offsets


def validate(target: TargetLike, interp: int, tstate: int, method: str) -> ThreadChoice | None:
    """The candidate as a ThreadChoice, or None if it does not look like a live thread state of interp."""
    off = _offsets(target)
    try:
        if not tstate or tstate % 8 or not target.plausible(tstate, 8):
            return None
        if not target.plausible(tstate + off["thread_state.size"] - 8, 8):
            return None
        if target.mem.read_u64(tstate + off["thread_state.interp"]) != interp:
            return None
        native = target.mem.read_u64(tstate + off.tstate_native_thread_id)
        if native <= 0 or native > 1 << 31 or not os.path.exists(f"/proc/{target.pid}/task/{native}"):
            return None
        nxt = target.mem.read_u64(tstate + off.tstate_next)
        if nxt and not target.plausible(nxt, 8):
            return None
        frame = target.mem.read_u64(tstate + off.tstate_current_frame)
    except SafeAttachError:
        return None
    state, detail = thread_os_state(target.pid, native)
    if state in ("?", "Z", "X"):
        return None
    func = None
    if frame:
        try:
            func = target.current_function(tstate)
        except SafeAttachError:
            func = None
    return ThreadChoice(tstate, native, method, state, detail, bool(frame), func)


def _revalidate(target: TargetLike, interp: int, choice: ThreadChoice) -> bool:
    again = validate(target, interp, choice.tstate, choice.method)
    return again is not None and again.native_thread_id == choice.native_thread_id


def _by_main(target: TargetLike, interp: InterpreterInfo) -> list[ThreadChoice]:
    if not interp.threads_main:
        return []
    c = validate(target, interp.address, interp.threads_main, "main")
    if c is None:
        return []
    if not c.has_frame:
        raise SafeAttachError(FailureKind.THREAD_STATE, "the main thread runs no Python code")
    if c.current_function == "_shutdown":
        # live 3.14: after __main__ finished, threads.main stays set while the main thread waits in
        # threading._shutdown() for the other threads; it never returns to bytecode
        raise SafeAttachError(FailureKind.THREAD_STATE, "the main module has finished (main thread in _shutdown())")
    return [c]


def _rank(c: ThreadChoice) -> tuple[int, int]:
    """Running bytecode first, then any thread with a frame; a main thread parked in _shutdown() last."""
    if c.current_function == "_shutdown":
        return (3, c.native_thread_id)
    return (0 if c.os_state == "R" and c.has_frame else 1 if c.has_frame else 2, c.native_thread_id)


def _by_enumerate(target: TargetLike, interp: InterpreterInfo) -> list[ThreadChoice]:
    found = [validate(target, interp.address, t, "enumerate") for t in target.thread_addresses(interp.address)]
    return sorted((c for c in found if c), key=_rank)


def _candidates_in(data: bytes, base: int, interp: int, interp_off: int) -> list[int]:
    needle = struct.pack("<Q", interp)
    out: list[int] = []
    i = data.find(needle)
    while i >= 0:
        start = base + i - interp_off
        if (base + i) % 8 == 0 and start > 0:
            out.append(start)
        i = data.find(needle, i + 1)
    return out


def _by_symbol(target: TargetLike, interp: InterpreterInfo) -> list[ThreadChoice]:
    off = _offsets(target)
    size = off["runtime_state.size"]
    data = target.mem.read(target.runtime_address, size)
    cands = _candidates_in(data, target.runtime_address, interp.address, off["thread_state.interp"])
    found = [validate(target, interp.address, c, "symbol") for c in cands]
    return sorted((c for c in found if c), key=_rank)


def _by_scan(target: TargetLike, interp: InterpreterInfo) -> list[ThreadChoice]:
    off = _offsets(target)
    interp_off = off["thread_state.interp"]
    budget, deadline = SCAN_LIMIT_BYTES, time.monotonic() + SCAN_TIME_LIMIT
    found: list[ThreadChoice] = []
    # heap first (thread states are malloc'd), then anonymous memory, then writable file data (.PyRuntime)
    regions = [m for m in target.maps if m.readable and m.writable and not m.path.startswith("[v")]
    regions.sort(key=lambda m: (m.path != "[heap]", m.is_file, m.start))
    for region in regions:
        addr = region.start
        while addr < region.end and budget > 0 and time.monotonic() < deadline:
            n = min(SCAN_CHUNK, region.end - addr, budget)
            try:
                data = target.mem.read(addr, n)
            except SafeAttachError:
                break
            budget -= n
            for cand in _candidates_in(data, addr, interp.address, interp_off):
                c = validate(target, interp.address, cand, "scan")
                if c is not None:
                    found.append(c)
            addr += n
    return sorted(found, key=_rank)


_STRATEGIES: dict[str, Callable[[TargetLike, InterpreterInfo], list[ThreadChoice]]] = {
    "main": _by_main,
    "enumerate": _by_enumerate,
    "symbol": _by_symbol,
    "scan": _by_scan,
}

_LABELS = {
    "main": "main thread (threads.main)",
    "enumerate": "enumerate thread states",
    "symbol": "thread state embedded in _PyRuntime",
    "scan": "bounded heuristic memory scan",
}


def select_thread(
    target: TargetLike,
    interp: InterpreterInfo,
    report: Callable[[str], None],
    methods: Sequence[str] = METHODS,
) -> ThreadChoice:
    """The first valid thread state found by the methods in order; each attempt is reported as a line."""
    tried: list[str] = []
    for method in methods:
        try:
            found = _STRATEGIES[method](target, interp)
        except SafeAttachError as exc:
            report(f"{_LABELS[method]}: failed ({exc.message})")
            tried.append(f"{method}: {exc.message}")
            continue
        for choice in found:
            if _revalidate(target, interp.address, choice):
                report(f"{_LABELS[method]}: chose {choice.describe()}")
                return choice
        why = "threads.main is NULL" if method == "main" and not interp.threads_main else "no live thread state"
        report(f"{_LABELS[method]}: {why}")
        tried.append(f"{method}: {why}")
    raise SafeAttachError(
        FailureKind.THREAD_STATE,
        f"no usable thread state in interpreter {interp.id} ({'; '.join(tried)})",
        detail={"tried": tried},
    )
