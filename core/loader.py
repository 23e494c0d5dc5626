"""Stage a payload in the target's filesystem view and wait for the loader's confirmation.

Confirmation channel: the loader writes `result.json` into the request's private directory with an atomic
rename, and the client polls for it through `/proc/PID/root`. A file works across mount *and* network
namespaces (a socket connect-back does not), needs no listener and leaves nothing to time out in the target.

Files in the private directory: `loader.py` (the path written into the target, with the params inside as a
Python literal: the loader imports no json), `payload.py`, the payload's extra files, `claim` (O_EXCL
marker: whoever creates it first — the loader running, or the client withdrawing — wins, so a request runs
at most once; the loader writes its thread into it) and `result.json`.

A client that stops waiting while the loader runs (the script is still running at the timeout) must not
remove the directory from under it. It creates `abandoned` and then looks for `result.json`; the loader
writes `result.json` and then looks for `abandoned`. Whichever comes second sees the other's file, so at
least one of them removes the directory (both may; removal is idempotent).
"""

from __future__ import annotations

import time

from core.errors import FailureKind, SafeAttachError
from core.json_reader import loads
from core.json_writer import plain
from core.loader_template import LOADER_TEMPLATE
from core.payloads.contract import PayloadResult, PayloadSpec
from core.privdir import PrivateDir, create_private_dir
from core.records import dataclass, field
from core.requests import CancelToken
from core.stale_requests import WITHDRAWN  # a withdrawal's claim says so; the loader's own claim stays empty

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from core.results import JSON, ClaimInfo

LOADER_NAME = "loader.py"
RESERVED = frozenset({LOADER_NAME, "payload.py", "params.json", "claim", "result.json", "result.json.tmp",
                      "abandoned"})
CLAIM_LIMIT = 4096  # the claim holds a small JSON object
REPORT_DEPTH = 32  # our payloads report a few levels; the writers that render a report recurse per level
POLL_INTERVAL = 0.005
# A target at a safe point runs the loader within milliseconds. Poll every 0.2 ms for the first 20 ms (a
# poll is one failed openat, ~15 us of CPU), then every millisecond until 100 ms, then every 5 ms: the
# confirmation is then about 0.1 ms late on average instead of 0.5 (1 ms polls) or 2.5 (5 ms).
POLL_STEPS = ((0.02, 0.0002), (0.1, 0.001))  # (until this long after the start, poll this often)
ALIVE_EVERY = 0.001  # how often a wait also checks that the target still exists


def render_loader(private_dir: str, request_id: str, deadline: float, own_files: list[str],
                  params: str = "{}") -> str:
    """`params`: the payload's params as a Python literal (`params_literal`): the loader imports no json."""
    return LOADER_TEMPLATE % {
        "private_dir": private_dir,
        "request_id": request_id,
        "deadline": deadline,
        "own_files": own_files,
        "params": params,
    }


def params_literal(params: Mapping[str, object]) -> str:
    """JSON-able params as a Python literal the loader evaluates as its own code: as JSON would give them back,
    so only dicts, lists, strings, finite numbers, booleans and None remain, whose repr is a literal."""
    try:
        return repr(plain(dict(params)))
    except (TypeError, ValueError, RecursionError) as exc:
        raise SafeAttachError(FailureKind.PAYLOAD, f"payload params are not JSON-able: {exc}") from exc


