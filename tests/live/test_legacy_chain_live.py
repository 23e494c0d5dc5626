"""The legacy strategy inside the attach chain, against live targets: automatic ptrace injection on
3.9-3.13, fallback from a blocked 3.14 target, consent for opted-out targets, gdb only on request and only
when its health probe passed, and targets that survive (alive, not stopped, heartbeat advancing)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from attach_helpers import SLEEP_THEN_RUN, SharedDir, request_state, wait_parked
from live_targets import IN_CI, Interpreter, Target, TargetPool, chroot_command, require
from repo_paths import REPO, TARGETS_DIR

from core.attach import run_attach
from core.attemptlog import AttemptLog
from core.errors import FailureKind
from core.events import Event, Outcome, Plan, StepFinished, StepOutput, StepStatus
from core.inject.gdb import gdb_available
from core.inject.safe_point import process_state
from core.requests import AttachRequest, CancelToken, Injector, Method

needs_gdb = pytest.mark.skipif(gdb_available() is None and not IN_CI, reason="gdb is not installed")

CLI = [sys.executable, "-m", "app.cli"]
OPT_OUTS = {"env": ({"PYTHON_DISABLE_REMOTE_DEBUG": "1"}, ()), "xoption": ({}, ("-X", "disable-remote-debug"))}


class Ran(SharedDir):
    """A script that appends one line per run to a file the test reads through the target's root."""

    def script(self) -> str:
        return str(self.write_script(
            "import os, sys\n"
            f"with open({self.target_dir + '/ran'!r}, 'a') as f:\n"
            "    f.write('%d %d.%d\\n' % (os.getpid(), sys.version_info[0], sys.version_info[1]))\n"
        ))

    def lines(self) -> list[str]:
        try:
            return (self.host_dir / "ran").read_text().splitlines()
        except FileNotFoundError:
            return []


