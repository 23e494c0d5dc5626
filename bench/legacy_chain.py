"""Per-step timings of the attach chain's legacy (ptrace) path, through `run_attach`, on live targets.

Run from the repo root: .venv/bin/python bench/legacy_chain.py [--samples N] [--interp 3.11 3.13 ...]

Rows per interpreter (median and max over N attaches to one long-lived sleepy.py target, in ms):
every chain step, the injector's phases inside legacyInject (thread stopped, total) and the total.
A last row set times the fallback on a 3.14 target whose only thread is blocked (awaitRun times out first,
so the total includes the --timeout given here).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "support"))
sys.path.insert(0, str(REPO))

from live_targets import INTERPRETERS, TargetPool  # noqa: E402

from core.attach import run_attach  # noqa: E402
from core.events import Outcome, StepFinished, StepStatus  # noqa: E402
from core.requests import AttachRequest, CancelToken  # noqa: E402


def one(pid: int, script: str, timeout: float) -> dict[str, float]:
    row: dict[str, float] = {}
    for event in run_attach(AttachRequest(pid, script=script, timeout=timeout), CancelToken()):
        if isinstance(event, StepFinished) and event.status is not StepStatus.SKIPPED:
            row[event.step] = event.elapsed_ms
            for phase, ms in dict(event.detail.get("phases_ms") or {}).items():
                row[f"  inject {phase}"] = float(ms)
        elif isinstance(event, Outcome):
            if not event.ok:
                raise SystemExit(f"attach failed: {event.kind} {event.message}")
            row["total"] = event.elapsed_ms
    return row


def report(title: str, rows: list[dict[str, float]]) -> None:
    print(f"\n{title} ({len(rows)} samples)")
    for key in rows[0]:
        values = [r[key] for r in rows if key in r]
        print(f"  {key:<22} median {statistics.median(values):8.1f}   max {max(values):8.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--interp", nargs="*", default=["3.11", "3.13"])
    ap.add_argument("--fallback-timeout", type=float, default=1.0)
    args = ap.parse_args()
    script = Path(tempfile.mkdtemp()) / "noop.py"
    script.write_text("x = 1\n")
    script.chmod(0o644)
    script.parent.chmod(0o755)
    pool = TargetPool()
    try:
        for name in args.interp:
            interp = INTERPRETERS[name]
            if not interp.available():
                print(f"\n{name}: not provisioned")
                continue
            target = pool.spawn_script(interp, "sleepy.py")
            report(f"legacy chain, CPython {name} (sleepy.py)",
                   [one(target.pid, str(script), 10.0) for _ in range(args.samples)])
        if INTERPRETERS["3.14"].available():
            rows = []
            for _ in range(max(1, args.samples // 2)):
                target = pool.spawn_script(INTERPRETERS["3.14"], "blocked.py")
                rows.append(one(target.pid, str(script), args.fallback_timeout))
            report(f"fallback, CPython 3.14 (blocked.py, --timeout {args.fallback_timeout:g})", rows)
    finally:
        pool.close()


if __name__ == "__main__":
    main()
