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
