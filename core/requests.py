"""What a caller asks the engine to do, and how it can cancel it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum


class Method(str, Enum):
    AUTO = "auto"  # safe attach; legacy injection only where policy allows it
    SAFE = "safe"  # PEP 768 only
    LEGACY = "legacy"  # gdb injection only


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
