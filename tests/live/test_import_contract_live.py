"""The CLI's JSON commands on a real 3.14 target stay light: no rich or textual ever, and once the binary's ELF
facts are cached, neither pyelftools nor construct nor psutil."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_imports import UI, cli_imports, roots


@pytest.mark.parametrize("command", ["exec", "info"])
def test_warm_json_commands_on_a_live_target_stay_light(tmp_path: Path, command: str) -> None:
    """On a real 3.14 target: no rich, no textual, ever; and once the binary's ELF facts are cached, neither
    pyelftools nor construct (nor psutil, which only `ps` needs)."""
    from live_targets import SID, TargetPool, require

    interp = require("3.14")
    pool = TargetPool()
    script = SID / "tmp" / f"sa-import-probe-{os.getpid()}.py"
    script.write_text("pass\n")
    try:
        target = pool.spawn_script(interp, "busy.py")
        args = ("exec", str(target.pid), str(script)) if command == "exec" else ("info", str(target.pid))
        cold_code, cold = cli_imports(tmp_path, *args, "--json")
        warm_code, warm = cli_imports(tmp_path, *args, "--json")
    finally:
        pool.close()
        script.unlink(missing_ok=True)
    assert (cold_code, warm_code) == (0, 0)
    assert not roots(cold) & set(UI), cold
    assert not roots(warm) & {*UI, "elftools", "construct", "psutil"}, warm
