"""Console startup-to-first-paint, and the cost of one process-list refresh with 200 Python processes.

Usage: .venv/bin/python bench/tui_startup.py [--runs N] [--procs N] [--fake]

Spawns N (default 200, issue 13's goals: first paint <= 300 ms, a refresh within one 250 ms tick) small
`python3 -c` sleepers (each prints "ready": explicit handshake), measures with the live
engine (core.engine.LiveEngine) when it exists, else with a fake source returning 100 rows, then kills and
reaps every sleeper. Prints median and p95 in milliseconds (the fake source has 100 rows).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import selectors
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.tui.app import SafeAttachApp
from app.tui.screens.processes import ProcessesLoaded, ProcessesScreen
from core.model import ProcessSummary
from core.source import EngineSource
from tests.tui.fake_engine import FakeEngine, fake_processes

SLEEPER = "import time; print('ready', flush=True); time.sleep(600)"
N_PROCS = 100
MODES = ("unchanged", "changed-cell", "new-process")


@contextmanager
def sleepers(n: int, timeout: float = 60.0) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen(["python3", "-c", SLEEPER], stdout=subprocess.PIPE,
                                          stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            for p in procs:
                assert p.stdout is not None
                sel.register(p.stdout, selectors.EVENT_READ, p)
            waiting = len(procs)
            while waiting:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{waiting} sleepers sent no handshake in {timeout}s")
                for key, _ in sel.select(left):
                    if not os.read(key.fileobj.fileno(), 64):  # type: ignore[union-attr]
                        raise RuntimeError("a sleeper exited before its handshake")
                    sel.unregister(key.fileobj)
                    waiting -= 1
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
        for p in procs:
            p.wait(timeout=10)
            if p.stdout is not None:
                p.stdout.close()


class HundredRows(FakeEngine):
    """Fake source: 100 rows (the fixed rows, repeated under fresh PIDs)."""

    def __init__(self) -> None:
        base = fake_processes()
        super().__init__([replace(base[i % len(base)], pid=10000 + i) for i in range(N_PROCS)])


def source() -> tuple[EngineSource, str]:
    try:
        from core.engine import LiveEngine
    except ImportError:
        return HundredRows(), "fake source (core.engine.LiveEngine not available)"
    return LiveEngine(), "live engine (core.engine.LiveEngine)"


def stats(name: str, samples: Sequence[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"{name:<44} median {statistics.median(ordered):8.1f} ms   p95 {p95:8.1f} ms   (n={len(ordered)})")


async def first_paint(src: EngineSource) -> tuple[float, int]:
    """ms from constructing the app until the process table has been filled and painted."""
    t0 = time.perf_counter()
    app = SafeAttachApp(src, refresh_interval=0, spinners=False)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        for _ in range(10_000):
            if isinstance(screen, ProcessesScreen) and screen.loaded:
                break
            await pilot.pause()
            screen = app.screen
        await pilot.pause()  # one more pass: the filled table has been rendered
        elapsed = (time.perf_counter() - t0) * 1000
        rows = len(screen.rows) if isinstance(screen, ProcessesScreen) else 0
    return elapsed, rows


async def ui_refresh(rows: Sequence[ProcessSummary], runs: int, mode: str) -> list[tuple[float, float]]:
    """ms for the UI thread to apply one refreshed list: unchanged, one cell changed (updated in place),
    or a new process (the table is rebuilt, the cursor kept by PID)."""
    app = SafeAttachApp(HundredRows(), refresh_interval=0, spinners=False)
    samples = []
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProcessesScreen)
        for i in range(runs):
            changed = list(rows)
            if mode == "changed-cell":
                changed[0] = replace(changed[0], user=f"u{i}")
            elif mode == "new-process":
                changed.insert(0, replace(changed[0], pid=1 + i))
            t0 = time.perf_counter()
            screen._loaded(ProcessesLoaded(changed))
            t1 = time.perf_counter()
            await pilot.pause()  # + layout and paint
            samples.append(((t1 - t0) * 1000, (time.perf_counter() - t0) * 1000))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--procs", type=int, default=200, help="sleepers to spawn for the live engine")
    parser.add_argument("--fake", action="store_true", help="use the fake 100-row source, spawn nothing")
    args = parser.parse_args()
    src, label = (HundredRows(), "fake source (--fake)") if args.fake else source()
    print(f"source: {label}; python {sys.version.split()[0]}; {os.cpu_count()} cpus")
    with sleepers(0 if isinstance(src, FakeEngine) else args.procs):
        listing = src.list_processes()
        print(f"python processes listed: {len(listing)}")
        list_ms = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            src.list_processes()
            list_ms.append((time.perf_counter() - t0) * 1000)
        paint = [asyncio.run(first_paint(src)) for _ in range(args.runs)]
        ui_ms = {m: asyncio.run(ui_refresh(list(listing), args.runs, m)) for m in MODES}
    print(f"first run (cold imports, first paint): {paint[0][0]:.1f} ms, {paint[0][1]} rows")
    stats("startup to first paint (warm)", [p[0] for p in paint[1:]] or [paint[0][0]])
    stats("refresh: source.list_processes() (worker)", list_ms)
    for mode, samples in ui_ms.items():
        stats(f"refresh UI, {mode}: update table", [a for a, _ in samples])
        stats(f"refresh UI, {mode}: update + paint", [b for _, b in samples])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
