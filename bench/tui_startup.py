"""Console startup-to-first-paint, and the cost of one process-list refresh with 200 Python processes.

Usage: .venv/bin/python bench/tui_startup.py [--runs N] [--procs N] [--fake]

Spawns N (default 200, issue 13's goals: first paint <= 300 ms, a refresh within one 250 ms tick) small
`python3 -c` sleepers (each prints "ready": explicit handshake), measures with the live
engine (core.engine.LiveEngine) when it exists, else with a fake source returning 100 rows, then kills and
reaps every sleeper. Prints median and p95 in milliseconds (the fake source has 100 rows).

First paint: the first frame the app hands the terminal that shows the process rows (App._display is wrapped,
the one place every frame passes; the headless driver writes nothing, so the frame's terminal bytes are built
there as a terminal driver would). Measured in a fresh process from the start of the `tui` command's sequence
(first listing started, textual and the screens imported, app made and run), and in a warm process (imports
done) from making the app; each with the first listing started before (as the `tui` command does) and with only
the Processes screen's worker listing once it has mounted (the console before issue 13's first-paint work). A
tree without app/tui/first_listing.py (an older revision: copy this file and bench/first_paint.py into it)
gets the second kind only.
The modes are interleaved, run by run. Also prints the listings each first paint needed (1) and the frames
painted before the one with the rows, and the anchor: a bare Textual app with the console's chrome (a header,
one Static, a footer) started the same way, interleaved with the rest: Textual's own floor on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import importlib.util
import json
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
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if TYPE_CHECKING:
    from core.model import ProcessSummary
    from core.source import EngineSource

ROOT = Path(__file__).resolve().parents[1]
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


def hundred_rows() -> EngineSource:
    """Fake source: 100 rows (the fixed rows, repeated under fresh PIDs)."""
    from tests.tui.fake_engine import FakeEngine, fake_processes

    base = fake_processes()
    return FakeEngine([replace(base[i % len(base)], pid=10000 + i) for i in range(N_PROCS)])


def source() -> tuple[EngineSource, str, bool]:
    try:
        from core.engine import LiveEngine
    except ImportError:
        return hundred_rows(), "fake source (core.engine.LiveEngine not available)", True
    return LiveEngine(), "live engine (core.engine.LiveEngine)", False


def stats(name: str, samples: Sequence[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"{name:<44} median {statistics.median(ordered):8.1f} ms   p95 {p95:8.1f} ms   (n={len(ordered)})")


FRESH = """
import time
t0 = time.perf_counter()  # the `tui` command's sequence (app/cli/main.py's _tui) starts here
import sys
sys.path.insert(0, {root!r})
try:  # main() raises the collector's threshold before it runs a command; _tui puts it back before the console
    from app.cli.startup_gc import raise_for_startup, restore
except ImportError:  # a tree before app/cli/startup_gc.py
    raise_for_startup = restore = lambda: None
raise_for_startup()
if {prefetch}:
    from app.tui.first_listing import FirstListing
from core.engine import LiveEngine
engine = LiveEngine()
first = FirstListing.start(engine) if {prefetch} else None
import asyncio, gc, json
from bench.first_paint import first_paint
from app.tui.app import SafeAttachApp
from core.dap.session import stop_bridges
if {freeze}:
    gc.freeze()
restore()
print(json.dumps(asyncio.run(first_paint(engine, prefetch={prefetch}, t0=t0, first=first))))
"""


FRESH_BARE = """
import time
t0 = time.perf_counter()
import sys
sys.path.insert(0, {root!r})
import asyncio, json
from bench.first_paint import bare_first_paint
print(json.dumps(asyncio.run(bare_first_paint(t0))))
"""


def run_fresh(code: str) -> dict[str, float]:
    """A measurement in a new interpreter: the JSON line it prints last."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def fresh_bare_first_paint() -> dict[str, float]:
    """The anchor, in a new interpreter: Textual's own import, mount and paint of its chrome."""
    return run_fresh(FRESH_BARE.format(root=str(ROOT)))


