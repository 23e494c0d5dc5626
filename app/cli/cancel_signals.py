"""Signals that stop an attach exactly like Ctrl-C: the engine withdraws the armed request and undoes its
writes, then the command exits with the cancelled code. Without this, SIGTERM, SIGHUP or SIGQUIT would end
the process with the request still armed, and the script would run later with no client."""

from __future__ import annotations

from core.requests import CancelToken

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal  # typeshed types the wrapper only; the calls are the same
    from signal import _HANDLER
    from types import FrameType, TracebackType
else:  # what the signal module wraps (plain ints in and out); the wrapper builds three IntEnums on import,
    import _signal  # 0.6 ms of every exec's start-up, for the four names this module spells itself

SIGNAL_NAMES: dict[int, str] = {_signal.SIGINT: "SIGINT", _signal.SIGTERM: "SIGTERM",
                                _signal.SIGHUP: "SIGHUP", _signal.SIGQUIT: "SIGQUIT"}
CANCEL_SIGNALS = tuple(SIGNAL_NAMES)


class cancel_on_signals:  # lower case: used like the generator it replaced, `with cancel_on_signals(token):`
    """While the block runs, each of CANCEL_SIGNALS cancels `cancel` (naming the signal) instead of ending
    the process; the previous handlers are restored afterwards. Only the main thread can install handlers
    (elsewhere nothing is installed). A class rather than a contextlib generator: contextlib costs 0.6 ms of
    every exec's start-up."""

    def __init__(self, cancel: CancelToken) -> None:
        self.cancel = cancel
        self.previous: dict[int, _HANDLER] = {}

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.cancel.cancel(SIGNAL_NAMES.get(signum, str(signum)))

    def __enter__(self) -> None:
        try:
            for sig in CANCEL_SIGNALS:
                self.previous[sig] = _signal.signal(sig, self._handler)
        except ValueError:  # not the main thread (of the main interpreter): signals stay as they were
            self.__exit__(None, None, None)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for sig, old in self.previous.items():
            _signal.signal(sig, old)
        self.previous = {}
