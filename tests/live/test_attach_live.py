"""The attach chain against live CPython targets: what a user sees (outcome, result fields, target alive)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from attach_helpers import SLEEP_THEN_RUN, Marker, attach, make_marker, request_state, wait_parked
from live_targets import SID, TargetPool, chroot_command, require
from repo_paths import REPO, TARGETS_DIR

from core.errors import FailureKind
from core.events import Plan, StepFinished, StepOutput, StepStatus
from core.requests import Method


@pytest.fixture
def marker() -> Iterator[Marker]:
    yield from make_marker()


def _finished(events: list[object], step: str) -> StepFinished:
    return next(e for e in events if isinstance(e, StepFinished) and e.step == step)


@pytest.mark.parametrize("name", ["3.14", "3.14d", "3.14-pie", "3.15"])
def test_exec_runs_and_is_confirmed(targets: TargetPool, marker: Marker, name: str) -> None:
    target = targets.spawn_script(require(name), "busy.py")
    base = SID / "tmp" / "safeattach-0"
    before = set(base.iterdir()) if base.exists() else set()
    events, outcome = attach(target.pid, marker.script())
    assert isinstance(events[0], Plan)
    assert outcome.ok, outcome.message
    assert outcome.result["ran"] is True
    assert outcome.result["native_thread_id"] == target.pid
    assert outcome.result["thread_name"] == "MainThread"
    assert outcome.result["thread_selection"] == "main"
    assert _finished(events, "threadState").detail["method"] == "main"
    assert set(outcome.result["steps_ms"]) >= {"openProcess", "writeScript", "writeBreaker", "awaitRun"}
    assert marker.host_file.read_text() == f"MainThread {target.pid}"
    assert target.alive()
    # nothing left behind in the target's /tmp by this attempt (an emptied base directory is removed too)
    assert (set(base.iterdir()) if base.exists() else set()) - before == set()


def test_embedded_interpreter_uses_enumeration(targets: TargetPool, marker: Marker) -> None:
    busy = (TARGETS_DIR / "busy.py").read_text()
    target = targets.spawn_embedded(busy)
    events, outcome = attach(target.pid, marker.script())
    assert outcome.ok, outcome.message
    assert outcome.result["thread_selection"] == "enumerate"
    lines = [e.text for e in events if getattr(e, "step", "") == "threadState" and hasattr(e, "text")]
    assert any("threads.main is NULL" in line for line in lines)
    assert marker.host_file.exists()
    assert target.alive()


def test_main_done_uses_enumeration_and_runs_in_worker(targets: TargetPool, marker: Marker) -> None:
    target = targets.spawn_script(require("3.14"), "main_done.py")
    _, outcome = attach(target.pid, marker.script())
    assert outcome.ok, outcome.message
    assert outcome.result["thread_selection"] == "enumerate"
    assert outcome.result["thread_name"] == "worker"
    assert marker.host_file.read_text().startswith("worker ")
    assert target.alive()


def test_many_threads(targets: TargetPool, marker: Marker) -> None:
    target = targets.spawn_script(require("3.14"), "many_threads.py")
    _, outcome = attach(target.pid, marker.script())
    assert outcome.ok, outcome.message
    assert outcome.result["native_thread_id"] == target.pid
    assert target.alive()


@pytest.mark.parametrize(
    ("env", "flags"),
    [({"PYTHON_DISABLE_REMOTE_DEBUG": "1"}, ()), ({}, ("-X", "disable-remote-debug"))],
    ids=["env", "xoption"],
)
@pytest.mark.parametrize("method", [Method.AUTO, Method.SAFE, Method.LEGACY])
def test_opted_out_target_is_refused(
    targets: TargetPool, marker: Marker, env: dict[str, str], flags: tuple[str, ...], method: Method
) -> None:
    target = targets.spawn_script(require("3.14"), "busy.py", env=env, python_flags=flags)
    events, outcome = attach(target.pid, marker.script(), method=method)
    assert not outcome.ok
    assert outcome.kind is FailureKind.POLICY_DISABLED
    assert outcome.failed_step == "policy"
    assert "opt" in outcome.hint
    assert not any(isinstance(e, StepFinished) and e.step == "legacyInject" and e.status is StepStatus.OK
                   for e in events)
    assert not marker.host_file.exists()
    assert request_state(target.pid).pending == 0
    assert target.alive()


def test_underscore_xoption_is_not_an_opt_out(targets: TargetPool, marker: Marker) -> None:
    target = targets.spawn_script(require("3.14"), "busy.py", python_flags=("-X", "disable_remote_debug"))
    events, outcome = attach(target.pid, marker.script())
    assert outcome.ok, outcome.message
    assert _finished(events, "policy").detail["remote_debugging_enabled"] is True
    assert marker.host_file.exists()


def test_blocked_target_times_out_cleanly_and_never_runs_it(targets: TargetPool, marker: Marker) -> None:
    interp = require("3.14")
    target = targets.spawn(chroot_command(interp.root, [interp.argv0, "-c", SLEEP_THEN_RUN, "6"]), interp)
    wait_parked(target.pid)
    before = request_state(target.pid)
    events, outcome = attach(target.pid, marker.script(), timeout=1.5, method=Method.SAFE)
    assert outcome.kind is FailureKind.TIMEOUT_RUN
    assert outcome.failed_step == "awaitRun"
    assert f"thread {target.pid} state S" in outcome.message
    # the outcome carries the stack of the thread it waited on: where it is parked
    assert "; it is in <module> at <string>:" in outcome.message
    (waited,) = outcome.result["stacks"]
    assert waited["native_thread_id"] == target.pid and waited["os_state"] == "S"
    assert [f["function"] for f in waited["frames"]] == ["<module>"] and waited["frames"][0]["line"] is not None
    await_lines = [e.text for e in events if getattr(e, "step", "") == "awaitRun" and hasattr(e, "text")]
    assert any(f"thread {target.pid} (chosen): state S" in line for line in await_lines)
    assert any("loader withdrawn" in line for line in await_lines)
    after = request_state(target.pid)
    assert after.pending == 0 and not after.please_stop_set
    assert after.path_buffer == before.path_buffer
    # the target wakes by itself, runs bytecode (eval-breaker checks) for a second, and never runs the script
    assert target.wait_for("woke", 15) == "woke"
    assert target.wait_for("done", 15) == "done"
    assert not marker.host_file.exists()
    assert target.alive()


def test_over_long_path_writes_nothing(targets: TargetPool, marker: Marker) -> None:
    from core.attach import FaultPlan

    target = targets.spawn_script(require("3.14"), "blocked.py")
    before = request_state(target.pid)
    events, outcome = attach(target.pid, marker.script(), faults=FaultPlan(pad_script_path=600))
    assert outcome.kind is FailureKind.WRITE_SCRIPT
    assert outcome.result["truncated"] is True
    assert _finished(events, "writeScript").detail["truncated"] is True
    assert request_state(target.pid) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a target as another uid")
def test_script_the_target_uid_cannot_read(targets: TargetPool, tmp_path: Path) -> None:
    interp = require("3.14")
    argv = ["chroot", "--userspec=65534:65534", str(interp.root), interp.argv0, "-c",
            (TARGETS_DIR / "busy.py").read_text()]
    target = targets.spawn(argv, interp)
    secret = tmp_path / "secret.py"
    secret.write_text("print('secret')\n")
    os.chmod(secret, 0o600)
    _, outcome = attach(target.pid, secret)
    assert outcome.kind is FailureKind.SCRIPT_UNREADABLE
    assert outcome.failed_step == "writeScript"
    assert "uid 65534" in outcome.message
    assert target.alive()
    # 0644, but inside root's 0700 directory: directory permissions count too
    os.chmod(secret, 0o644)
    _, outcome = attach(target.pid, secret)
    assert outcome.kind is FailureKind.SCRIPT_UNREADABLE
    assert "may not search the directory" in outcome.message and str(secret) in outcome.message
    # a readable script in searchable directories runs as that uid, staged in a private dir owned by it
    shared = Path(tempfile.mkdtemp(prefix="sa-readable-"))
    try:
        shared.chmod(0o755)
        readable = shared / "ok.py"
        readable.write_text("import os\nassert os.getuid() == 65534\n")
        readable.chmod(0o644)
        _, outcome = attach(target.pid, readable)
        assert outcome.ok, outcome.message
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_script_raising_is_reported(targets: TargetPool, tmp_path: Path) -> None:
    target = targets.spawn_script(require("3.14"), "busy.py")
    script = tmp_path / "bad.py"
    script.write_text("def f():\n    raise KeyError('nope')\nf()\n")
    _, outcome = attach(target.pid, script)
    assert outcome.kind is FailureKind.SCRIPT_FAILED
    assert outcome.result["ran"] is True
    assert outcome.result["exc_type"] == "KeyError"
    assert "nope" in outcome.result["exc_message"]
    assert "raise KeyError" in outcome.result["traceback"]
    assert target.alive()


@pytest.mark.parametrize("source", ["x = (1,\n", "def f():\n    raise KeyError('nope')\nf()\n"],
                         ids=["syntax-error", "raises"])
def test_errors_in_a_copied_script_name_the_users_file(targets: TargetPool, tmp_path: Path, source: str) -> None:
    """The chroot target cannot see the host's tmp_path, so it runs our private copy (script.py): the
    SyntaxError and the traceback still name the user's own path, with the user's source line."""
    target = targets.spawn_script(require("3.14"), "busy.py")
    script = tmp_path / "mine.py"
    script.write_text(source)
    events, outcome = attach(target.pid, script)
    assert any(isinstance(e, StepOutput) and "copied into the private directory" in e.text for e in events)
    assert outcome.kind is FailureKind.SCRIPT_FAILED, outcome
    tb = outcome.result["traceback"]
    assert f'File "{script}", line ' in tb, tb
    assert "script.py" not in tb and "script.py" not in outcome.message, tb
    if source.startswith("x"):
        assert outcome.result["exc_type"] == "SyntaxError" and "x = (1," in tb, tb
    else:
        assert outcome.result["exc_type"] == "KeyError" and "raise KeyError('nope')" in tb, tb
    assert target.alive()


@pytest.mark.parametrize("name", ["3.14", "3.15"])
def test_exec_leaves_the_targets_modules_as_they_were(targets: TargetPool, tmp_path: Path, name: str) -> None:
    """A fresh target's first exec of a copied script loads nothing into it but linecache (for the copy's lines
    under the user's path): no tokenize with re, enum and collections under it, no __future__, types, io or
    codec module. A script that declares an encoding goes through decode_source, and its traceback shows its
    own line."""
    target = targets.spawn_script(require(name), "sleepy_modules.py")
    plain = tmp_path / "plain.py"
    plain.write_text("import sys\nstart = sys.modules['__main__'].START_MODULES\n"
                     "raise RuntimeError(repr(sorted(set(sys.modules) - start)))\n")
    events, outcome = attach(target.pid, plain)
    assert any(isinstance(e, StepOutput) and "copied into the private directory" in e.text for e in events)
    assert outcome.kind is FailureKind.SCRIPT_FAILED, outcome
    assert outcome.result["exc_message"] in ("[]", "['linecache']"), outcome.result
    declared = tmp_path / "declared.py"
    declared.write_bytes("# -*- coding: latin-1 -*-\nraise KeyError('caf\u00e9')\n".encode("latin-1"))
    _, outcome = attach(target.pid, declared)
    assert outcome.kind is FailureKind.SCRIPT_FAILED, outcome
    assert "raise KeyError('caf\u00e9')" in outcome.result["traceback"], outcome.result["traceback"]
    assert target.alive()


def test_missing_script(targets: TargetPool, tmp_path: Path) -> None:
    target = targets.spawn_script(require("3.14"), "busy.py")
    _, outcome = attach(target.pid, tmp_path / "nope.py")
    assert outcome.kind is FailureKind.SCRIPT_UNREADABLE
    assert "does not exist" in outcome.message


def test_no_such_process() -> None:
    _, outcome = attach(2**22 + 12345, "/dev/null")
    assert outcome.kind is FailureKind.NO_SUCH_PROCESS
    assert outcome.failed_step == "openProcess"


def test_not_capable_safe_only(targets: TargetPool, marker: Marker) -> None:
    target = targets.spawn_script(require("3.13"), "busy.py")
    _, outcome = attach(target.pid, marker.script(), method=Method.SAFE)
    assert outcome.kind is FailureKind.NOT_CAPABLE
    assert outcome.failed_step == "policy"


def test_attempts_are_logged(targets: TargetPool, marker: Marker, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    from core.attach import run_attach
    from core.attemptlog import AttemptLog, read_attempts
    from core.requests import AttachRequest, CancelToken

    monkeypatch.setenv("SAFEATTACH_STATE_DIR", str(tmp_path / "state"))
    target = targets.spawn_script(require("3.14"), "busy.py")
    list(run_attach(AttachRequest(target.pid, script=str(marker.script())), CancelToken(), log=AttemptLog()))
    rec = read_attempts()[-1]
    assert rec["result"] == "ok" and rec["thread_selection"] == "main" and rec["target_version"].startswith("0x30e")
    assert [s["name"] for s in rec["steps"]][:3] == ["openProcess", "offsetsResolve", "parse"]
    assert "script" not in json.dumps(rec).replace('"thread_selection"', "")


# -- the engine run by a 3.14 client (inside the sid chroot) ---------------------------------------------
CLIENT_CODE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/deps"]
from core.attach import run_attach
from core.events import event_to_dict
from core.requests import AttachRequest, CancelToken
events = list(run_attach(AttachRequest(int(sys.argv[2]), script=sys.argv[3], timeout=10), CancelToken()))
print(json.dumps(event_to_dict(events[-1]), default=str))
"""


