"""core/ must never import textual, rich or app (the engine/UI split), the import-linter contracts in
pyproject.toml (each with its reason) hold, and the CLI imports only what a command needs."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from repo_paths import REPO

import core


def test_core_imports_no_ui_modules() -> None:
    modules = sorted(m.name for m in pkgutil.walk_packages(core.__path__, "core."))
    assert "core.engine" in modules and "core.target" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'app'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"core pulled in UI modules: {out.stdout}"


def test_import_linter_contract() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "7 kept, 0 broken" in out.stdout


# --- start-up weight: what each CLI command imports, counted (never timed) ----------------------------------

PROBE = """
import sys
before = set(sys.modules)
from app.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
import json
import os
with open(os.environ["SA_PROBE_OUT"], "w") as out:
    json.dump({"code": code, "new": sorted(set(sys.modules) - before)}, out)
"""
UI = ("rich", "textual")
HELP_BUDGET = 25  # modules `--help` may add beyond what argparse's own help needs (about 10 when this was written)


def cli_imports(tmp_path: Path, *args: str) -> tuple[object, list[str]]:
    """(exit code, modules imported beyond the interpreter's own start-up) of one CLI run in a fresh process."""
    out = tmp_path / "probe.json"
    env = {**os.environ, "SA_PROBE_OUT": str(out), "SAFEATTACH_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120, env=env)
    assert out.exists(), done.stderr
    data = json.loads(out.read_text())
    return data["code"], data["new"]


def roots(modules: list[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


ARGPARSE_HELP = """
import sys
before = set(sys.modules)
import argparse
try:
    argparse.ArgumentParser(prog="bare").parse_args(["--help"])
except SystemExit:
    pass
import json, os
with open(os.environ["SA_PROBE_OUT"], "w") as out:
    json.dump(sorted(set(sys.modules) - before), out)
"""


def argparse_floor(tmp_path: Path) -> set[str]:
    """What printing any argparse help imports in this interpreter (shutil, textwrap, ...): how many of those
    a site hook already loaded differs between install modes, so they are not counted against the budget."""
    out = tmp_path / "floor.json"
    subprocess.run([sys.executable, "-c", ARGPARSE_HELP], capture_output=True, text=True, timeout=120,
                   env={**os.environ, "SA_PROBE_OUT": str(out)}, check=True)
    return set(json.loads(out.read_text()))


def test_help_is_light(tmp_path: Path) -> None:
    code, new = cli_imports(tmp_path, "--help")
    assert code == 0
    assert not roots(new) & {*UI, "elftools", "construct", "psutil"}, new
    ours = sorted(set(new) - argparse_floor(tmp_path))
    assert len(ours) <= HELP_BUDGET, f"--help: {len(ours)} modules beyond argparse (budget {HELP_BUDGET}): {ours}"
    assert not [m for m in new if m.startswith("core.") and m not in ("core.limits",)], new


@pytest.mark.parametrize("args", [("exec", "--help"), ("attach", "--help"), ("--version",)])
def test_subcommand_help_and_version_import_no_engine(tmp_path: Path, args: tuple[str, ...]) -> None:
    code, new = cli_imports(tmp_path, *args)
    assert code == 0
    assert not roots(new) & {*UI, "elftools", "construct", "psutil"}, new
    assert not [m for m in new if m.startswith("core.") and m != "core.limits"], new


def _no_such_pid() -> int:
    pid = 4_000_000
    while Path(f"/proc/{pid}").exists():
        pid += 1
    return pid


@pytest.mark.parametrize("command", ["exec", "attach", "info", "ps", "log"])
def test_json_commands_import_no_ui(tmp_path: Path, command: str) -> None:
    """Also on the error paths: a missing process is reported as JSON without rich."""
    script = tmp_path / "noop.py"
    script.write_text("pass\n")
    args = {"exec": ("exec", str(_no_such_pid()), str(script)), "attach": ("attach", str(_no_such_pid())),
            "info": ("info", str(_no_such_pid())), "ps": ("ps",), "log": ("log",)}[command]
    _code, new = cli_imports(tmp_path, *args, "--json")
    assert not roots(new) & set(UI), new


@pytest.mark.live
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
