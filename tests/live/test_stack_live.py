"""`stack` against real targets of every provisioned interpreter, compared with `py-spy dump --json`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from live_targets import INTERPRETERS, TargetPool, require

from core.errors import FailureKind, SafeAttachError
from core.walk import ProcessStacks, snapshot


def snapshot_when(pid: int, settled: Callable[[ProcessStacks], bool], timeout: float = 10.0) -> ProcessStacks:
    """The first snapshot in which every thread has reached where the target parks it (a target prints
    "ready" a moment before its last thread gets there), or the last one read when `timeout` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        stacks = snapshot(pid)
        if settled(stacks) or time.monotonic() > deadline:
            return stacks
        time.sleep(0.01)


PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
PARKED = ("deep", "grüße", "blocked", "evil", "<module>")  # innermost functions of the parked threads
CLI = [sys.executable, "-m", "app.cli"]


def py_spy_dump(pid: int) -> list[dict[str, Any]]:
    if not os.path.exists(PY_SPY):
        pytest.fail(f"py-spy (a test dependency) is not installed at {PY_SPY}")
    out = subprocess.run([PY_SPY, "dump", "--json", "--pid", str(pid)], capture_output=True, text=True,
                         timeout=60, check=True)
    return list(json.loads(out.stdout))


def ours(stacks: ProcessStacks, tid: int) -> list[tuple[str, str, int | None]]:
    (thread,) = [t for t in stacks.threads if t.native_thread_id == tid]
    return [(f.qualname or f.function, f.filename, f.line) for f in thread.frames]


