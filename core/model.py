"""What the read path reports about a process: plain frozen records, rendered by the front ends."""

from __future__ import annotations

from core.records import dataclass, field


@dataclass(frozen=True)
class PythonVersion:
    major: int
    minor: int
    micro: int
    releaselevel: str  # "final", "alpha", "beta", "candidate"
    serial: int
    source: str  # how it was recognised: "Py_Version symbol", "_Py_DebugOffsets.version", ...

    @property
    def hexversion(self) -> int:
        level = {"alpha": 0xA, "beta": 0xB, "candidate": 0xC}.get(self.releaselevel, 0xF)
        return (self.major << 24) | (self.minor << 16) | (self.micro << 8) | (level << 4) | self.serial

    @property
    def short(self) -> str:
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        tail = "" if self.releaselevel == "final" else f"{self.releaselevel[0]}{self.serial}"
        if self.releaselevel == "candidate":
            tail = f"rc{self.serial}"
        return f"{self.major}.{self.minor}.{self.micro}{tail}"

    @classmethod
    def from_hex(cls, value: int, source: str) -> PythonVersion:
        level = {0xA: "alpha", 0xB: "beta", 0xC: "candidate", 0xF: "final"}.get((value >> 4) & 0xF, "unknown")
        return cls(
            major=(value >> 24) & 0xFF,
            minor=(value >> 16) & 0xFF,
            micro=(value >> 8) & 0xFF,
            releaselevel=level,
            serial=value & 0xF,
            source=source,
        )


@dataclass(frozen=True)
class BuildFlags:
    free_threaded: bool | None  # None: not knowable (pre-3.13 without symbols)
    debug: bool | None
    shared: bool  # runtime lives in libpython*.so
    pie: bool  # the executable is position independent

    def describe(self) -> str:
        parts = []
        if self.free_threaded:
            parts.append("free-threaded")
        if self.debug:
            parts.append("debug")
        parts.append("shared" if self.shared else "static")
        parts.append("pie" if self.pie else "no-pie")
        return ",".join(parts)


@dataclass(frozen=True)
class OffsetField:
    name: str  # e.g. "threads_head"
    offset: int  # byte offset inside _Py_DebugOffsets
    value: int
    problem: str | None = None  # validation message, None when plausible


@dataclass(frozen=True)
class OffsetSection:
    name: str  # e.g. "interpreter_state"
    offset: int
    size: int
    fields: tuple[OffsetField, ...]


@dataclass(frozen=True)
class OffsetsTree:
    """The decoded table as section -> field -> offset/value, plus validation results."""

    layout: str  # "3.13", "3.14", "3.15" (+ "t" for free-threaded)
    size: int
    sections: tuple[OffsetSection, ...]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ThreadInfo:
    interpreter_id: int
    tstate_address: int
    thread_id: int  # pthread id (threading.get_ident in the target)
    native_thread_id: int  # Linux TID
    is_main: bool
    holds_gil: bool | None  # None where not knowable
    os_state: str  # from /proc/PID/task/TID/stat: R, S, D, T, Z, ... or "?" when gone
    os_state_detail: str = ""  # wchan / syscall where readable
    current_function: str | None = None  # innermost Python function, when readable


@dataclass(frozen=True)
class InterpreterInfo:
    id: int
    address: int
    is_main: bool
    remote_debugging_enabled: bool | None
    threads_main: int  # address of the main thread state, 0 when none


@dataclass(frozen=True)
class ProcessSummary:
    """One row of `safeattach ps`."""

    pid: int
    user: str
    uid: int
    cmdline: str
    start_time: float  # psutil create_time, used with pid as a stable identity
    version: PythonVersion | None
    build: BuildFlags | None
    pep768_capable: bool
    remote_debug_enabled: bool | None  # None: unknown / not applicable (pre-3.14)
    container: bool  # in another mount namespace than the caller
    error: str | None = None  # why the process could not be inspected
    error_kind: str | None = None


@dataclass(frozen=True)
class ProcessReport:
    """Everything `safeattach info` shows."""

    summary: ProcessSummary
    binary: str  # path of the file holding the runtime, as the target sees it
    binary_access: str  # how we opened it: "map_files", "root", "direct", "memory-scan"
    runtime_address: int
    runtime_source: str  # ".PyRuntime section", "_PyRuntime symbol", "cookie scan"
    offsets: OffsetsTree | None
    interpreters: tuple[InterpreterInfo, ...] = ()
    threads: tuple[ThreadInfo, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
