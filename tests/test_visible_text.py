"""Target-controlled text reaches a person's terminal with its control characters made visible; JSON keeps
it exact. Live: a target whose argv carries an OSC 52 clipboard write and a screen clear, whose main thread
has an escape in its name, and a script that raises with escapes in its message."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_targets import Target, TargetPool, chroot_command, require
from repo_paths import REPO

from app.render import rich as tui_render
from app.viewmodel import AttemptView, reduce
from core.errors import FailureKind
from core.events import Outcome, Plan, StepFinished, StepOutput, StepSpec, StepStatus
from core.model import ProcessSummary
from core.text import visible, visible_block

OSC52 = "\x1b]52;c;aGVsbG8gcm9vdA==\x07"
CLEAR = "\x1b[2J"
EVIL_NAME = "worker\x1b[31m\x9b2J"


@pytest.mark.parametrize(("raw", "shown"), [
    (OSC52, "\\x1b]52;c;aGVsbG8gcm9vdA==\\x07"),
    (CLEAR, "\\x1b[2J"),
    ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
    ("\x00\x7f\x9b\x85", "\\x00\\x7f\\x9b\\x85"),
    ("abc\u202egnp.exe", "abc\\u202egnp.exe"),
    ("\u2028", "\\u2028"),
    (os.fsdecode(b"bad\xffbyte"), "bad\\xffbyte"),
    ("plain é 中文 😀 ~!@#$%^&*()[]{}\\", "plain é 中文 😀 ~!@#$%^&*()[]{}\\"),
])
def test_visible(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_visible_block_keeps_newlines_only() -> None:
    assert visible_block("Traceback:\n  line\x1b[2J\r\nValueError: \x07") == \
        "Traceback:\n  line\\x1b[2J\nValueError: \\x07"


def _no_controls(text: str) -> None:
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text), repr(text)


def test_view_and_console_renderers_neutralise() -> None:
    view = AttemptView()
    for event in (
        Plan(1, "safe", "exec", (StepSpec("awaitRun", "Wait"),)),
        StepOutput("awaitRun", f"thread {EVIL_NAME}"),
        StepFinished("awaitRun", StepStatus.FAILED, 1.0, f"ran in thread {EVIL_NAME}", FailureKind.SCRIPT_FAILED,
                     "hint"),
        Outcome(False, 1, 1.0, f"the script raised ValueError: {OSC52}", FailureKind.SCRIPT_FAILED, "h",
                "awaitRun", {"traceback": f"Traceback\n  {CLEAR}\nValueError: {OSC52}", "exc_message": OSC52}),
    ):
        view = reduce(view, event)
    step = view.steps[0]
    _no_controls(step.message + "".join(step.output))
    assert "\\x1b[31m" in step.message
    text = tui_render.outcome_text(view).plain
    _no_controls(text)
    assert "\\x1b]52" in text and "Traceback\n" in text
    assert view.outcome is not None and view.outcome.result["exc_message"] == OSC52  # the event stays exact
    row = ProcessSummary(pid=1, user=f"u{CLEAR}", uid=0, cmdline=f"python3 {OSC52} {CLEAR}", start_time=0.0,
                         version=None, build=None, pep768_capable=False, remote_debug_enabled=None, container=False,
                         error=f"boom{CLEAR}")
    _no_controls(tui_render.command_cell(row).plain)
    _no_controls("".join(column[3](row).plain for column in tui_render.COLUMNS))


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "COLUMNS": "400", "LANG": "C.UTF-8",
           "SAFEATTACH_STATE_DIR": os.environ["SAFEATTACH_STATE_DIR"]}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, cwd=REPO, timeout=120, env=env)


EVIL_TARGET = f"""
import threading, time
threading.current_thread().name = {EVIL_NAME!r}
print("ready", flush=True)
while True:
    time.sleep(0.001)
    n = 0
    for i in range(100):
        n += i
"""


@pytest.fixture
def evil(targets: TargetPool) -> Target:
    interp = require("3.14")
    argv = chroot_command(interp.root, [interp.argv0, "-c", EVIL_TARGET, OSC52, CLEAR])
    return targets.spawn(argv, interp)


@pytest.fixture
def shared() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="sa-visible-"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _human_output_is_clean(out: subprocess.CompletedProcess[bytes]) -> str:
    both = out.stdout + out.stderr
    assert b"\x1b" not in both and b"\x07" not in both and b"\xc2\x9b" not in both, both[-2000:]
    return both.decode()


@pytest.mark.live
def test_ps_and_info_show_escapes_visibly(evil: Target) -> None:
    text = _human_output_is_clean(_cli("ps"))
    assert "\\x1b]52;c;aGVsbG8gcm9vdA==\\x07" in text and "\\x1b[2J" in text
    _human_output_is_clean(_cli("info", str(evil.pid)))
    rows = {r["pid"]: r for r in json.loads(_cli("ps", "--json").stdout)}
    assert OSC52 in rows[evil.pid]["cmdline"] and CLEAR in rows[evil.pid]["cmdline"]  # JSON stays exact
    info = json.loads(_cli("info", str(evil.pid), "--json").stdout)
    assert OSC52 in info["summary"]["cmdline"]


@pytest.mark.live
def test_exec_thread_name_and_exception_shown_visibly(evil: Target, shared: Path) -> None:
    script = shared / "raise.py"
    script.write_text(f"raise ValueError({OSC52 + CLEAR!r})\n")
    script.chmod(0o644)
    out = _cli("exec", str(evil.pid), str(script), "--method", "safe")
    assert out.returncode == 28, out
    text = _human_output_is_clean(out)
    assert "ValueError: \\x1b]52;c;" in text and "Traceback" in text
    ok = shared / "ok.py"
    ok.write_text("x = 1\n")
    ok.chmod(0o644)
    out = _cli("exec", str(evil.pid), str(ok), "--method", "safe")
    assert out.returncode == 0, out
    assert "worker\\x1b[31m\\x9b2J" in _human_output_is_clean(out)
    _human_output_is_clean(_cli("log"))
    events = [json.loads(line) for line in _cli("exec", str(evil.pid), str(script), "--json").stdout.splitlines()]
    assert events[-1]["result"]["exc_message"] == OSC52 + CLEAR  # JSON stays exact
    assert evil.alive()
