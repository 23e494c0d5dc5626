"""What a caller asks the engine to do, and how it can cancel it."""

from __future__ import annotations

import _thread  # a lock for CancelToken: threading's import is 0.9 ms of every exec's start-up

from core.enums import Enum
from core.limits import MAX_IDLE_TIMEOUT
from core.limits import MAX_TIMEOUT as MAX_TIMEOUT  # re-exported: callers know it from here
from core.records import dataclass


class InvalidRequest(ValueError):
    """A request the engine refuses before doing anything (the CLI maps it to a usage error, exit 2)."""


def check_timeout(value: object, what: str = "timeout", maximum: float = MAX_TIMEOUT) -> float:
    """`value` as a finite number of seconds in (0, maximum]; InvalidRequest otherwise (inf, nan, 0,
    negatives, non-numbers: any of them would make a wait unbounded or meaningless)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequest(f"{what} must be a number of seconds, got {value!r}")
    try:
        seconds = float(value)
    except OverflowError:  # an int beyond any float
        seconds = float("inf")
    if not 0 < seconds <= maximum:  # nan and infinities fail the comparison too
        raise InvalidRequest(f"{what} must be a finite number of seconds greater than 0 and at most "
                             f"{maximum:g}, got {value!r}")
    return seconds


def parse_timeout(text: str, what: str = "--timeout", maximum: float = MAX_TIMEOUT) -> float:
    """A command-line timeout: like check_timeout, for text (`what` names the option in the message)."""
    try:
        value = float(text.strip())
    except ValueError:
        raise InvalidRequest(f"{what} must be a number of seconds, got {text!r}") from None
    try:
        return check_timeout(value, what, maximum)
    except InvalidRequest:
        raise InvalidRequest(f"{what} must be a finite number of seconds greater than 0 and at most "
                             f"{maximum:g}, got {text!r}") from None


class Method(str, Enum):
    AUTO = "auto"  # safe attach; legacy injection only where policy allows it
    SAFE = "safe"  # PEP 768 only
    LEGACY = "legacy"  # injection only (ptrace by default, see Injector)


class Injector(str, Enum):
    PTRACE = "ptrace"  # built in: ptrace and a self-restoring stub, no gdb
    GDB = "gdb"  # gdb's inferior calls, only after a health probe of that gdb passed


class Payload(str, Enum):
    EXEC = "exec"  # run a script file
    DEBUGPY = "debugpy"  # start (or reuse) a debugpy DAP server


@dataclass(frozen=True)
class AttachRequest:
    pid: int
    payload: Payload = Payload.EXEC
    script: str | None = None  # for Payload.EXEC: path of the script, as the caller sees it
    method: Method = Method.AUTO
    timeout: float = 10.0  # seconds for the target to pick the request up and report back
    listen_host: str = "127.0.0.1"  # for Payload.DEBUGPY
    listen_port: int = 0  # 0: let the engine choose
    wait_for_client: bool = False
    idle_timeout: float = 600.0  # for Payload.DEBUGPY: the server stops this long after its last client left
    allow_opted_out_legacy: bool = False  # explicit override: inject into a target that opted out
    injector: Injector = Injector.PTRACE  # how the legacy method gets code to run

    def __post_init__(self) -> None:
        check_timeout(self.timeout)
        check_timeout(self.idle_timeout, "idle_timeout", MAX_IDLE_TIMEOUT)  # rendered into the loader: finite


class CancelToken:
    """A thread-safe cancellation flag the engine polls between (and during) steps.

    threading.Event's behaviour on one lock: held from the start, released once by `cancel`. A wait is an
    acquire with a timeout that gives the lock straight back, so every waiter (and every later wait) sees
    it free once cancelled."""

    def __init__(self) -> None:
        self._held = _thread.allocate_lock()
        self._held.acquire()
        self._set = False
        self.reason = ""  # who cancelled, e.g. "SIGTERM"; the first reason wins

    def cancel(self, reason: str = "") -> None:
        """Safe to call from a signal handler, also while the same thread waits: it takes no lock, it
        releases the one the waits block on (once)."""
        if self._set:
            return
        self.reason = reason  # before the flag: whoever sees it cancelled sees why
        self._set = True
        try:
            self._held.release()
        except RuntimeError:  # released meanwhile by a concurrent cancel
            pass

    @property
    def cancelled(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True if cancelled meanwhile."""
        if self._set:
            return True
        if self._held.acquire(True, max(0.0, timeout)):
            try:
                self._held.release()
            except RuntimeError:  # a second, concurrent cancel released it under us: it stays released
                pass
            return True
        return self._set
