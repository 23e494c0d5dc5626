"""Records of a stack snapshot: frames, threads, the whole process. Plain data; the front ends render them."""

from __future__ import annotations

from core.records import dataclass, field


@dataclass(frozen=True)
class LocalVar:
    name: str
    value: str  # a bounded repr ("None", "42", "'abc'", "list (3 items)", "<Foo>")


@dataclass(frozen=True)
class FrameRecord:
    function: str  # co_name
    qualname: str | None  # co_qualname (3.11+), None before
    filename: str
    line: int | None  # None when the location table has no line for the instruction
    first_line: int
    locals: tuple[LocalVar, ...] | None = None  # only with --locals

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"function": self.function, "qualname": self.qualname, "filename": self.filename,
                               "line": self.line, "first_line": self.first_line}
        if self.locals is not None:
            out["locals"] = [{"name": v.name, "value": v.value} for v in self.locals]
        return out


@dataclass(frozen=True)
class ThreadStack:
    interpreter_id: int
    native_thread_id: int  # Linux TID, 0 when unknown
    thread_id: int  # pthread id (threading.get_ident)
    name: str | None  # the OS thread name (/proc/PID/task/TID/comm)
    is_main: bool
    holds_gil: bool | None
    os_state: str  # R, S, D, ... "?" when gone
    syscall: str  # the syscall it is parked in, "running", or ""
    frames: tuple[FrameRecord, ...]  # innermost first
    partial: str | None = None  # why the stack may be incomplete (corrupt or changing memory), else None

    def to_dict(self) -> dict[str, object]:
        return {
            "interpreter_id": self.interpreter_id, "native_thread_id": self.native_thread_id,
            "thread_id": self.thread_id, "name": self.name, "is_main": self.is_main,
            "holds_gil": self.holds_gil, "os_state": self.os_state, "syscall": self.syscall,
            "frames": [f.to_dict() for f in self.frames], "partial": self.partial,
        }


@dataclass(frozen=True)
class ProcessStacks:
    pid: int
    version: str
    threads: tuple[ThreadStack, ...]
    problems: tuple[str, ...] = field(default_factory=tuple)  # process-level partial reasons
    elapsed_ms: float = 0.0

    @property
    def partial(self) -> bool:
        return bool(self.problems) or any(t.partial for t in self.threads)

    def to_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "version": self.version, "partial": self.partial,
                "problems": list(self.problems), "elapsed_ms": round(self.elapsed_ms, 3),
                "threads": [t.to_dict() for t in self.threads]}
