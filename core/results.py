"""The shapes of what the engine reports: step details, outcome results per payload, attempt-log lines.

Types only, for the checker: modules import this under TYPE_CHECKING (the hot paths never load `typing`), and
build these as plain dict literals, so JSON output and the attempt log are the dicts they always were.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias, TypedDict

# a free-form JSON value (what json.loads returns, what a payload reports from the target)
JSON: TypeAlias = "str | int | float | bool | list[JSON] | dict[str, JSON] | None"
JSONObject: TypeAlias = "dict[str, JSON]"
# a SafeAttachError's context: free-form, JSON-able, rendered generically; readers check each value's type
ErrorDetail: TypeAlias = Mapping[str, object]


# -- step details (StepFinished.detail of a step that succeeded) ---------------------------------------------
# Keys a step does not always report live in a subclass that requires them (PolicyNotCapable, ...): with
# mypy's extra checks a literal that spreads (**) a detail may only leave out keys one of its parts declares.
class Said(TypedDict, total=False):
    message: str  # the step's one-line summary; the chain moves it to StepFinished.message


class OpenDetail(Said):
    uid: int


class ResolveDetail(Said):
    runtime_address: int


class ParseDetail(Said):
    version: str


class ConsentDetail(TypedDict):
    """core.attach.policy.Consent.detail()."""

    opted_out: bool
    opt_out_sources: list[str]
    override_used: bool
    environ_readable: bool


class PolicyFacts(ConsentDetail):
    pep768_capable: bool
    remote_debugging_enabled: bool | None


class PolicyDetail(Said, PolicyFacts):
    pass


class PolicyNotCapable(PolicyDetail):
    kind: str  # notCapable: method auto goes on with legacy injection


class PolicyEnabled(PolicyDetail):
    interpreter: int


class ThreadStateDetail(Said):
    method: str
    tstate: int
    native_thread_id: int


class CollectedDetail(TypedDict):
    """core.stale_requests.Collected.detail(): what killed clients had left, collected before staging."""

    collected_requests: list[str]
    withdrawn_orphans: list[str]
    collected_locks: list[str]


class ScriptWritten(TypedDict):
    """core.attach.writes.RequestWriter.write_script()."""

    address: int
    bytes: int
    limit: int
    truncated: bool


class PendingWritten(TypedDict):
    address: int


class BreakerWritten(TypedDict):
    address: int
    mask: int
    already_set: bool


class WriteScriptDetail(Said, ScriptWritten, CollectedDetail):
    pass


class WritePendingDetail(Said, PendingWritten):
    pass


class WriteBreakerDetail(Said, BreakerWritten):
    pass


class InjectDetail(Said):
    """core.attach.legacy_step.inject_loader(), either injector."""

    legacy: bool
    injector: str
    safe_point: str
    thread_id: int
    phases_ms: dict[str, float]


class PtraceInjectDetail(InjectDetail):
    mode: str  # parked / pending
    restart: str
    c_api: str


class GdbInjectDetail(InjectDetail):
    gdb: str
    gdb_version: str


class LegacyDetail(InjectDetail, CollectedDetail):
    pass


class FallbackDetail(LegacyDetail):
    fallback_from: str  # the safe-attach failure legacy injection replaced


class AwaitDetail(Said):
    thread_name: str
    native_thread_id: int


class SurvivedDetail(AwaitDetail):
    survival: str  # after a legacy injection: what the check found


class CacheDetail(Said):
    cache: str  # hit / miss / stale


class CacheHitDetail(CacheDetail):
    port: int
    listener_pid: int


class ReadyDetail(Said):
    reused: bool
    port: int
    connect: str
    cache: str


StepDetail: TypeAlias = (
    "OpenDetail | ResolveDetail | ParseDetail | PolicyDetail | ThreadStateDetail | WriteScriptDetail"
    " | WritePendingDetail | WriteBreakerDetail | LegacyDetail | AwaitDetail | CacheDetail | ReadyDetail"
)


# -- debugpy: what the session knows of the server, and what it reports --------------------------------------
class ServerInfo(TypedDict, total=False):
    """The server debugpyReady found: from the payload's (checked) report or from the reattach cache."""

    reused: bool
    host: str
    port: int
    debugpy_version: str
    listener_pid: int
    adapter_python: str
    waiting_for_client: bool
    gate: JSONObject | None  # the peer gate's settings (allowed, idle, open), as the payload reported them
    connect_host: str
    connect_port: int


