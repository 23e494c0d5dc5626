"""The attempt log: one JSON line per attach attempt, for `safeattach log` and bug reports.

An attempt writes a `started` line when it begins and its final line (same `attempt_id`) when it ends. A
`started` line left alone means the client died mid-attempt (SIGKILL, a crash): once that client is gone,
the next read records the attempt as `abandoned` (an appended line) and shows it so.

Written to `$SAFEATTACH_STATE_DIR/attempts.jsonl` (tests), else `$XDG_STATE_HOME/safeattach/attempts.jsonl`,
else `~/.local/state/safeattach/attempts.jsonl`. Records hold only what the engine decided and measured:
never script contents, paths of user files, environment or secrets.

The log is capped: an append that would grow it past MAX_LOG_BYTES first renames it to `attempts.jsonl.1`
(replacing the previous one), so at most about twice the cap is kept; reading returns both, oldest first.
Rotation takes an flock on the file, so concurrent clients rotate it once.
"""

from __future__ import annotations

import _thread  # threading's Lock without threading's import (0.9 ms of every exec's start-up)
import fcntl
import os
import time

from core.json_writer import dumps  # every exec appends before arming; json's import is for the reader
from core.paths import xdg_location
from core.procfs import start_ticks_of
from core.records import dataclass, field

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from core.results import AttemptLine, StepRecord

_LOCK = _thread.allocate_lock()
MAX_LOG_BYTES = 4 << 20
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
# Only these keys are written; anything else a caller passes is dropped (no accidental secrets).
FIELDS = (
    "time", "pid", "target_version", "method", "payload", "thread_selection", "result", "failure_site",
    "failure_kind", "flags", "truncation", "reuse", "steps", "elapsed_ms", "attempt_id", "client",
)
STARTED, ABANDONED = "started", "abandoned"


def state_location() -> str:
    return xdg_location("SAFEATTACH_STATE_DIR", "XDG_STATE_HOME", ".local/state")


def state_dir() -> Path:
    from pathlib import Path

    return Path(state_location())


def log_path() -> Path:
    return state_dir() / "attempts.jsonl"


@dataclass
class AttemptRecord:
    """Filled in while an attempt runs; `to_dict` is the JSON line."""

    pid: int
    method: str
    payload: str
    time: float = field(default_factory=time.time)
    target_version: str | None = None  # hex, e.g. "0x30e0af0"
    thread_selection: str | None = None
    result: str = "failed"  # ok / failed / cancelled (started / abandoned: see the module docstring)
    failure_site: str | None = None
    failure_kind: str | None = None
    flags: list[str] = field(default_factory=list)
    truncation: bool = False
    reuse: bool = False
    steps: list[StepRecord] = field(default_factory=list)
    elapsed_ms: float = 0.0
    attempt_id: str = field(default_factory=lambda: os.urandom(8).hex())
    client: list[int] = field(default_factory=lambda: [os.getpid(), start_ticks_of(os.getpid()) or 0])

    def started(self) -> AttemptLine:
        """The line written when the attempt begins."""
        return {**self.to_dict(), "result": STARTED, "steps": []}

    def add_step(self, name: str, status: str, elapsed_ms: float) -> None:
        # str(): a Step is kept as its plain value
        self.steps.append({"name": str(name), "status": status, "elapsed_ms": round(elapsed_ms, 3)})

    def to_dict(self) -> AttemptLine:
        return {  # FIELDS, in its order
            "time": self.time, "pid": self.pid, "target_version": self.target_version, "method": self.method,
            "payload": self.payload, "thread_selection": self.thread_selection, "result": self.result,
            "failure_site": self.failure_site, "failure_kind": self.failure_kind, "flags": self.flags,
            "truncation": self.truncation, "reuse": self.reuse, "steps": self.steps, "elapsed_ms": self.elapsed_ms,
            "attempt_id": self.attempt_id, "client": self.client,
        }


