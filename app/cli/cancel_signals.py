"""Signals that stop an attach exactly like Ctrl-C: the engine withdraws the armed request and undoes its
writes, then the command exits with the cancelled code. Without this, SIGTERM, SIGHUP or SIGQUIT would end
the process with the request still armed, and the script would run later with no client."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from core.requests import CancelToken

CANCEL_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


@contextmanager
def cancel_on_signals(cancel: CancelToken) -> Iterator[None]:
    """While the block runs, each of CANCEL_SIGNALS cancels `cancel` (naming the signal) instead of ending
    the process; the previous handlers are restored afterwards. Only the main thread can install handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        cancel.cancel(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in CANCEL_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