def theirs(thread: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    return [(f["name"], f["filename"], f["line"]) for f in thread["frames"]]


@pytest.mark.parametrize("name", list(INTERPRETERS))
def test_stacks_match_py_spy(targets: TargetPool, name: str) -> None:
    target = targets.spawn_script(require(name), "stacks.py")
    tasks = {int(t) for t in os.listdir(f"/proc/{target.pid}/task")}
    # the target runs while it is read: compare a thread only when our reads before and after py-spy's agree,
    # and retry (bounded) until every parked thread was compared
    compared: set[str] = set()
    for _ in range(5):
        before = snapshot(target.pid)
        spy = py_spy_dump(target.pid)
        after = snapshot(target.pid)
        assert not before.problems and {t.native_thread_id for t in before.threads} == tasks
        assert {t["os_thread_id"] for t in spy} == tasks
        for thread in spy:
            tid = thread["os_thread_id"]
            mine = ours(before, tid)
            if mine != ours(after, tid) or not mine or mine[0][0] not in PARKED:
                continue
            assert mine == theirs(thread), (name, tid)
            compared.add(mine[0][0])
        if compared == set(PARKED):
            break
    assert compared == set(PARKED), compared
    deep = next(t for t in before.threads if t.frames and t.frames[0].function == "deep")
    assert [f.function for f in deep.frames].count("deep") == 31
    main = next(t for t in before.threads if t.is_main)
    # the main thread sleeps in 0.5 s steps (and has just printed "ready"): running for a moment is real
    assert main.native_thread_id == target.pid and main.os_state in ("S", "R")
    assert all(t.partial is None for t in before.threads)
    assert target.alive()


def test_opted_out_target_is_readable(targets: TargetPool) -> None:
    target = targets.spawn_script(require("3.14"), "stacks.py", env={"PYTHON_DISABLE_REMOTE_DEBUG": "1"})
    stacks = snapshot(target.pid)
    assert len(stacks.threads) == 5 and not stacks.partial
    assert {t.frames[0].function for t in stacks.threads} == set(PARKED)


def test_embedded_program(targets: TargetPool) -> None:
    code = "import time\ndef parked():\n    while True:\n        time.sleep(0.5)\n        time.sleep(0.5)\n" \
           "print('ready', flush=True)\nparked()\n"
    target = targets.spawn_embedded(code)
    # (py-spy 0.4.3 cannot read this one: it looks for libpython3.14.so outside the chroot, ENOENT)
    stacks = snapshot_when(target.pid, lambda s: bool(s.threads and s.threads[0].frames)
                           and s.threads[0].frames[0].function == "parked")
    (thread,) = stacks.threads
    assert [(f.function, f.line) for f in thread.frames][:1] in ([("parked", 4)], [("parked", 5)])
    assert thread.frames[-1].function == "<module>"


def test_cli_json_and_text(targets: TargetPool) -> None:
    target = targets.spawn_script(require("3.13"), "stacks.py")
    out = subprocess.run([*CLI, "stack", str(target.pid), "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["pid"] == target.pid and data["partial"] is False and len(data["threads"]) == 5
    evil = next(t for t in data["threads"] if t["frames"] and t["frames"][0]["function"] == "evil")
    assert evil["frames"][0]["filename"] == "evil\x1b[2J\nname.py"  # JSON stays exact
    text = subprocess.run([*CLI, "stack", str(target.pid)], capture_output=True, text=True, timeout=60)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "\x1b" not in text.stdout and "evil\\x1b[2J\\nname.py" in text.stdout
    assert any(line.strip().startswith("grüße (<string>:") for line in lines)


def test_cli_bad_pids(targets: TargetPool) -> None:
    missing = subprocess.run([*CLI, "stack", "999999999"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 10 and "Traceback" not in missing.stderr
    sleeper = targets.spawn(["sleep", "30"], ready=None)
    not_python = subprocess.run([*CLI, "stack", str(sleeper.pid)], capture_output=True, text=True, timeout=60)
    assert not_python.returncode == 13 and "Traceback" not in not_python.stderr
    zombie = targets.spawn(["true"], ready=None)
    zombie.proc.stdout.read()  # type: ignore[union-attr]  # EOF: it has exited, not reaped yet
    for _ in range(100):
        if Path(f"/proc/{zombie.pid}/stat").read_text().split(") ")[1][0] == "Z":
            break
        os.sched_yield()
    dead = subprocess.run([*CLI, "stack", str(zombie.pid), "--json"], capture_output=True, text=True, timeout=60)
    assert dead.returncode in (10, 12) and json.loads(dead.stdout)["error"]["kind"] in ("noSuchProcess",
                                                                                        "processExited")


def test_process_gone_is_typed() -> None:
    with pytest.raises(SafeAttachError) as info:
        snapshot(999999999)
    assert info.value.kind is FailureKind.NO_SUCH_PROCESS


EXPECTED_LOCALS = {
    "arg": "'argument'", "none": "None", "yes": "True", "no": "False", "small": "42", "negative": "-7",
    "big": str(2**70), "huge": "int (too large to show)", "ratio": "2.5", "text": "'hello'", "wide": "'grüße ☃'",
    "raw": "b'\\x00ab'", "items": "list (3 items)", "pair": "tuple (2 items)", "table": "dict (2 items)",
    "bag": "set (4 items)", "other": "<object>",
}


@pytest.mark.parametrize("name", list(INTERPRETERS))
def test_locals(targets: TargetPool, name: str) -> None:
    target = targets.spawn_script(require(name), "locals.py")
    (thread,) = snapshot(target.pid, with_locals=True).threads
    frame = thread.frames[0]
    assert frame.function == "parked" and frame.locals is not None
    assert {v.name: v.value for v in frame.locals} == EXPECTED_LOCALS
    out = subprocess.run([*CLI, "stack", str(target.pid), "--locals", "--json"], capture_output=True, text=True,
                         timeout=60)
    frames = json.loads(out.stdout)["threads"][0]["frames"]
    assert {v["name"]: v["value"] for v in frames[0]["locals"]} == EXPECTED_LOCALS


@pytest.mark.parametrize("name", ["3.11", "3.14"])
def test_changing_stacks_never_crash(targets: TargetPool, name: str) -> None:
    """4 threads spin in Python while they are read: every snapshot completes, threads whose frames changed
    under the walk are marked partial, and the parked ones are always whole."""
    target = targets.spawn_script(require(name), "many_threads.py")
    for _ in range(40):
        stacks = snapshot(target.pid)
        assert len(stacks.threads) == 9 and not stacks.problems
        for t in stacks.threads:
            assert t.frames or t.partial, t
            if t.frames and t.frames[0].function == "nap" and t.partial is None:
                assert [f.function for f in t.frames][-1] == "_bootstrap"
    assert target.alive()


SUBINTERPRETER = """\
import threading
import time
from concurrent import interpreters
sub = interpreters.create()
CODE = '''
import time
def parked_in_sub():
    print("ready", flush=True)
    while True:
        time.sleep(0.5)
        time.sleep(0.5)
parked_in_sub()
'''
def run():
    sub.exec(CODE)
threading.Thread(target=run, daemon=True).start()
while True:
    time.sleep(0.5)
    time.sleep(0.5)
"""


@pytest.mark.parametrize("name", ["3.14", "3.15"])
def test_every_interpreter(targets: TargetPool, name: str) -> None:
    interp = require(name)
    target = targets.spawn(["chroot", str(interp.root), interp.argv0, "-c", SUBINTERPRETER], interp)
    stacks = snapshot_when(target.pid, lambda s: any(t.is_main and [f.function for f in t.frames] == ["<module>"]
                                                     for t in s.threads))
    by_interp: dict[int, list[list[str]]] = {}
    for t in stacks.threads:
        by_interp.setdefault(t.interpreter_id, []).append([f.function for f in t.frames])
    assert set(by_interp) == {0, 1}, by_interp
    assert by_interp[1] == [["parked_in_sub", "<module>"]]
    assert ["<module>"] in by_interp[0] and any(frames[:2] == ["exec", "run"] for frames in by_interp[0])
    # the worker thread has a thread state in each interpreter
    tids = [t.native_thread_id for t in stacks.threads]
    assert len(tids) == 3 and len(set(tids)) == 2
