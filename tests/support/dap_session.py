"""One full DAP session against a live target, shared by the debugpy live tests (payload, engine, legacy chain).

The target runs a program built by `program_text`: the `helper`/`work` functions of WORK, some setup of the
caller's, then TICK_LOOP, which calls `work(i)` forever and prints `tick N` about every 0.1 s. The session
stops at a breakpoint in `work`, inspects, steps (next, in, out, next), evaluates, then lets it run on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dap_client import DapClient
from live_targets import Target

WORK = '''\
def helper(x):
    y = x + 1  # HELPER
    return y

def work(i):
    total = i * 2  # BP
    total = helper(total)  # NEXT
    return total
'''

TICK_LOOP = '''\
i = 0
last = time.monotonic()
while True:
    i += 1
    work(i)
    now = time.monotonic()
    if now - last > 0.1:
        print("tick %d" % i, flush=True)
        last = now
    time.sleep(0.001)
'''


def program_text(imports: str, setup: str) -> str:
    """A target program: `imports` (must import time), WORK, `setup` (must print "ready"), TICK_LOOP."""
    return f"{imports}\n\n{WORK}\n{setup}{TICK_LOOP}"


def line_of(source: str, marker: str) -> int:
    """The 1-based line of `source` that ends with the comment `# marker`."""
    for n, line in enumerate(source.splitlines(), 1):
        if line.rstrip().endswith(f"# {marker}"):
            return n
    raise AssertionError(marker)


@dataclass(frozen=True)
class SessionResult:
    iteration: int  # the `i` of the work(i) call the session stopped in
    thread_id: int


def run_full_session(host: str, port: int, *, program: Path | str, source: str, target: Target) -> SessionResult:
    """initialize … disconnect, asserting on what a user sees; `program` is the path the target runs, `source`
    its text. Leaves the target running without breakpoints, and checks that it goes on past the stop."""
    path = str(program)
    bp, nxt, helper_line = line_of(source, "BP"), line_of(source, "NEXT"), line_of(source, "HELPER")
    with DapClient(host, port, timeout=30) as dap:
        caps = dap.initialize()
        assert caps["success"]
        assert caps["body"]["supportsConfigurationDoneRequest"] is True
        attach_seq = dap.attach()
        dap.wait_event("initialized")
        bps = dap.set_breakpoints(path, [bp])
        assert bps[0]["verified"] and bps[0]["line"] == bp, bps
        dap.configuration_done()
        assert dap.wait_response(attach_seq)["success"]

        stopped = dap.wait_event("stopped")["body"]
        assert stopped["reason"] == "breakpoint"
        tid = stopped["threadId"]
        frames = dap.stack_trace(tid)
        assert (frames[0]["name"], frames[0]["line"], frames[0]["source"]["path"]) == ("work", bp, path)
        assert frames[1]["name"] == "<module>"
        frame_id = frames[0]["id"]
        scopes = dap.scopes(frame_id)
        assert scopes[0]["name"] == "Locals"
        local_vars = dap.variables(scopes[0]["variablesReference"])
        i = int(local_vars["i"])
        assert i >= 1
        assert "total" not in local_vars  # stopped before the line ran
        assert dap.evaluate("i * 2 + 1", frame_id) == str(i * 2 + 1)
        assert dap.evaluate("helper(i)", frame_id) == str(i + 1)

        dap.next(tid)
        assert dap.wait_event("stopped")["body"]["reason"] == "step"
        frames = dap.stack_trace(tid)
        assert (frames[0]["name"], frames[0]["line"]) == ("work", nxt)
        assert dap.variables(dap.scopes(frames[0]["id"])[0]["variablesReference"])["total"] == str(i * 2)

        dap.step_in(tid)
        assert dap.wait_event("stopped")["body"]["reason"] == "step"
        frames = dap.stack_trace(tid)
        assert (frames[0]["name"], frames[0]["line"]) == ("helper", helper_line)
        assert dap.variables(dap.scopes(frames[0]["id"])[0]["variablesReference"])["x"] == str(i * 2)

        dap.step_out(tid)
        assert dap.wait_event("stopped")["body"]["reason"] == "step"
        frames = dap.stack_trace(tid)
        assert (frames[0]["name"], frames[0]["line"]) == ("work", nxt)  # back in the caller, before the store
        dap.next(tid)
        assert dap.wait_event("stopped")["body"]["reason"] == "step"
        frames = dap.stack_trace(tid)
        assert (frames[0]["name"], frames[0]["line"]) == ("work", nxt + 1)
        assert dap.evaluate("total", frames[0]["id"]) == str(i * 2 + 1)

        dap.set_breakpoints(path, [])
        dap.continue_(tid)
        dap.disconnect()
    # still alive and running: the loop goes on past the iteration we stopped in
    assert target.alive()
    while int(target.wait_for("tick ", timeout=30).split()[1]) <= i + 1:
        pass
    assert target.alive()
    return SessionResult(iteration=i, thread_id=tid)
