"""`safeattach stack PID`: every thread's Python stack, read-only, as text for 80 columns or as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from app.render import yes_no
from core.errors import SafeAttachError
from core.text import visible
from core.walk import FrameRecord, ProcessStacks, ThreadStack, snapshot

WIDTH = 80
FRAME_INDENT = "    "


def _clip_left(text: str, width: int) -> str:
    """Keep the end of a long path (the file name), marking the cut."""
    return text if len(text) <= width else "…" + text[-(width - 1):]


def _frame_lines(function: str, where: str) -> list[str]:
    one = f"{FRAME_INDENT}{function} ({where})"
    if len(one) <= WIDTH:
        return [one]
    # two lines: the function, then where it is, each cut to fit
    head = f"{FRAME_INDENT}{function}"
    head = head if len(head) <= WIDTH else head[: WIDTH - 1] + "…"
    return [head, FRAME_INDENT + "  " + _clip_left(where, WIDTH - len(FRAME_INDENT) - 2)]


def _thread_header(t: ThreadStack) -> str:
    parts = [f"Thread {t.native_thread_id or '?'}"]
    if t.name:
        parts.append(f'"{visible(t.name)}"')
    if t.is_main:
        parts.append("main")
    parts.append(f"interp {t.interpreter_id}")
    if t.holds_gil is not None:
        parts.append(f"GIL {yes_no(t.holds_gil)}")
    parts.append(f"{t.os_state} {visible(t.syscall)}".strip())
    line = "  ".join(parts)
    return line if len(line) <= WIDTH else line[: WIDTH - 1] + "…"


def _runs(frames: Sequence[FrameRecord]) -> list[tuple[FrameRecord, int]]:
    """Consecutive equal frames (a recursion) folded into one with a count."""
    out: list[tuple[FrameRecord, int]] = []
    for f in frames:
        if out and out[-1][0] == f:
            out[-1] = (f, out[-1][1] + 1)
        else:
            out.append((f, 1))
    return out


def render_stacks(stacks: ProcessStacks) -> list[str]:
    lines = [f"PID {stacks.pid}  CPython {stacks.version}  {len(stacks.threads)} thread(s)  "
             f"read in {stacks.elapsed_ms:.1f} ms" + ("  PARTIAL" if stacks.partial else "")]
    for problem in stacks.problems:
        lines.append(_clip_left(f"! {visible(problem)}", WIDTH))
    for t in stacks.threads:
        lines.append("")
        lines.append(_thread_header(t))
        if not t.frames and not t.partial:
            lines.append(f"{FRAME_INDENT}(no Python frames)")
        for f, repeats in _runs(t.frames):
            line = "?" if f.line is None else str(f.line)
            lines.extend(_frame_lines(visible(f.qualname or f.function), f"{visible(f.filename)}:{line}"))
            if repeats > 1:
                lines.append(f"{FRAME_INDENT}  (the frame above {repeats - 1} more time(s))")
            for var in f.locals or ():
                text = f"{FRAME_INDENT}    {visible(var.name)} = {visible(var.value)}"
                lines.append(text if len(text) <= WIDTH else text[: WIDTH - 1] + "…")
        if t.partial:
            lines.append(f"{FRAME_INDENT}! partial: {visible(t.partial)}"[:WIDTH])
    return lines


def cmd_stack(pid: int, json_out: bool, with_locals: bool = False) -> int:
    from app.cli import print_error

    try:
        stacks = snapshot(pid, with_locals=with_locals)
    except SafeAttachError as exc:
        return print_error(exc, json_out)
    if json_out:
        print(json.dumps(stacks.to_dict(), indent=2))
    else:
        print("\n".join(render_stacks(stacks)))
    return 0