@pytest.fixture
def ran_in() -> Iterator[Any]:
    made: list[Path] = []

    def make(interp: Interpreter) -> Ran:
        ran = Ran.create(interp.root, "sa-legacy")
        made.append(ran.host_dir)
        return ran

    yield make
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def fake_gdb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `gdb` first on PATH that notes every start, then runs the real gdb. Returns the note file."""
    real = shutil.which("gdb")
    assert real is not None
    bindir, note = tmp_path / "bin", tmp_path / "gdb-started"
    bindir.mkdir()
    wrapper = bindir / "gdb"
    wrapper.write_text(f'#!/bin/sh\necho "$$" >> {note}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    return note


def engine(pid: int, script: str, *, method: Method = Method.AUTO, timeout: float = 10.0,
           allow: bool = False, log: AttemptLog | None = None,
           injector: Injector = Injector.PTRACE) -> tuple[list[Event], Outcome]:
    req = AttachRequest(pid, script=script, method=method, timeout=timeout, allow_opted_out_legacy=allow,
                        injector=injector)
    events = list(run_attach(req, CancelToken(), log=log))
    assert isinstance(events[0], Plan) and isinstance(events[-1], Outcome)
    return events, events[-1]


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, list[dict[str, Any]], str]:
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, cwd=REPO,
                          env=env if env is not None else dict(os.environ))
    return proc.returncode, [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")], proc.stderr


def finished(events: list[Event], step: str) -> StepFinished:
    return next(e for e in events if isinstance(e, StepFinished) and e.step == step)


def outputs(events: list[Event], step: str) -> list[str]:
    return [e.text for e in events if isinstance(e, StepOutput) and e.step == step]


def assert_survives(target: Target) -> None:
    """Still running, not stopped, and still printing its heartbeat (sleepy.py) after the attach."""
    assert target.alive()
    assert process_state(target.pid) not in ("t", "T", None)
    ticks = [int(target.wait_for("tick ", 5.0).split()[1]) for _ in range(3)]
    assert ticks == [ticks[0], ticks[0] + 1, ticks[0] + 2]
    assert process_state(target.pid) not in ("t", "T", None)


# -- automatic legacy injection on targets without PEP 768 -------------------------------------------------


@pytest.mark.parametrize("name", ["3.9", "3.11", "3.13", "3.13d"])
def test_auto_exec_on_old_target_injects_with_ptrace_not_gdb(targets: TargetPool, ran_in: Any, tmp_path: Path,
                                                             fake_gdb: Path, name: str) -> None:
    interp = require(name)
    ran = ran_in(interp)
    target = targets.spawn_script(interp, "sleepy.py")
    log = AttemptLog(tmp_path / "attempts.jsonl")
    events, outcome = engine(target.pid, ran.script(), log=log)
    assert outcome.ok, (outcome.message, outcome.hint, outcome.result)
    assert ran.lines() == [f"{target.pid} {interp.version[0]}.{interp.version[1]}"]
    plan = events[0]
    assert isinstance(plan, Plan)
    assert [s.name for s in plan.steps][-4:] == ["legacyInject", "awaitRun", "legacyFallback", "legacyAwait"]
    policy = finished(events, "policy")
    assert policy.detail["pep768_capable"] is False and policy.detail["opted_out"] is False
    for step in ("threadState", "writeScript", "writePending", "writeBreaker", "legacyFallback", "legacyAwait"):
        assert finished(events, step).status is StepStatus.SKIPPED, step
    inject = finished(events, "legacyInject")
    assert inject.status is StepStatus.OK, inject
    assert inject.detail["safe_point"].startswith(("thread parked in ", "pending call"))  # 3.9 sleeps in select
    assert set(inject.detail["phases_ms"]) == {"stopped", "total"} and inject.detail["injector"] == "ptrace"
    assert any("detached" in line for line in outputs(events, "legacyInject"))
    awaited = finished(events, "awaitRun")
    assert awaited.status is StepStatus.OK and "target alive and running" in awaited.message, awaited.message
    assert any(line.startswith("check: target alive") for line in outputs(events, "awaitRun"))
    assert outcome.result["legacy"] is True and outcome.result["flags"] == ["legacy", "ptrace"]
    assert outcome.result["native_thread_id"] == target.pid
    assert not fake_gdb.exists()  # the default path never starts gdb
    (record,) = log.read()[0]
    assert (record["method"], record["result"], record["flags"]) == ("auto", "ok", ["legacy", "ptrace"])
    assert [s["name"] for s in record["steps"] if s["status"] == "ok"][-2:] == ["legacyInject", "awaitRun"]
    assert_survives(target)


def test_cli_exec_auto_on_313_and_log(targets: TargetPool, ran_in: Any) -> None:
    interp = require("3.13")
    ran = ran_in(interp)
    target = targets.spawn_script(interp, "sleepy.py")
    code, events, _ = cli("exec", str(target.pid), ran.script(), "--json")
    assert code == 0, events[-1]
    assert events[-1]["ok"] is True and events[-1]["result"]["legacy"] is True
    assert ran.lines() == [f"{target.pid} 3.13"]
    code, records, _ = cli("log", "--json")
    assert code == 0
    assert (records[-1]["pid"], records[-1]["method"], records[-1]["flags"]) == (target.pid, "auto",
                                                                                 ["legacy", "ptrace"])
    assert_survives(target)


# -- fallback: safe attach cannot reach a safe point, gdb can ----------------------------------------------


@pytest.mark.parametrize("name", ["3.14", "3.15"])
def test_blocked_314_falls_back_to_ptrace_and_runs_exactly_once(targets: TargetPool, ran_in: Any,
                                                                tmp_path: Path, name: str) -> None:
    interp = require(name)
    ran = ran_in(interp)
    target = targets.spawn(chroot_command(interp.root, [interp.argv0, "-c", SLEEP_THEN_RUN, "8"]), interp)
    wait_parked(target.pid)  # the only thread sits in clock_nanosleep: PEP 768 cannot run anything
    before = request_state(target.pid)
    log = AttemptLog(tmp_path / "attempts.jsonl")
    events, outcome = engine(target.pid, ran.script(), timeout=1.5, log=log)
    assert outcome.ok, (outcome.message, outcome.result)
    assert ran.lines() == [f"{target.pid} {name}"]
    for step in ("threadState", "writeScript", "writePending", "writeBreaker"):
        assert finished(events, step).status is StepStatus.OK, step
    assert finished(events, "legacyInject").status is StepStatus.SKIPPED
    safe = finished(events, "awaitRun")
    assert safe.status is StepStatus.FAILED and safe.kind is FailureKind.TIMEOUT_RUN
    fallback = finished(events, "legacyFallback")
    assert fallback.status is StepStatus.OK, fallback
    assert fallback.detail["fallback_from"] == "timeoutRun"
    assert fallback.detail["safe_point"] == "thread parked in clock_nanosleep"
    lines = outputs(events, "legacyFallback")
    assert any("request was withdrawn" in line for line in lines)
    assert any(line.startswith("rollback:") for line in lines)
    assert finished(events, "legacyAwait").status is StepStatus.OK
    assert outcome.result["flags"] == ["legacy_fallback", "legacy", "ptrace"]
    assert "target alive and running" in finished(events, "legacyAwait").message
    assert set(outcome.result["steps_ms"]) >= {"awaitRun", "legacyFallback", "legacyAwait"}
    (record,) = log.read()[0]
    assert record["result"] == "ok" and record["flags"] == ["legacy_fallback", "legacy", "ptrace"]
    # the withdrawn PEP 768 request is gone: the target holds exactly what it held before
    after = request_state(target.pid)
    assert after == before
    # the thread wakes, runs bytecode (where a stale request would fire), and the script did not run again
    target.wait_for("woke", 15.0)
    target.wait_for("done", 15.0)
    assert ran.lines() == [f"{target.pid} {name}"]
    assert target.alive() and process_state(target.pid) not in ("t", "T", None)


def test_safe_method_on_blocked_314_does_not_fall_back(targets: TargetPool, ran_in: Any, fake_gdb: Path) -> None:
    interp = require("3.14")
    ran = ran_in(interp)
    target = targets.spawn_script(interp, "blocked.py")
    wait_parked(target.pid)
    events, outcome = engine(target.pid, ran.script(), method=Method.SAFE, timeout=1.0)
    assert outcome.kind is FailureKind.TIMEOUT_RUN and outcome.failed_step == "awaitRun"
    assert "legacyFallback" not in [s.name for s in events[0].steps]  # type: ignore[union-attr]
    assert not fake_gdb.exists()
    assert ran.lines() == []
    assert target.alive()


def test_314_busy_target_runs_safely_and_skips_the_fallback(targets: TargetPool, ran_in: Any,
                                                            fake_gdb: Path) -> None:
    interp = require("3.14")
    ran = ran_in(interp)
    target = targets.spawn_script(interp, "sleepy.py")
    events, outcome = engine(target.pid, ran.script())
    assert outcome.ok and outcome.result["legacy"] is False and outcome.result["flags"] == []
    for step in ("legacyInject", "legacyFallback", "legacyAwait"):
        assert finished(events, step).status is StepStatus.SKIPPED
    assert finished(events, "legacyFallback").message == "not needed: safe attach ran it"
    assert not fake_gdb.exists()
    assert ran.lines() == [f"{target.pid} 3.14"]
    assert_survives(target)


# -- consent ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["env", "xoption"])
def test_opted_out_314_refused_automatically_and_overridden_explicitly(
    targets: TargetPool, ran_in: Any, fake_gdb: Path, tmp_path: Path, how: str
) -> None:
    interp = require("3.14")
    ran = ran_in(interp)
    env, flags = OPT_OUTS[how]
    target = targets.spawn_script(interp, "sleepy.py", env=env, python_flags=flags)
    # auto: refused at policy, no gdb ever started
    code, events, _ = cli("exec", str(target.pid), ran.script(), "--json")
    assert code == 20
    out = events[-1]
    assert (out["kind"], out["failed_step"]) == ("policyDisabled", "policy")
    assert "--allow-opted-out" in out["hint"]
    assert not fake_gdb.exists()
    # --method legacy without consent: refused the same way, the hint names the flag
    code, events, _ = cli("exec", str(target.pid), ran.script(), "--method", "legacy", "--json")
    assert code == 20 and "--method legacy --allow-opted-out" in events[-1]["hint"]
    assert not fake_gdb.exists()
    assert ran.lines() == []
    # explicit consent: injected (ptrace, no gdb) and logged as an override
    code, events, _ = cli("exec", str(target.pid), ran.script(), "--method", "legacy", "--allow-opted-out",
                          "--json")
    assert code == 0, events[-1]
    assert not fake_gdb.exists()
    assert ran.lines() == [f"{target.pid} 3.14"]
    policy = next(e for e in events if e["event"] == "StepFinished" and e["step"] == "policy")
    assert policy["detail"]["override_used"] is True
    assert ("memory" in policy["detail"]["opt_out_sources"]) and (
        ("environ" in policy["detail"]["opt_out_sources"]) is (how == "env"))
    code, records, _ = cli("log", "--json")
    assert [r["result"] for r in records] == ["failed", "failed", "ok"]
    assert records[-1]["method"] == "legacy" and "override_used" in records[-1]["flags"]
    assert "override_used" not in records[0]["flags"]
    assert_survives(target)


def test_environment_opt_out_is_honoured_on_313(targets: TargetPool, ran_in: Any, fake_gdb: Path) -> None:
    """3.13 has no opt-out of its own; PYTHON_DISABLE_REMOTE_DEBUG in /proc/PID/environ is one."""
    interp = require("3.13")
    ran = ran_in(interp)
    target = targets.spawn_script(interp, "sleepy.py", env={"PYTHON_DISABLE_REMOTE_DEBUG": ""})
    events, outcome = engine(target.pid, ran.script())
    assert outcome.kind is FailureKind.POLICY_DISABLED and outcome.failed_step == "policy"
    assert "PYTHON_DISABLE_REMOTE_DEBUG in its environment" in outcome.message
    assert finished(events, "policy").detail["opt_out_sources"] == ["environ"]
    assert not fake_gdb.exists() and ran.lines() == []
    _, outcome = engine(target.pid, ran.script(), method=Method.LEGACY, allow=True)
    assert outcome.ok, outcome.message
    assert outcome.result["flags"] == ["override_used", "legacy", "ptrace"]
    assert ran.lines() == [f"{target.pid} 3.13"]
    assert_survives(target)


def test_override_is_ignored_by_method_auto(targets: TargetPool, ran_in: Any, fake_gdb: Path) -> None:
    interp = require("3.14")
    ran = ran_in(interp)
    target = targets.spawn_script(interp, "sleepy.py", env={"PYTHON_DISABLE_REMOTE_DEBUG": "1"})
    _, outcome = engine(target.pid, ran.script(), allow=True)
    assert outcome.kind is FailureKind.POLICY_DISABLED
    assert not fake_gdb.exists() and ran.lines() == []


# -- gdb failures ----------------------------------------------------------------------------------------


def test_no_gdb_installed_default_works_and_gdb_injector_is_exit_40(targets: TargetPool, ran_in: Any,
                                                                     tmp_path: Path) -> None:
    interp = require("3.11")
    ran = ran_in(interp)
    target = targets.spawn_script(interp, "sleepy.py")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    no_gdb = {**os.environ, "PATH": str(empty)}
    code, events, _ = cli("exec", str(target.pid), ran.script(), "--json", env=no_gdb)
    assert code == 0, events[-1]
    assert ran.lines() == [f"{target.pid} 3.11"]
    code, events, _ = cli("exec", str(target.pid), ran.script(), "--injector", "gdb", "--json", env=no_gdb)
    assert code == 40
    out = events[-1]
    assert (out["kind"], out["failed_step"]) == ("gdbMissing", "legacyInject")
    assert "gdb" in out["message"] and "install" in out["hint"]
    inject = next(e for e in events if e["event"] == "StepFinished" and e["step"] == "legacyInject")
    assert inject["status"] == "failed" and inject["kind"] == "gdbMissing"
    assert ran.lines() == [f"{target.pid} 3.11"]
    assert_survives(target)


def test_symbol_not_found_on_a_non_python_process(targets: TargetPool, ran_in: Any) -> None:
    """`--method legacy` against a process with no CPython: refused before gdb (not Python) — a typed error."""
    interp = require("3.11")
    ran = ran_in(interp)
    target = targets.spawn(["sh", "-c", "echo ready; exec sleep 60"])
    code, events, _ = cli("exec", str(target.pid), ran.script(), "--method", "legacy", "--json")
    out = events[-1]
    assert out["ok"] is False and code == {"notPython": 13, "symbolNotFound": 42}[out["kind"]]
    assert out["hint"]
    assert target.alive()


# -- debugpy through the legacy path: full DAP sessions --------------------------------------------------


@pytest.fixture
def dap_session(targets: TargetPool, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from debugpy_attach import Session
    from live_targets import CACHE

    monkeypatch.setenv("SAFEATTACH_CACHE_DIR", str(CACHE / "cache"))  # debugpy 1.8.21 for 3.9 (provision.sh)
    s = Session(targets)
    try:
        yield s
    finally:
        s.close()


@pytest.mark.parametrize("name", ["3.9", "3.11", "3.13", "3.13d"])
def test_debugpy_through_the_legacy_chain_full_dap_session(dap_session: Any, name: str) -> None:
    from debugpy_attach import drive_session, engine_attach

    from core.dap.dist import local_debugpy
    from core.dap.releases import OLD_RELEASE

    target, program = dap_session.spawn(name)
    events, outcome = engine_attach(dap_session, target.pid)
    assert outcome.ok, (outcome.message, outcome.hint, outcome.result)
    assert finished(events, "legacyInject").status is StepStatus.OK
    assert finished(events, "debugpyReady").status is StepStatus.OK
    assert outcome.result["legacy"] is True and outcome.result["flags"] == ["legacy", "ptrace"]
    expected = OLD_RELEASE if name == "3.9" else local_debugpy().version
    assert outcome.result["debugpy"]["version"] == expected
    if name == "3.9":
        assert any(f"using debugpy {OLD_RELEASE}" in line for line in outputs(events, "legacyInject"))
    connect = outcome.result["connect"]
    drive_session(int(connect["port"]), program, target, host=str(connect["host"]))


def test_debugpy_on_39_without_the_legacy_release_says_how_to_get_it(
    dap_session: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_gdb: Path
) -> None:
    from debugpy_attach import engine_attach

    monkeypatch.setenv("SAFEATTACH_CACHE_DIR", str(tmp_path / "empty-cache"))
    target, _ = dap_session.spawn("3.9")
    _, outcome = engine_attach(dap_session, target.pid)
    assert outcome.kind is FailureKind.UNSUPPORTED_VERSION and outcome.failed_step == "legacyInject"
    assert "1.8.21" in outcome.message
    assert "pip install" in outcome.hint and str(tmp_path / "empty-cache") in outcome.hint
    assert not fake_gdb.exists()  # refused before gdb started
    assert target.alive()


def test_ptrace_denied_when_already_traced(targets: TargetPool, ran_in: Any) -> None:
    """A target under strace cannot take a second tracer: ptraceDenied, exit 41, a hint naming the tracer."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    interp = require("3.11")
    ran = ran_in(interp)
    target = targets.spawn(["strace", "-qq", "-o", "/dev/null", "-e", "trace=none", interp.argv0, "-c",
                            (TARGETS_DIR / "sleepy.py").read_text()], interp)
    pid = next(int(p) for p in Path(f"/proc/{target.pid}/task/{target.pid}/children").read_text().split())
    code, events, _ = cli("exec", str(pid), ran.script(), "--json")
    out = events[-1]
    assert (code, out["kind"], out["failed_step"]) == (41, "ptraceDenied", "legacyInject")
    assert f"already traced by PID {target.pid}" in out["hint"]
    assert ran.lines() == []
    assert_survives(target)  # the heartbeat comes through strace's child


