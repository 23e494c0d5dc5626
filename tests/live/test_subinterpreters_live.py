"""A target with a live subinterpreter: the request goes to the main interpreter, not the newest one.

(CPython's own client follows `interpreters.head`, the newest interpreter, and then either finds no main
thread there or runs the script inside the subinterpreter.)
"""

from __future__ import annotations

import uuid

import pytest
from attach_helpers import attach
from live_targets import SID, TargetPool, require

from core.inspect import inspect_process

TARGET = """\
import time
from concurrent import interpreters
sub = interpreters.create()
print("ready", sub.id, flush=True)
while True:
    time.sleep(0.01)
"""


@pytest.mark.parametrize("name", ["3.14", "3.15"])
def test_exec_goes_to_the_main_interpreter(targets: TargetPool, name: str) -> None:
    interp = require(name)
    target = targets.spawn(["chroot", str(SID), interp.argv0, "-c", TARGET], interp, ready=None)
    sub_id = int(target.wait_for("ready").split()[1])
    report = inspect_process(target.pid)
    ids = [i.id for i in report.interpreters]
    assert ids[0] == sub_id and 0 in ids  # the head is the newest interpreter
    marker = f"/tmp/subinterp-{uuid.uuid4().hex}"
    script = SID / "tmp" / f"subinterp-{uuid.uuid4().hex}.py"
    script.write_text(
        "from concurrent import interpreters\n"
        f"open({marker!r}, 'w').write(str(interpreters.get_current().id))\n"
    )
    try:
        _, outcome = attach(target.pid, f"/proc/{target.pid}/root/tmp/{script.name}")
        assert outcome.ok, (outcome.message, outcome.hint)
        assert (SID / marker.lstrip("/")).read_text() == "0"
        assert outcome.result["native_thread_id"] == target.pid
    finally:
        script.unlink(missing_ok=True)
        (SID / marker.lstrip("/")).unlink(missing_ok=True)
    assert target.alive()
