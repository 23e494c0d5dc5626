"""What the target itself allows: its version and build, its opt-out, and where its threads are parked."""

from __future__ import annotations

from core.attach.policy import ENV_OPT_OUT, OVERRIDE_FLAG, environ_opt_out
from core.attach.script import check_script
from core.doctor.model import Finding, Status
from core.errors import FailureKind, SafeAttachError
from core.offsets.pre313 import PRE313_LAYOUTS
from core.target import Target, main_interpreter
from core.walk import ProcessStacks


def version_findings(target: Target) -> list[Finding]:
    ver = target.version
    assert ver is not None
    out: list[Finding] = []
    if target.pep768_capable:
        out.append(Finding("version", Status.OK, f"CPython {ver}: safe attach (PEP 768), legacy injection as the "
                                                 "fallback"))
    elif target.offsets is not None or (ver.major, ver.minor) in PRE313_LAYOUTS:
        out.append(Finding("version", Status.OK, f"CPython {ver}: no PEP 768 in this version, so attach uses "
                                                 "the legacy ptrace injector"))
    else:
        out.append(Finding("version", Status.FAIL, f"CPython {ver} is not supported (3.9, 3.11-3.15 are)",
                           ("upgrade the target's Python, or use a tool that supports this version",),
                           FailureKind.UNSUPPORTED_VERSION))
    flags = target.build_flags()
    facts = target.location.facts if target.location is not None else None
    if target.offsets is not None and target.offsets.pep768_capable and facts is not None \
            and not facts.remote_debug_compiled:
        out.append(Finding("build.remote_debug", Status.WARN, "this build was configured --without-remote-debug: "
                           "it never runs safe attach requests; attach falls back to legacy injection",
                           ("use a build with remote debugging (the default)",), FailureKind.NOT_CAPABLE,
                           affects="safe"))
    if flags.free_threaded:
        out.append(Finding("build.free_threaded", Status.WARN, "a free-threaded build: its layouts are unit-tested "
                           "from computed tables only, not against a live process", affects="all"))
    if target.offsets is not None and target.offsets.problems:
        out.append(Finding("build.offsets", Status.WARN, "_Py_DebugOffsets warnings: "
                           + "; ".join(target.offsets.problems)))
    if (ver.major, ver.minor) == (3, 12):
        out.append(Finding("build.layout", Status.WARN, "the 3.12 layout comes from CPython's headers and was "
                           "never checked against a live 3.12 process"))
    return out


def policy_findings(target: Target) -> list[Finding]:
    main = main_interpreter(target.interpreters())
    memory_off = target.pep768_capable and main is not None and main.remote_debugging_enabled is False
    env = environ_opt_out(target.pid)
    sources = [s for s, on in (("its memory (remote_debugging_enabled = 0: -X disable-remote-debug or "
                                 f"{ENV_OPT_OUT})", memory_off), (f"its environment ({ENV_OPT_OUT} is set)",
                                                                  bool(env))) if on]
    if sources:
        return [Finding("policy", Status.FAIL, "the target opted out of remote debugging, as shown by "
                        + " and ".join(sources),
                        (f"restart the target without {ENV_OPT_OUT} and without -X disable-remote-debug",
                         f"only if its owner agrees: --method legacy {OVERRIDE_FLAG} (recorded in the attempt "
                         "log)"), FailureKind.POLICY_DISABLED)]
    out = [Finding("policy", Status.OK, "the target did not opt out of remote debugging (reading its stacks "
                                        "never needs consent)")]
    if env is None:
        out.append(Finding("policy.environ", Status.WARN, f"/proc/{target.pid}/environ is unreadable: "
                           f"{ENV_OPT_OUT} could not be checked there"))
    return out


def _where(stack: ProcessStacks) -> dict[int, str]:
    out = {}
    for t in stack.threads:
        if t.frames:
            f = t.frames[0]
            out[t.native_thread_id] = f"{f.qualname or f.function} at {f.filename}:{f.line or '?'}"
    return out


def thread_findings(target: Target, stacks: ProcessStacks | None) -> list[Finding]:
    if stacks is None:
        return [Finding("threads", Status.WARN, "the stacks could not be read")]
    python_threads = [t for t in stacks.threads if t.frames]
    if not stacks.threads:
        return [Finding("threads", Status.FAIL, "no Python thread state found", kind=FailureKind.THREAD_STATE)]
    where = _where(stacks)
    out: list[Finding] = []
    running = [t for t in python_threads if t.os_state == "R"]
    parked = [t for t in python_threads if t.os_state in ("S", "D") and t.syscall and t.syscall != "running"]
    for t in parked:
        who = "main thread" if t.is_main else f"thread {t.native_thread_id}"
        out.append(Finding("threads.blocked", Status.INFO, f"{who} is parked in {t.syscall} in "
                           f"{where.get(t.native_thread_id, '?')}"))
    if python_threads and not running and target.pep768_capable:
        out.append(Finding(
            "threads.safe_point", Status.WARN, "no thread is running Python right now: a safe attach request runs "
            "only when a thread returns to bytecode, so `exec` may time out (timeoutRun) and fall back to legacy "
            "injection where policy allows",
            ("wait for the target to become busy, or use a longer --timeout",
             "or make the blocking call return (a signal with a Python handler, I/O)"),
            FailureKind.TIMEOUT_RUN, affects="safe"))
    if stacks.partial:
        out.append(Finding("threads.partial", Status.INFO, "some stacks changed while they were read (partial)"))
    return out


def script_findings(target: Target, script: str) -> list[Finding]:
    """Whether the target (its uids, groups and view) could read SCRIPT the way `exec` checks it."""
    try:
        plan = check_script(script, target.pid, target.root, target.uid, target.gid)
    except SafeAttachError as exc:
        if exc.kind is not FailureKind.SCRIPT_UNREADABLE:
            raise
        return [Finding("script", Status.FAIL, exc.message, (exc.hint,) if exc.hint else (), exc.kind)]
    how = ("it is copied into the request's private directory in the target's view" if plan.copied
           else "the target sees the same file")
    return [Finding("script", Status.OK, f"the target's user may read {plan.caller_path}; {how}")]