def test_a_target_held_in_a_tracing_stop_by_its_tracer_is_ptrace_denied(targets: TargetPool, ran_in: Any) -> None:
    """Under strace a target spends much of its time in tracing stops; one caught there is reported as traced
    by another (ptraceDenied, exit 41, the tracer named), not as stopped. Here the test holds the tracing stop
    itself, so the case is seen every time."""
    import time

    from core.inject import ptrace

    interp = require("3.11")
    ran = ran_in(interp)
    target = targets.spawn_script(interp, "sleepy.py")
    ptrace.seize(target.pid)
    try:
        ptrace.interrupt(target.pid)
        assert ptrace.wait_stop(target.pid, time.monotonic() + 10) is not None
        assert process_state(target.pid) == "t"
        code, events, _ = cli("exec", str(target.pid), ran.script(), "--json")
        out = events[-1]
        assert (code, out["kind"], out["failed_step"]) == (41, "ptraceDenied", "legacyInject"), out["message"]
        assert f"already traced by PID {os.getpid()}" in out["hint"]
        assert process_state(target.pid) == "t"  # nothing touched it: still in our tracing stop
    finally:
        ptrace.detach(target.pid)
    assert ran.lines() == []
    assert_survives(target)


# -- gdb only on request, and only when healthy ---------------------------------------------------------