@pytest.fixture(scope="module")
def client_tree() -> Iterator[tuple[Path, str]]:
    """The project's core plus its deps, copied where the sid chroot's python3.14 can import them."""
    import construct
    import elftools
    import psutil

    name = f"sa-client-{os.getpid()}"  # per run: concurrent runs (other checkouts) must not share it
    host = SID / "tmp" / name
    shutil.rmtree(host, ignore_errors=True)
    shutil.copytree(REPO / "core", host / "core",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for mod in (construct, elftools, psutil):
        src = Path(mod.__file__).parent  # type: ignore[arg-type]
        shutil.copytree(src, host / "deps" / src.name, ignore=shutil.ignore_patterns("__pycache__"))
    try:
        yield host, f"/tmp/{name}"
    finally:
        shutil.rmtree(host, ignore_errors=True)


CLIENT_TARGETS = {
    "3.14": ("3.14", "busy.py", "main"),
    "3.14d": ("3.14d", "busy.py", "main"),
    "3.14-pie": ("3.14-pie", "busy.py", "main"),
    "3.15": ("3.15", "busy.py", "main"),
    "main_done": ("3.14", "main_done.py", "enumerate"),
    "embedded": (None, "busy.py", "enumerate"),
}


@pytest.mark.parametrize("case", list(CLIENT_TARGETS))
def test_engine_from_a_314_client(targets: TargetPool, marker: Marker, client_tree: tuple[Path, str],
                                  case: str) -> None:
    client = require("3.14")
    interp_name, script_name, selection = CLIENT_TARGETS[case]
    if interp_name is None:
        target = targets.spawn_embedded((TARGETS_DIR / script_name).read_text())
    else:
        target = targets.spawn_script(require(interp_name), script_name)
    script = marker.script()
    script_in_chroot = marker.target_dir + "/script.py"
    out = subprocess.run(
        chroot_command(client.root, [client.argv0, "-c", CLIENT_CODE, client_tree[1], str(target.pid),
                                     script_in_chroot]),
        capture_output=True, timeout=60, check=False, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
    )
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    outcome = json.loads(out.stdout.decode().strip().splitlines()[-1])
    assert outcome["ok"] is True, outcome
    assert outcome["result"]["thread_selection"] == selection
    # same file in the client's and the target's view: the target read it in place, nothing was copied
    assert outcome["result"]["payload"]["script"] == script_in_chroot
    assert script.exists() and marker.host_file.exists()
    assert target.alive()


# -- each thread-selection method on its own ------------------------------------------------------------
@pytest.mark.parametrize("method", ["main", "enumerate", "symbol", "scan"])
@pytest.mark.parametrize("name", ["3.14", "3.15"])
def test_each_thread_selection_method_finds_the_main_tstate(targets: TargetPool, name: str, method: str) -> None:
    from core.attach import select_thread
    from core.target import open_target

    target = targets.spawn_script(require(name), "busy.py")
    lines: list[str] = []
    with open_target(target.pid) as t:
        interp = next(i for i in t.interpreters() if i.is_main)
        choice = select_thread(t, interp, lines.append, methods=(method,))
        assert choice.method == method
        assert choice.tstate == interp.threads_main
        assert choice.native_thread_id == target.pid
    assert len(lines) == 1 and "chose thread" in lines[0]


def test_symbol_and_scan_find_a_live_tstate_without_threads_main(targets: TargetPool) -> None:
    from core.attach import select_thread
    from core.target import open_target

    target = targets.spawn_script(require("3.14"), "main_done.py")
    with open_target(target.pid) as t:
        interp = next(i for i in t.interpreters() if i.is_main)
        listed = set(t.thread_addresses(interp.address))
        for method in ("symbol", "scan"):
            try:
                choice = select_thread(t, interp, lambda _l: None, methods=(method,))
            except Exception as exc:  # the embedded main tstate may be gone: then "symbol" finds nothing
                assert method == "symbol", exc
                continue
            assert choice.tstate in listed


def test_auto_on_old_target_goes_to_legacy_step(targets: TargetPool, marker: Marker) -> None:
    """3.13 has no PEP 768: method auto injects the staged loader with ptrace (see test_legacy_chain_live)."""
    target = targets.spawn_script(require("3.13"), "busy.py")
    events, outcome = attach(target.pid, marker.script(), method=Method.AUTO)
    policy = _finished(events, "policy")
    assert policy.status is StepStatus.OK and policy.detail["pep768_capable"] is False
    assert _finished(events, "writeScript").status is StepStatus.SKIPPED
    legacy = _finished(events, "legacyInject")
    assert legacy.status is StepStatus.OK, legacy
    assert legacy.detail["safe_point"] == "pending call from the eval loop"  # busy.py never blocks
    assert _finished(events, "awaitRun").status is StepStatus.OK
    assert _finished(events, "legacyFallback").status is StepStatus.SKIPPED
    assert outcome.ok, outcome.message
    assert outcome.result["legacy"] is True and outcome.result["flags"] == ["legacy", "ptrace"]
    assert marker.host_file.read_text() == f"MainThread {target.pid}"
    assert target.alive()


def test_cli_exec_json_and_log(targets: TargetPool, marker: Marker, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli.attach import cmd_exec
    from app.cli.log import cmd_log
    from core.errors import exit_code_for

    monkeypatch.setenv("SAFEATTACH_STATE_DIR", str(tmp_path / "state"))
    target = targets.spawn_script(require("3.14"), "busy.py")
    assert cmd_exec(target.pid, str(marker.script()), 10.0, True) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["event"] == "Plan" and lines[-1]["event"] == "Outcome" and lines[-1]["ok"] is True
    code = cmd_exec(target.pid, str(tmp_path / "missing.py"), 10.0, True)
    assert code == exit_code_for(FailureKind.SCRIPT_UNREADABLE)
    capsys.readouterr()
    assert cmd_log(True, True) == 0
    logged = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["failure_kind"] for r in logged] == ["scriptUnreadable"]
