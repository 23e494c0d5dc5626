"""Consent: whether this attempt may touch the target at all, the same rules for every method.

A target's explicit opt-out is never bypassed automatically:

- 3.14+: `remote_debugging_enabled == 0` read from the target's memory (PYTHON_DISABLE_REMOTE_DEBUG or
  `-X disable-remote-debug`);
- every version: `PYTHON_DISABLE_REMOTE_DEBUG` in `/proc/PID/environ` (the environment the process
  *started* with; later `os.environ` changes are not visible there). Like CPython 3.14, any value counts,
  even empty. Older versions ignore the variable themselves, but it still says what the owner wants. A
  target started with `-E` ignores the variable; the engine still treats it as opted out (conservative).

Only `Method.LEGACY` with `allow_opted_out_legacy` (CLI: `--method legacy --allow-opted-out`) injects into
an opted-out target, and the attempt log records the override (flag `override_used`).
"""

from __future__ import annotations

from core.errors import DEFAULT_HINTS, FailureKind, SafeAttachError
from core.records import dataclass
from core.requests import Method

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from core.results import ConsentDetail

ENV_OPT_OUT = "PYTHON_DISABLE_REMOTE_DEBUG"
OVERRIDE_FLAG = "--allow-opted-out"


def environ_opt_out(pid: int) -> bool | None:
    """True if the process started with PYTHON_DISABLE_REMOTE_DEBUG set (any value), False if not, None if
    its environment is unreadable."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            data = f.read()
    except OSError:
        return None
    prefix = ENV_OPT_OUT.encode() + b"="
    return any(entry.startswith(prefix) for entry in data.split(b"\0"))


@dataclass(frozen=True)
class Consent:
    opted_out: bool
    sources: tuple[str, ...]  # "memory" (remote_debugging_enabled = 0), "environ"
    override_used: bool
    environ_readable: bool

    def detail(self) -> ConsentDetail:
        return {"opted_out": self.opted_out, "opt_out_sources": list(self.sources),
                "override_used": self.override_used, "environ_readable": self.environ_readable}


def _describe(sources: tuple[str, ...]) -> str:
    parts = []
    if "memory" in sources:
        parts.append("remote_debugging_enabled = 0 in its interpreter state")
    if "environ" in sources:
        parts.append(f"{ENV_OPT_OUT} in its environment")
    return " and ".join(parts)


def check_consent(
    pid: int, *, capable: bool, enabled: bool | None, method: Method, allow_override: bool,
    say: Callable[[str], None],
) -> Consent:
    """Decide whether this attempt may proceed; raise POLICY_DISABLED when the target opted out."""
    env = environ_opt_out(pid)
    sources: list[str] = []
    if capable and enabled is False:
        sources.append("memory")
    if env:
        sources.append("environ")
    if env is None:
        say(f"/proc/{pid}/environ is not readable: {ENV_OPT_OUT} could not be checked there")
    if not sources:
        return Consent(False, (), False, env is not None)
    why = _describe(tuple(sources))
    detail = {"pep768_capable": capable, "remote_debugging_enabled": enabled, "opted_out": True,
              "opt_out_sources": sources}
    if method is Method.LEGACY and allow_override:
        say(f"the target opted out of remote debugging ({why}); explicit override {OVERRIDE_FLAG} is set")
        return Consent(True, tuple(sources), True, env is not None)
    if method is Method.LEGACY:
        hint = (f"The target opted out of remote debugging ({why}). Injecting anyway needs explicit consent: "
                f"--method legacy {OVERRIDE_FLAG} (AttachRequest.allow_opted_out_legacy); the override is "
                "recorded in the attempt log.")
    else:
        hint = (DEFAULT_HINTS[FailureKind.POLICY_DISABLED] + f" Only an explicit --method legacy {OVERRIDE_FLAG} "
                "injects anyway (recorded in the attempt log); automatic attach never does.")
    raise SafeAttachError(FailureKind.POLICY_DISABLED, f"the target opted out of remote debugging ({why})",
                          hint=hint, detail=detail)
