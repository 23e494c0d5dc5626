"""Run every check read-only and decide which attach path `--method auto` would take.

Findings that concern only one path (a tracer blocks the legacy injector, a sleeping target delays safe
attach) fail the diagnosis only when that path is the one an attach would depend on.
"""

from __future__ import annotations

from core.doctor.access import access_findings, namespace_findings
from core.doctor.model import Diagnosis, Finding, Status
from core.doctor.target_checks import policy_findings, script_findings, thread_findings, version_findings
from core.errors import FailureKind, SafeAttachError
from core.inject.gdb.health import gdb_health
from core.inject.gdb.inject import gdb_available
from core.procfs import ensure_alive
from core.records import replace
from core.target import open_target
from core.walk import ProcessStacks, snapshot_target
from core.walk.frames import fatal


def _injector_findings(injector: str) -> list[Finding]:
    if injector != "gdb":
        return [Finding("injector", Status.INFO, "legacy injection uses the built-in ptrace injector (needs ptrace "
                                                 "attach, no gdb)", affects="legacy")]
    path = gdb_available()
    if path is None:
        return [Finding("injector.gdb", Status.WARN, "--injector gdb: no gdb on PATH",
                        ("use the default ptrace injector", "or install gdb"), FailureKind.GDB_MISSING,
                        affects="legacy")]
    health = gdb_health(path)
    if not health.healthy:
        return [Finding("injector.gdb", Status.WARN, f"--injector gdb: {path} failed its health probe: "
                        f"{health.reason}", ("use the default ptrace injector",), FailureKind.GDB_UNHEALTHY,
                        affects="legacy")]
    cached = " (cached result)" if health.cached else ""
    return [Finding("injector.gdb", Status.OK, f"--injector gdb: {path} passed its health probe{cached}",
                    affects="legacy")]


def _decide(findings: list[Finding], capable: bool) -> tuple[str, list[Finding]]:
    """The path auto would take, and findings re-rated for it (a WARN on the only usable path is a FAIL)."""
    safe_broken = any(f.affects == "safe" and f.kind is FailureKind.NOT_CAPABLE for f in findings)
    path = "safe" if capable and not safe_broken else "legacy"
    out = []
    for f in findings:
        if f.status is Status.WARN and f.kind is not None and f.affects == path and f.affects != "safe":
            f = replace(f, status=Status.FAIL)
        out.append(f)
    if any(f.status is Status.FAIL and f.affects == "all" for f in out):
        path = "none"
    return path, out


def diagnose(pid: int, injector: str = "ptrace", script: str | None = None) -> Diagnosis:
    """Read-only checks of one process. Raises SafeAttachError only when the PID is no usable process at all
    (missing, zombie); everything else is a finding."""
    ensure_alive(pid)
    findings = access_findings(pid) + namespace_findings(pid)
    try:
        target = open_target(pid)
    except SafeAttachError as exc:
        if exc.kind in (FailureKind.NO_SUCH_PROCESS, FailureKind.PROCESS_EXITED):
            raise
        findings.append(Finding("read", Status.FAIL, f"the process cannot be read: {exc.message}", (exc.hint,),
                                exc.kind))
        return Diagnosis(pid, None, "none", tuple(findings))
    with target:
        findings.append(Finding("read", Status.OK, "its memory is readable and its runtime was found"))
        findings += version_findings(target)
        findings += policy_findings(target)
        stacks: ProcessStacks | None = None
        try:
            stacks = snapshot_target(target)
        except SafeAttachError as exc:
            if fatal(exc):
                raise
        findings += thread_findings(target, stacks)
        if script is not None:
            findings += script_findings(target, script)
        findings += _injector_findings(injector)
        path, rated = _decide(findings, target.pep768_capable)
        return Diagnosis(pid, str(target.version), path, tuple(rated))
