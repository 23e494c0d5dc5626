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
from cli_imports import HOT_PATH_BUDGET, HOT_PATH_NEVER, UI, cli_imports, fresh_stdout, roots
from repo_paths import REPO

import core
from core.errors import FailureKind, exit_code_for


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

HELP_BUDGET = 25  # modules `--help` may add beyond what argparse's own help needs (about 10 when this was written)


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




@pytest.mark.parametrize("command", ["exec", "attach", "info", "stack", "ps"])
def test_common_commands_import_none_of_the_heavy_helpers(tmp_path: Path, command: str) -> None:
    """On the error paths (a missing process, reported as JSON), and for `ps` once the ELF facts of every
    Python binary on this machine are cached (a cold run reads them with pyelftools, which needs typing)."""
    script = tmp_path / "noop.py"
    script.write_text("pass\n")
    args = {"exec": ("exec", str(_no_such_pid()), str(script)), "attach": ("attach", str(_no_such_pid())),
            "info": ("info", str(_no_such_pid())), "stack": ("stack", str(_no_such_pid())), "ps": ("ps",)}[command]
    if command == "ps":
        cli_imports(tmp_path, *args, "--json")
    code, new = cli_imports(tmp_path, *args, "--json")
    assert command == "ps" or code == exit_code_for(FailureKind.NO_SUCH_PROCESS), code
    assert not set(new) & HOT_PATH_NEVER, sorted(set(new) & HOT_PATH_NEVER)
    assert "psutil" not in roots(new)  # ps reads /proc itself (psutil's import alone cost more than the walk)
    assert not {"ctypes", "queue", "contextlib"} & set(new), new  # exec writes through /proc/PID/mem
    if command != "attach":  # only the debugger commands talk TCP (socket's import alone is 2-4 ms)
        assert "socket" not in new, new
        # nor enum (core.enums), functools or collections (each import of collections.abc runs the collections
        # package): together a fifth of an exec's instructions; the debugger's session parses with re, which
        # brings all three
        assert not {"enum", "functools", "collections"} & set(new), new
    if command in HOT_PATH_BUDGET:  # the budget of a successful run bounds the error path too
        assert len(new) <= HOT_PATH_BUDGET[command], f"{command}: {len(new)} modules: {new}"


def test_console_and_renderers_load_no_doctor_or_injector() -> None:
    """The console's first paint pays only for what it shows: the doctor package loads every check (and through
    them the attach chain and the injector), so it loads when a diagnosis is asked for, not with the app."""
    code = ("import sys, app.tui.app, app.render.rich, app.render.listings\n"
            "print(','.join(sorted(m for m in sys.modules if m.startswith(('core.doctor', 'core.inject', "
            "'core.attach.chain')))))\n")
    assert fresh_stdout(code) == ""


def test_the_console_loads_no_stack_reader_before_its_first_paint() -> None:
    """The Processes screen shows a listing: the stack and task readers (core.walk, with the target's reader
    and its offsets, ~25 modules) load when a stack is asked for."""
    code = ("import sys, app.tui.app\n"
            "print(','.join(sorted(m for m in sys.modules if m.startswith(('core.walk', 'app.render.listings')))))\n")
    assert fresh_stdout(code) == ""


def test_reading_a_report_imports_no_json() -> None:
    """core.json_reader parses with json's C scanner: a good read loads no json package (its errors do)."""
    code = ("import sys\nfrom core.json_reader import loads\n"
            "assert loads(' {\"ok\": [1, 2.5, NaN, \"\\\\u00e9\"]} ')['ok'][3] == '\\u00e9'\n"
            "print(sorted(m for m in sys.modules if m == 'json' or m.startswith('json.')))\n")
    assert fresh_stdout(code) == "[]"


def test_decoding_an_undeclared_script_imports_no_tokenize() -> None:
    """The exec payload (run in the target) decodes a script without an encoding declaration itself."""
    code = ("import sys\nfrom core.payloads.in_target_exec import _source_text\n"
            "assert _source_text(b'x = 1\\r\\ny = 2\\n') == 'x = 1\\ny = 2\\n'\n"
            "print(sorted(m for m in ('tokenize', 'importlib.util') if m in sys.modules))\n")
    assert fresh_stdout(code) == "[]"
