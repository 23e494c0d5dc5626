"""A minimal gdb/MI session: spawn gdb, send tokenised commands, read records, every wait bounded."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Union

from core.records import dataclass, field

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

MIValue = Union[str, "MITuple", list["MIValue"]]
MITuple = dict[str, MIValue]


@dataclass(frozen=True)
class Record:
    """One MI output line: kind is one of ^ * = ~ @ &; cls is e.g. 'done', 'stopped' or '' for streams."""

    kind: str
    cls: str
    results: MITuple = field(default_factory=dict)
    text: str = ""
    token: int | None = None


class MIParseError(ValueError):
    pass


def c_unquote(s: str, i: int) -> tuple[str, int]:
    """Parse the C string starting at s[i] == '"'; return (text, index after the closing quote)."""
    if i >= len(s) or s[i] != '"':
        raise MIParseError(f"expected a string at {i}: {s!r}")
    out = bytearray()
    i += 1
    escapes = {"n": 10, "t": 9, "r": 13, "\\": 92, '"': 34, "'": 39, "a": 7, "b": 8, "f": 12, "v": 11, "e": 27}
    while i < len(s):
        ch = s[i]
        if ch == '"':
            return out.decode("utf-8", errors="replace"), i + 1
        if ch == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt in "01234567":
                j = i + 1
                while j < len(s) and j < i + 4 and s[j] in "01234567":
                    j += 1
                out.append(int(s[i + 1 : j], 8) & 0xFF)
                i = j
                continue
            out.append(escapes.get(nxt, ord(nxt) if ord(nxt) < 128 else 63))
            i += 2
            continue
        out.extend(ch.encode("utf-8", errors="replace"))
        i += 1
    raise MIParseError(f"unterminated string: {s!r}")


def _parse_value(s: str, i: int) -> tuple[MIValue, int]:
    if s[i] == '"':
        return c_unquote(s, i)
    if s[i] == "{":
        tup: MITuple = {}
        i += 1
        while i < len(s) and s[i] != "}":
            key, i = _parse_key(s, i)
            tup[key], i = _parse_value(s, i)
            if i < len(s) and s[i] == ",":
                i += 1
        return tup, i + 1
    if s[i] == "[":
        items: list[MIValue] = []
        i += 1
        while i < len(s) and s[i] != "]":
            if s[i] in '"{[':
                value, i = _parse_value(s, i)
            else:  # a list of key=value results: keep the values
                _key, i = _parse_key(s, i)
                value, i = _parse_value(s, i)
            items.append(value)
            if i < len(s) and s[i] == ",":
                i += 1
        return items, i + 1
    raise MIParseError(f"unexpected {s[i]!r} at {i}: {s!r}")


def _parse_key(s: str, i: int) -> tuple[str, int]:
    eq = s.find("=", i)
    if eq < 0:
        raise MIParseError(f"expected key= at {i}: {s!r}")
    return s[i:eq], eq + 1


def parse_record(line: str) -> Record | None:
    """Parse one MI output line; None for the prompt and for lines that are not MI (inferior output)."""
    line = line.rstrip("\r\n")
    if not line or line.startswith("(gdb)"):
        return None
    i = 0
    while i < len(line) and line[i].isdigit():
        i += 1
    token = int(line[:i]) if i else None
    if i >= len(line):
        return None
    kind = line[i]
    if kind in "~@&":
        try:
            text, _ = c_unquote(line, i + 1)
        except MIParseError:
            return None
        return Record(kind, "", text=text, token=token)
    if kind not in "^*+=":
        return None
    comma = line.find(",", i)
    cls = line[i + 1 : comma] if comma >= 0 else line[i + 1 :]
    results: MITuple = {}
    j = comma + 1 if comma >= 0 else len(line)
    try:
        while j < len(line):
            key, j = _parse_key(line, j)
            results[key], j = _parse_value(line, j)
            if j < len(line) and line[j] == ",":
                j += 1
    except (MIParseError, IndexError):
        pass  # keep what parsed; the caller only needs a few fields
    return Record(kind, cls, results, token=token)


def mi_quote(text: str) -> str:
    """Quote an argument for an MI command line."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class GdbTimeout(Exception):
    """gdb did not answer in time."""


class GdbExited(Exception):
    """The gdb process ended (its output so far is in `transcript`)."""


class MISession:
    """A running `gdb --interpreter=mi3` in its own process group, driven over pipes."""

    def __init__(self, gdb: str, args: Sequence[str] = (), env: Mapping[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [gdb, "-nx", "-q", "--interpreter=mi3", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,  # a Ctrl-C at the client's terminal must not reach gdb
        )
        self._buf = b""
        self._token = 0
        self.transcript: list[str] = []  # every line gdb printed, for error classification
        self.pending: list[Record] = []  # async records seen while waiting for a result
        assert self.proc.stdout is not None
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)

    def read_record(self, deadline: float) -> Record | None:
        """Next MI record, or None on a prompt/non-MI line. Raises GdbTimeout / GdbExited."""
        assert self.proc.stdout is not None
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GdbTimeout
            if not self._sel.select(min(left, 0.05)):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise GdbExited
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\n", 1)
        line = raw.decode("utf-8", errors="replace")
        self.transcript.append(line)
        return parse_record(line)

    def send(self, command: str) -> int:
        assert self.proc.stdin is not None
        self._token += 1
        try:
            self.proc.stdin.write(f"{self._token}{command}\n".encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise GdbExited from exc
        return self._token

    def command(self, command: str, deadline: float) -> Record:
        """Send a command and return its result record (^done/^running/^error/^exit)."""
        token = self.send(command)
        while True:
            rec = self.read_record(deadline)
            if rec is None:
                continue
            if rec.kind == "^" and rec.token == token:
                return rec
            if rec.kind in "*=":
                self.pending.append(rec)

    def wait_async(self, cls: str, deadline: float) -> Record:
        """Wait for the next async record of class `cls` (e.g. 'stopped')."""
        while True:
            for idx, queued in enumerate(self.pending):
                if queued.kind == "*" and queued.cls == cls:
                    del self.pending[idx]
                    return queued
            rec = self.read_record(deadline)
            if rec is not None and rec.kind in "*=":
                self.pending.append(rec)

    def stream_text(self) -> list[str]:
        """The console/log stream output so far, unescaped."""
        out = []
        for line in self.transcript:
            parsed = parse_record(line)
            if parsed is not None and parsed.kind in "~@&":
                out.append(parsed.text)
        return out

    def console_text(self) -> str:
        return "\n".join(self.transcript)

    def terminate(self) -> None:
        """Stop gdb (its tracees are detached by the kernel) and reap it."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self.close()

    def close(self) -> None:
        """Reap gdb (bounded) and release pipes."""
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                self.proc.wait(timeout=5.0)
        self._sel.close()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
