"""CancelToken (a `_thread` lock, not threading.Event) and the CLI's event channel: the behaviour the engine
and the CLI rely on, including a cancel from a signal handler while the same thread waits."""

from __future__ import annotations

import os
import signal
import threading
import time

from app.cli.attach import _Channel
from app.cli.cancel_signals import cancel_on_signals
from core.requests import CancelToken


def test_wait_times_out_then_sees_a_cancel() -> None:
    token = CancelToken()
    start = time.monotonic()
    assert token.wait(0.05) is False and not token.cancelled
    assert time.monotonic() - start >= 0.04
    token.cancel("first")
    token.cancel("second")  # the first reason wins; a second cancel is harmless
    assert token.cancelled and token.reason == "first"
    assert token.wait(10) is True and token.wait(0) is True  # and stays set for every later wait


def test_a_cancel_from_another_thread_wakes_every_waiter() -> None:
    token = CancelToken()
    woke: list[bool] = []
    waiters = [threading.Thread(target=lambda: woke.append(token.wait(10))) for _ in range(4)]
    for w in waiters:
        w.start()
    time.sleep(0.05)
    start = time.monotonic()
    token.cancel("other thread")
    for w in waiters:
        w.join(5)
    assert woke == [True] * 4 and time.monotonic() - start < 2


def test_a_signal_handler_cancels_the_thread_it_interrupts() -> None:
    """The handler runs in the waiting thread itself. This cancel takes no lock, so there is no moment at
    which it could wait for one its own thread holds (threading.Event.set takes the Condition's lock)."""
    token = CancelToken()
    with cancel_on_signals(token):
        timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
        start = time.monotonic()
        assert token.wait(10) is True
        timer.join()
    assert time.monotonic() - start < 5 and token.reason == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the previous handler is back


def test_cancel_on_signals_outside_the_main_thread_installs_nothing() -> None:
    before = signal.getsignal(signal.SIGTERM)
    seen: list[object] = []

    def body() -> None:
        with cancel_on_signals(CancelToken()):
            seen.append(signal.getsignal(signal.SIGTERM))

    t = threading.Thread(target=body)
    t.start()
    t.join(5)
    assert seen == [before] and signal.getsignal(signal.SIGTERM) is before


def test_the_channel_keeps_order_and_times_out() -> None:
    ch = _Channel()
    assert ch.get(0.02) == (False, None)
    n = 5000

    def produce() -> None:
        for i in range(n):
            ch.put(i)  # type: ignore[arg-type]  # any object crosses; events in real use
        ch.put(None)

    t = threading.Thread(target=produce)
    t.start()
    got = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        arrived, item = ch.get(0.5)
        if not arrived:
            continue
        if item is None:
            break
        got.append(item)
    t.join(5)
    assert got == list(range(n))
    assert ch.get(0.01) == (False, None)  # nothing left; a spurious wake-up reports nothing