class Address(TypedDict):
    host: str
    port: int


class PathMapping(TypedDict):
    localRoot: str
    remoteRoot: str


class _VSCodeRequired(TypedDict):
    name: str
    type: str
    request: str
    connect: Address
    justMyCode: bool


class VSCodeConfig(_VSCodeRequired, total=False):
    pathMappings: list[PathMapping]


class DebugpyServer(TypedDict):
    host: str
    port: int
    version: str | None
    reused: bool
    listener_pid: int | None
    adapter_python: str | None
    waiting_for_client: bool


class BridgeInfo(TypedDict):
    socket: str | None
    local: str
    lifetime: str


class Access(TypedDict):
    allowed_uids: list[JSON]
    idle_timeout: JSON
    open_to_network: bool


class SessionResult(TypedDict):
    """core.dap.session.DebugSession.result(): the debugpy part of a successful outcome's result."""

    debugpy: DebugpyServer
    connect: Address
    reused: bool
    reattach_cache: str
    bridge: BridgeInfo | None
    access: Access | None
    warnings: list[str]
    vscode: VSCodeConfig


# -- outcome results (Outcome.result) -----------------------------------------------------------------------
class BaseResult(TypedDict):
    """What every outcome's result holds."""

    thread_selection: str | None
    steps_ms: dict[str, float]
    legacy: bool
    flags: list[str]


class Ran(BaseResult):
    ran: bool


class ExecAttemptResult(Ran):
    """Payload exec: the script ran."""

    thread_name: str
    native_thread_id: int
    payload: JSONObject  # what the payload's run() returned, as the loader reported it


class ScriptRaisedResult(ExecAttemptResult):
    """Payload exec: the script ran and raised (the outcome fails as scriptFailed or scriptUnreadable)."""

    exc_type: str
    exc_message: str
    traceback: str


class DebugpyAttemptResult(Ran, SessionResult):
    """Payload debugpy: a server listens (found through the reattach cache, nothing ran)."""


class DebugpyRanResult(DebugpyAttemptResult):
    """Payload debugpy: the payload ran in a thread of the target and started (or found) the server."""

    thread_name: str
    native_thread_id: int
    payload: JSONObject


# a failure: BaseResult, "ran": False, and the SafeAttachError's detail merged in (free-form keys)
FailedAttemptResult: TypeAlias = Mapping[str, object]
AttemptResult: TypeAlias = "ExecAttemptResult | DebugpyAttemptResult | FailedAttemptResult"


# -- the attempt log ---------------------------------------------------------------------------------------
class StepRecord(TypedDict):
    name: str
    status: str
    elapsed_ms: float


class AttemptLine(TypedDict):
    """One line the attempt log writes (core.attemptlog.FIELDS). Lines read back are only Mapping[str, object]:
    the file may hold anything, so readers check each value."""

    time: float
    pid: int
    target_version: str | None
    method: str
    payload: str
    thread_selection: str | None
    result: str
    failure_site: str | None
    failure_kind: str | None
    flags: list[str]
    truncation: bool
    reuse: bool
    steps: list[StepRecord]
    elapsed_ms: float
    attempt_id: str
    client: list[int]


# the loader's claim file: its thread and start time (read from the target's view: checked before use)
ClaimInfo: TypeAlias = Mapping[str, JSON]
