"""`safeattach doctor PID`: what would stop `exec`/`attach`, and how to fix it (least privilege first)."""

from __future__ import annotations

import json
import textwrap

from core.doctor import Diagnosis, Status, diagnose
from core.errors import SafeAttachError
from core.text import visible

WIDTH = 80
MARKS = {Status.OK: "ok  ", Status.INFO: "info", Status.WARN: "warn", Status.FAIL: "FAIL"}


def render_diagnosis(d: Diagnosis) -> list[str]:
    lines = [f"PID {d.pid}  CPython {d.version or '?'}  attach path: {d.path}"]
    for f in d.findings:
        kind = f"  [{f.kind.value}]" if f.kind is not None and f.status in (Status.WARN, Status.FAIL) else ""
        lines += textwrap.wrap(f"{MARKS[f.status]}  {f.check}: {visible(f.message)}{kind}", WIDTH,
                               subsequent_indent=" " * 6)
        for i, fix in enumerate(f.fixes if f.status in (Status.WARN, Status.FAIL) else ()):
            lines += textwrap.wrap(f"fix {i + 1}: {visible(fix)}", WIDTH, initial_indent=" " * 6,
                                   subsequent_indent=" " * 13)
    first = d.blocking
    lines.append("")
    lines.append("verdict: an attach should work" if first is None else
                 f"verdict: an attach would fail at {first.check} (exit {d.exit_code})")
    return lines


def cmd_doctor(pid: int, json_out: bool, injector: str, script: str | None = None) -> int:
    from app.cli import print_error

    try:
        diagnosis = diagnose(pid, injector=injector, script=script)
    except SafeAttachError as exc:
        return print_error(exc, json_out)
    if json_out:
        print(json.dumps(diagnosis.to_dict(), indent=2))
    else:
        print("\n".join(render_diagnosis(diagnosis)))
    return diagnosis.exit_code
