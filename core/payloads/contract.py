"""The contract between the loader (which runs inside the target) and the payloads it runs.

A payload is Python source that defines `run(params: dict, ctx: dict) -> dict` (and `KEEP_NAMESPACE = True`
if threads it starts keep using its globals; otherwise the loader clears its namespace afterwards). The
loader executes that source in a fresh namespace inside the target, calls `run`, and reports the returned
dict (JSON-able) — or the exception and its traceback — back to the client over the confirmation channel.
`ctx` carries at least `private_dir` (the request's private directory as the target sees it), `request_id`
and `deadline` (wall clock): a payload waits for nothing past it, and never blocks the thread it
interrupted beyond it.
"""

from __future__ import annotations

from core.records import dataclass, field

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.results import JSON


@dataclass(frozen=True)
class PayloadSpec:
    name: str  # "exec", "debugpy", ...
    source: str  # defines run(params, ctx) -> dict
    params: Mapping[str, JSON] = field(default_factory=dict)
    # files to place next to the loader (name -> bytes), e.g. a user's script copy; never secrets
    files: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class PayloadResult:
    ok: bool
    result: Mapping[str, JSON] = field(default_factory=dict)  # what run() returned, through JSON
    error: str = ""  # "ExcType: message" when ok is False
    traceback: str = ""
    thread_name: str = ""  # the target thread that ran it
    native_thread_id: int = 0
