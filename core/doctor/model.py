"""What `doctor` reports: findings, each with a status, a fix (least privilege first) and a failure kind."""

from __future__ import annotations

from core.enums import Enum
from core.errors import FailureKind, exit_code_for
from core.records import dataclass, field


class Status(str, Enum):
    OK = "ok"
    INFO = "info"
    WARN = "warn"  # an attach may still work, or works through a fallback
    FAIL = "fail"  # `exec`/`attach` would stop here


@dataclass(frozen=True)
class Finding:
    check: str  # "ptrace.uid", "policy", "threads.blocked", ...
    status: Status
    message: str
    fixes: tuple[str, ...] = ()  # least privilege first
    kind: FailureKind | None = None  # the failure an attach would report (FAIL and WARN)
    affects: str = "all"  # "safe", "legacy" or "all": which attach path the finding concerns

    def to_dict(self) -> dict[str, object]:
        return {"check": self.check, "status": self.status.value, "message": self.message,
                "fixes": list(self.fixes), "kind": self.kind.value if self.kind else None, "affects": self.affects}


@dataclass(frozen=True)
class Diagnosis:
    pid: int
    version: str | None
    path: str  # the attach path `--method auto` would take: "safe", "legacy" or "none"
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def blocking(self) -> Finding | None:
        return next((f for f in self.findings if f.status is Status.FAIL), None)

    @property
    def exit_code(self) -> int:
        first = self.blocking
        return 0 if first is None else exit_code_for(first.kind or FailureKind.INTERNAL)

    def to_dict(self) -> dict[str, object]:
        first = self.blocking
        return {"pid": self.pid, "version": self.version, "path": self.path,
                "attach_should_work": first is None, "exit_code": self.exit_code,
                "blocking_kind": first.kind.value if first is not None and first.kind else None,
                "findings": [f.to_dict() for f in self.findings]}