class AttemptLog:
    """Appends records to a JSONL file (default: `log_path()`)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, max_bytes: int = MAX_LOG_BYTES) -> None:
        # a string, not a Path: every exec appends here, and pathlib costs more to import than the append
        self.path = os.fspath(path) if path is not None else os.path.join(state_location(), "attempts.jsonl")
        self.max_bytes = max_bytes

    def append(self, record: AttemptRecord | Mapping[str, object]) -> None:
        data: Mapping[str, object]
        if isinstance(record, AttemptRecord):
            data = record.to_dict()
        else:
            data = {k: record[k] for k in FIELDS if k in record}
        line = dumps(data, sort_keys=True, default=str) + "\n"
        data_bytes = line.encode("utf-8")
        with _LOCK:
            os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
            fd = os.open(self.path, _OPEN_FLAGS, 0o600)
            try:
                if os.fstat(fd).st_size + len(data_bytes) > self.max_bytes:
                    fd = self._rotate(fd)
                os.write(fd, data_bytes)  # one write with O_APPEND: lines never interleave
            finally:
                os.close(fd)

    @property
    def rotated_path(self) -> str:
        return self.path + ".1"

    def _rotate(self, fd: int) -> int:
        """Rename the full log to `.1` (once, even with several clients at it) and return a fresh fd."""
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            current = os.stat(self.path, follow_symlinks=False)
            mine = os.fstat(fd)
            if (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino) and mine.st_size > 0:
                os.replace(self.path, self.rotated_path)
        except FileNotFoundError:
            pass  # another client rotated it and nobody has appended yet
        finally:
            os.close(fd)  # drops the lock
        return os.open(self.path, _OPEN_FLAGS, 0o600)

    def read(self, failures_only: bool = False) -> tuple[list[dict[str, object]], int]:
        """(records oldest first, number of corrupt lines skipped). An attempt is shown once, by its last
        line; a `started` one whose client is gone is recorded and shown as `abandoned`."""
        import json

        records: list[dict[str, object]] = []
        corrupt = 0
        raw = b""
        for path in (self.rotated_path, self.path):
            try:
                with open(path, "rb") as f:
                    raw += f.read()
            except FileNotFoundError:
                continue
        for line in raw.splitlines():
            if not line.strip():
                continue
            try:
                rec = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                corrupt += 1
                continue
            if not isinstance(rec, dict):
                corrupt += 1
                continue
            records.append(rec)
        records = self._resolve(records)
        if failures_only:
            records = [r for r in records if r.get("result") != "ok"]
        return records, corrupt

    def _resolve(self, records: list[dict[str, object]]) -> list[dict[str, object]]:
        """One record per attempt, where it began, holding its last line."""
        out: list[dict[str, object]] = []
        where: dict[str, int] = {}  # attempt_id -> its index in out
        for rec in records:
            aid = rec.get("attempt_id")
            if isinstance(aid, str) and aid in where:
                out[where[aid]] = rec
                continue
            if isinstance(aid, str):
                where[aid] = len(out)
            out.append(rec)
        for i, rec in enumerate(out):
            if rec.get("result") == STARTED and _client_gone(rec.get("client")):
                out[i] = {**rec, "result": ABANDONED, "failure_kind": ABANDONED}
                try:
                    self.append(out[i])
                except OSError:  # a read-only log still shows the attempt as abandoned
                    pass
        return out


def _client_gone(client: object) -> bool:
    if not (isinstance(client, list) and len(client) == 2 and all(isinstance(n, int) for n in client)):
        return True  # no client to wait for
    return bool(start_ticks_of(client[0]) != client[1])


def read_attempts(failures_only: bool = False) -> list[dict[str, object]]:
    """Records from the default log; corrupt lines are skipped (see `read_attempts_counted`)."""
    return AttemptLog().read(failures_only)[0]


def read_attempts_counted(failures_only: bool = False) -> tuple[list[dict[str, object]], int]:
    return AttemptLog().read(failures_only)