@dataclass
class StagedRequest:
    """A payload staged for one target. `script_path` is what gets written into the target."""

    pdir: PrivateDir
    deadline: float  # wall clock; the loader does nothing after it
    report: dict[str, JSON] = field(default_factory=dict)  # the loader's raw report once received
    withdrawn: bool = False  # we created the claim marker: the loader will never run this request
    left_running: bool = False  # abandoned while the loader runs: it removes the directory itself

    @property
    def script_path(self) -> str:
        return self.pdir.target_file(LOADER_NAME)

    @property
    def script_path_bytes(self) -> bytes:
        return self.script_path.encode()

    @property
    def script_path_len(self) -> int:
        return len(self.script_path_bytes)

    @property
    def host_script_path(self) -> str:
        return self.pdir.host_file(LOADER_NAME)

    @property
    def claimed(self) -> bool:
        """True once the loader (or a withdrawal) created the claim marker."""
        return self.pdir.exists("claim")

    def poll(self) -> PayloadResult | None:
        data = self.pdir.read_file("result.json")
        if data is None:
            return None
        try:
            report = loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # the target's uid can write it
            msg = f"the loader's report is not valid JSON: {exc}"
            raise SafeAttachError(FailureKind.PAYLOAD, msg) from exc
        if not isinstance(report, dict):
            raise SafeAttachError(FailureKind.PAYLOAD, "the loader's report is not a JSON object")
        if _nested_deeper(report, REPORT_DEPTH):  # what renders it (json_writer, repr) recurses
            raise SafeAttachError(FailureKind.PAYLOAD, f"the loader's report is nested deeper than {REPORT_DEPTH}")
        self.report = report
        ok = bool(report.get("ok"))
        result = report.get("result")
        return PayloadResult(
            ok=ok,
            result=result if isinstance(result, dict) else {},
            error="" if ok else f"{report.get('exc_type', 'Error')}: {report.get('exc_message', '')}",
            traceback=str(report.get("traceback", "")),
            thread_name=str(report.get("thread_name", "")),
            native_thread_id=_thread_id(report.get("native_thread_id")),
        )

    def wait(
        self, timeout: float, cancel: CancelToken | None = None, alive: Callable[[], bool] | None = None
    ) -> PayloadResult:
        """Block until the loader reports (bounded). Raises SafeAttachError TIMEOUT_RUN, CANCELLED or
        PROCESS_EXITED (when `alive` says the target is gone)."""
        start = time.monotonic()
        end = start + max(0.0, timeout)
        next_alive = start
        while True:
            result = self.poll()
            if result is not None:
                return result
            if alive is not None and time.monotonic() >= next_alive:  # a /proc read: every 1 ms at most
                if not alive():
                    raise SafeAttachError(FailureKind.PROCESS_EXITED, "the target exited before running the request")
                next_alive = time.monotonic() + ALIVE_EVERY
            left = end - time.monotonic()
            if left <= 0:
                raise SafeAttachError(FailureKind.TIMEOUT_RUN, f"no confirmation within {timeout:g}s")
            waited = time.monotonic() - start
            step = min(next((every for until, every in POLL_STEPS if waited < until), POLL_INTERVAL), left)
            if cancel is not None:
                if cancel.wait(step):
                    raise SafeAttachError(FailureKind.CANCELLED, "cancelled while waiting for the target")
            else:
                time.sleep(step)

    def withdraw(self) -> bool:
        """Make any later delivery a no-op. True if withdrawn before the loader started; False if the loader
        had already claimed the request (it is running or has run)."""
        if not self.withdrawn and self.pdir.claim("claim", WITHDRAWN):
            self.withdrawn = True
        return self.withdrawn

    def running_since(self) -> ClaimInfo:
        """What the loader wrote into its claim (its thread and start time), or {} if unknown."""
        try:
            data = self.pdir.read_file("claim", CLAIM_LIMIT)
            info = loads(data.decode("utf-8")) if data else {}
        except (SafeAttachError, UnicodeDecodeError, ValueError, RecursionError):
            return {}
        if not isinstance(info, dict):
            return {}
        # the target's uid can write the claim: only a real thread id and a plausible start time are kept
        known: dict[str, JSON] = {}
        tid = _thread_id(info.get("native_thread_id"))
        if tid:
            known["native_thread_id"] = tid
        started = info.get("started")
        if isinstance(started, (int, float)) and not isinstance(started, bool) and 0 < started < 1e11:
            known["started"] = float(started)  # NaN and the infinities fail the range test
        return known

    def abandon(self) -> bool:
        """Stop waiting for a loader that claimed the request. True if it is still running: the directory is
        then left to it (it removes it when done); False if its report arrived meanwhile (poll it)."""
        self.pdir.claim("abandoned")
        if self.pdir.exists("result.json"):
            return False
        self.left_running = True
        return True

    def cleanup(self) -> None:
        if self.left_running:
            self.pdir.close()  # the running loader removes the directory
        else:
            self.pdir.cleanup()


def _nested_deeper(value: object, limit: int) -> bool:
    """True if `value` holds containers more than `limit` levels deep (walked without recursion)."""
    level: list[object] = [value]
    for _ in range(limit + 1):
        containers = [node for node in level if isinstance(node, (dict, list))]
        if not containers:
            return False
        level = [item for node in containers for item in (node.values() if isinstance(node, dict) else node)]
    return True


def _thread_id(value: object) -> int:
    """A thread id from the report, or 0 (unknown): a string, a list, a bool, NaN or an infinity is no id."""
    return value if type(value) is int and 0 < value < 1 << 32 else 0


def stage(
    target_root: str,
    uid: int,
    gid: int,
    payload: PayloadSpec,
    *,
    expires_in: float,
    request_id: str | None = None,
) -> StagedRequest:
    """Write loader, payload, params and files into a fresh private directory in the target's view."""
    for name in payload.files:
        if name in RESERVED:
            msg = f"payload file name {name!r} is reserved by the loader"
            raise SafeAttachError(FailureKind.PAYLOAD, msg)
    params = params_literal(payload.params)
    pdir = create_private_dir(target_root, uid, gid, request_id)
    deadline = time.time() + expires_in
    try:
        own = ["payload.py", *payload.files]
        pdir.write_file("payload.py", payload.source.encode("utf-8"))
        for name, data in payload.files.items():
            pdir.write_file(name, bytes(data))
        loader = render_loader(pdir.target_path, pdir.request_id, deadline, own, params)
        pdir.write_file(LOADER_NAME, loader.encode("utf-8"))
    except BaseException:
        pdir.cleanup()
        raise
    return StagedRequest(pdir=pdir, deadline=deadline)
