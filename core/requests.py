"""What a caller asks the engine to do, and how it can cancel it."""

from __future__ import annotations

import math
import threading
from enum import Enum

from core.limits import MAX_TIMEOUT as MAX_TIMEOUT  # re-exported: callers know it from here
from core.records import dataclass


class InvalidRequest(ValueError):
    """A request the engine refuses before doing anything (the CLI maps it to a usage error, exit 2)."""


def check_timeout(value: object, what: str = "timeout") -> float:
    """`value` as a finite number of seconds in (0, MAX_TIMEOUT]; InvalidRequest otherwise (inf, nan, 0,
    negatives, non-numbers: any of them would make a wait unbounded or meaningless)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequest(f"{what} must be a number of seconds, got {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_TIMEOUT:
        raise InvalidRequest(f"{what} must be a finite number of seconds greater than 0 and at most "
                             f"{MAX_TIMEOUT:g}, got {value!r}")
    return seconds


def parse_timeout(text: str, what: str = "--timeout") -> float:
    """A command-line timeout: like check_timeout, for text."""
    try:
        value = float(text.strip())
    except ValueError:
        raise InvalidRequest(f"{what} must be a number of seconds, got {text!r}") from None
    try:
        return check_timeout(value, what)
    except InvalidRequest:
        raise InvalidRequest(f"{what} must be a finite number of seconds greater than 0 and at most "
                             f"{MAX_TIMEOUT:g}, got {text!r}") from None


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


class CancelToken:
    """A thread-safe cancellation flag the engine polls between (and during) steps."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""  # who cancelled, e.g. "SIGTERM"; the first reason wins

    def cancel(self, reason: str = "") -> None:
        """Safe to call from a signal handler: it only sets a flag the engine's waits watch."""
        if not self._event.is_set():
            self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True if cancelled meanwhile."""
        return self._event.wait(timeout)