def failing_gdb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `gdb` that fails every inferior call the way Debian's gdb 13.1 does on AMX hosts; it logs its argv."""
    bindir, note = tmp_path / "amx-bin", tmp_path / "gdb-argv"
    bindir.mkdir()
    wrapper = bindir / "gdb"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {note}\n'
                       "echo \"Couldn't write extended state status: Bad address.\" >&2\nexit 1\n")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("SAFEATTACH_CACHE_DIR", str(tmp_path / "cache"))
    return note


def test_unhealthy_gdb_is_refused_before_the_target_is_touched(targets: TargetPool, ran_in: Any, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    note = failing_gdb(tmp_path, monkeypatch)
    interp = require("3.13")
    ran = ran_in(interp)
    target = targets.spawn_script(interp, "sleepy.py")
    code, events, _ = cli("exec", str(target.pid), ran.script(), "--injector", "gdb", "--json")
    out = events[-1]
    assert (code, out["kind"], out["failed_step"]) == (45, "gdbUnhealthy", "legacyInject")
    assert "Couldn't write extended state status" in out["message"] and "--injector ptrace" in out["hint"]
    probes = note.read_text().splitlines()
    assert len(probes) == 1 and f"-p {target.pid} " not in probes[0] + " "  # only our throwaway process
    # the verdict is cached per gdb build, kernel and CPU: the next attempt does not probe again
    code, events, _ = cli("exec", str(target.pid), ran.script(), "--injector", "gdb", "--json")
    assert code == 45 and len(note.read_text().splitlines()) == 1
    assert ran.lines() == []
    assert_survives(target)


@needs_gdb
@pytest.mark.parametrize("name", ["3.11", "3.13"])
def test_gdb_injector_on_request_works_when_healthy_and_is_refused_when_not(
    targets: TargetPool, ran_in: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """This machine's real gdb: its probe decides (on AMX hosts with gdb 13.1 it fails); either way the
    target survives, and a refusal comes before gdb ever attaches to it."""
    from core.inject.gdb.health import gdb_health

    monkeypatch.setenv("SAFEATTACH_CACHE_DIR", str(tmp_path / "cache"))
    gdb = gdb_available()
    assert gdb is not None
    health = gdb_health(gdb)
    interp = require(name)
    ran = ran_in(interp)
    target = targets.spawn_script(interp, "sleepy.py")
    events, outcome = engine(target.pid, ran.script(), method=Method.LEGACY, injector=Injector.GDB)
    if health.healthy:
        assert outcome.ok, (outcome.message, outcome.hint)
        assert outcome.result["flags"] == ["legacy", "gdb"]
        assert ran.lines() == [f"{target.pid} {name}"]
        assert "target alive and running" in finished(events, "awaitRun").message
    else:
        assert outcome.kind is FailureKind.GDB_UNHEALTHY and health.reason in outcome.message
        assert ran.lines() == []
    assert_survives(target)


def test_a_target_that_dies_is_reported_as_target_died_and_logged(targets: TargetPool, ran_in: Any,
                                                                  tmp_path: Path) -> None:
    """The script ends the process before its loader can report: said plainly (exit 44), logged, no retry."""
    interp = require("3.13")
    ran = ran_in(interp)
    target = targets.spawn_script(interp, "sleepy.py")
    script = ran.write_script("import os\nos._exit(3)\n")
    env = {**os.environ, "SAFEATTACH_STATE_DIR": str(tmp_path / "state")}
    code, events, _ = cli("exec", "--method", "legacy", str(target.pid), str(script), "--json", env=env)
    out = events[-1]
    assert (code, out["kind"], out["failed_step"]) == (44, "targetDied", "awaitRun"), out
    assert "died" in out["message"] and "will not retry" in out["hint"]
    assert target.proc.wait(timeout=10) == 3
    code, records, _ = cli("log", "--json", env=env)
    assert records[-1]["result"] == "failed" and "target_died" in records[-1]["flags"]
    assert sum(1 for e in events if e.get("event") == "StepStarted" and e.get("step") == "legacyInject") == 1