def fresh_first_paint(prefetch: bool, freeze: bool) -> dict[str, float]:
    """first_paint in a new interpreter: the imports of textual and the screens are part of it."""
    return run_fresh(FRESH.format(root=str(ROOT), prefetch=prefetch, freeze=freeze))


async def ui_refresh(rows: Sequence[ProcessSummary], runs: int, mode: str) -> list[tuple[float, float]]:
    """ms for the UI thread to apply one refreshed list: unchanged, one cell changed (updated in place),
    or a new process (the table is rebuilt, the cursor kept by PID)."""
    from app.tui.app import SafeAttachApp
    from app.tui.screens.processes import ProcessesLoaded, ProcessesScreen

    app = SafeAttachApp(hundred_rows(), refresh_interval=0, spinners=False)
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
    parser.add_argument("--no-compile", action="store_true",
                        help="do not compile app/ and core/ first: with PYTHONDONTWRITEBYTECODE=1 set, every fresh "
                             "process then compiles them from source")
    args = parser.parse_args()
    if not args.no_compile:  # as `pip install` leaves them; textual's own bytecode was compiled at its install
        for package in ("app", "core"):
            compileall.compile_dir(ROOT / package, quiet=1)
    src, label, fake = (hundred_rows(), "fake source (--fake)", True) if args.fake else source()
    print(f"source: {label}; python {sys.version.split()[0]}; {os.cpu_count()} cpus; app/ and core/ bytecode: "
          f"{'as found' if args.no_compile else 'compiled first'}")
    with sleepers(0 if fake else args.procs):
        listing = src.list_processes()
        print(f"python processes listed: {len(listing)}")
        list_ms = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            src.list_processes()
            list_ms.append((time.perf_counter() - t0) * 1000)
        from bench.first_paint import first_paint

        asyncio.run(first_paint(src, prefetch=False))  # warms the imports and the caches
        fresh, fresh_after, warm_with, warm_after, bare = [], [], [], [], []
        early = importlib.util.find_spec("app.tui.first_listing") is not None  # else: the console before it
        for _ in range(args.runs):  # interleaved: a busy machine's load drifts between runs
            if not fake:
                bare.append(fresh_bare_first_paint()["ms"])
                if early:
                    fresh.append(fresh_first_paint(True, freeze=True))
                fresh_after.append(fresh_first_paint(False, freeze=early))
            if early:
                warm_with.append(asyncio.run(first_paint(src, prefetch=True)))
            warm_after.append(asyncio.run(first_paint(src, prefetch=False)))
        # the refresh pairs change the first row: with no Python process listed there is none to change
        ui_ms = {m: asyncio.run(ui_refresh(list(listing), args.runs, m)) for m in MODES} if listing else {}
    for name, paints in (("first paint, fresh process (tui command)", fresh),
                         ("first paint, fresh, listing after mount", fresh_after),
                         ("first paint, warm, listing with the app", warm_with),
                         ("first paint, warm, listing after mount", warm_after)):
        if paints:
            stats(name, [p["ms"] for p in paints])
            print(f"{'':<44} rows {paints[0]['rows']:.0f}, listings {max(p['listings'] for p in paints):.0f} "
                  f"(forked: {sum(p['forked'] for p in paints):.0f} of {len(paints)}), "
                  f"frames before the rows {max(p['frames_before'] for p in paints):.0f}")
    if bare:
        stats("anchor: bare Textual app, fresh", bare)
        print(f"{'':<44} a header, one Static and a footer: Textual's own import, mount and paint")
        if fresh:
            ratio = statistics.median([p["ms"] for p in fresh]) / statistics.median(bare)
            print(f"{'':<44} the tui command's first paint / the anchor's: {ratio:.2f}x (medians)")
    stats("refresh: source.list_processes() (worker)", list_ms)
    if not listing:
        print("refresh UI: skipped, no Python process listed (use --procs 1 or more, or --fake)")
    for mode, samples in ui_ms.items():
        stats(f"refresh UI, {mode}: update table", [a for a, _ in samples])
        stats(f"refresh UI, {mode}: update + paint", [b for _, b in samples])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
