"""The CLI's JSON commands (exec, info, stack, attach) on a real 3.14 target stay light: no rich or textual ever,
and once the binary's ELF facts are cached, neither pyelftools nor construct nor psutil."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_imports import HOT_PATH_BUDGET, HOT_PATH_NEVER, UI, cli_imports, cli_run, roots
from debugpy_attach import Session, outcome_from
from live_targets import SID

from core.dap.dist import install_into_root


@pytest.mark.parametrize("command", ["exec", "info", "stack"])
def test_warm_json_commands_on_a_live_target_stay_light(tmp_path: Path, command: str) -> None:
    """On a real 3.14 target: no rich, no textual, ever; and once the binary's ELF facts are cached, neither
    pyelftools nor construct (nor psutil, which only `ps` needs), none of HOT_PATH_NEVER, no ctypes (exec
    writes through /proc/PID/mem), no queue and no contextlib, within a module budget."""
    from live_targets import SID, TargetPool, require

    interp = require("3.14")
    pool = TargetPool()
    script = SID / "tmp" / f"sa-import-probe-{os.getpid()}.py"
    script.write_text("pass\n")
    try:
        target = pool.spawn_script(interp, "busy.py")
        args = ("exec", str(target.pid), str(script)) if command == "exec" else (command, str(target.pid))
        cold_code, cold = cli_imports(tmp_path, *args, "--json")
        warm_code, warm = cli_imports(tmp_path, *args, "--json")
    finally:
        pool.close()
        script.unlink(missing_ok=True)
    assert (cold_code, warm_code) == (0, 0)
    assert not roots(cold) & set(UI), cold
    assert not roots(warm) & {*UI, "elftools", "construct", "psutil"}, warm
    assert not set(warm) & HOT_PATH_NEVER, sorted(set(warm) & HOT_PATH_NEVER)
    assert not {"ctypes", "queue", "heapq", "contextlib"} & set(warm), warm
    assert "app.render.words" not in warm, warm  # human output's words (textwrap, datetime, events): not for JSON
    if command == "exec":  # a safe attach that worked needs neither the legacy path nor the tests' fault plans
        assert not {"core.attach.legacy_step", "core.attach.faults", "core.inject"} & set(warm), warm
        assert not {"app.cli.errors", "core.text"} & set(warm), warm  # usage errors and human output only
    # the output is core.json_writer's, the ELF cache is not JSON, the report is read by core.json_reader (a
    # wrapper of pip before 25.0 imports re, which this probe is not), the enums are core.enums', and no
    # collections.abc at run time (it runs the collections package)
    assert not {"re", "json", "enum", "functools", "collections"} & set(warm), warm
    ours = [m for m in warm if m not in ("re", "json") and not m.startswith(("re.", "json.", "_"))]
    assert len(warm) <= HOT_PATH_BUDGET[command], f"{command}: {len(warm)} modules: {ours}"


def test_attach_json_on_a_live_target_stays_light(tmp_path: Path, session: Session) -> None:
    """`attach --json` on a real 3.14 target, once the ELF facts are cached: a fresh debugpy server (injected,
    its adapter started by the client) and then the reattach cache's hit import none of HOT_PATH_NEVER, nor
    rich, textual, pyelftools, construct or psutil, within a module budget."""
    target, _prog = session.spawn("3.14")
    install_into_root(SID)  # the copy of debugpy the target imports (cold: hashlib, shutil, tempfile) is made
    assert cli_imports(tmp_path, "info", str(target.pid), "--json")[0] == 0  # caches the ELF facts
    runs = []
    for cache in ("miss", "hit"):
        code, new, stdout = cli_run(tmp_path, "attach", str(target.pid), "--json")
        _events, outcome = outcome_from(stdout.splitlines())
        session.remember(outcome)  # its adapter is reaped with the target
        assert code == 0 and outcome.ok, (outcome.message, outcome.result)
        assert outcome.result["reattach_cache"] == cache
        runs.append(new)
    for new in runs:
        assert not roots(new) & {*UI, "elftools", "construct", "psutil"}, new
        assert not set(new) & HOT_PATH_NEVER, sorted(set(new) & HOT_PATH_NEVER)
        assert len(new) <= HOT_PATH_BUDGET["attach"], f"attach: {len(new)} modules: {new}"


ARMED_PROBE = """
import os, sys
import core.attach.writes as writes
arm = writes.RequestWriter.write_breaker
def write_breaker(self):
    os.write(2, f"ARMED WITH {sorted(m for m in ('re', 'json') if m in sys.modules)}\\n".encode())
    return arm(self)
writes.RequestWriter.write_breaker = write_breaker
assert "re" not in sys.modules
sys.argv = ["safeattach", *sys.argv[1:]]
from app.cli.main import main
sys.exit(main())  # the command leaves through os._exit
"""


def test_exec_arms_the_request_before_json_or_re_load(tmp_path: Path) -> None:
    """A warm exec reaches the breaker write, the request's arming, without json or re: the event lines, the
    attempt log and the params need neither, the ELF cache is not JSON, and core.json_reader reads the report.
    (Started as `main()` is: the installer's entry-point wrapper imports re itself, before our code.)"""
    import subprocess
    import sys

    from live_targets import TargetPool, require
    from repo_paths import REPO

    interp = require("3.14")
    pool = TargetPool()
    script = SID / "tmp" / f"sa-armed-probe-{os.getpid()}.py"
    script.write_text("pass\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "SAFEATTACH_CACHE_DIR": str(tmp_path / "cache")}
    try:
        target = pool.spawn_script(interp, "busy.py")
        runs = [subprocess.run([sys.executable, "-c", ARMED_PROBE, "exec", str(target.pid),
                                str(script), "--json"], capture_output=True, text=True, timeout=60, env=env,
                               cwd=tmp_path) for _cold_then_warm in range(2)]
        assert target.alive()
    finally:
        pool.close()
        script.unlink(missing_ok=True)
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
        assert '"ok": true' in run.stdout.splitlines()[-1], run.stdout[-500:]
    assert "ARMED WITH []" in runs[1].stderr, runs[1].stderr[-2000:]  # warm: neither json nor re
