"""Live tests of the debugpy and exec payloads, run directly in real targets (without the engine).

Each target runs a small program that executes the payload source in a fresh namespace, the way the
loader does, calls `run(params, ctx)` in its main thread, prints the result as JSON, then loops calling
`work()`. A real DAP client then debugs that loop through the debugpy the payload started.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dap_session import program_text, run_full_session
from live_targets import BULLSEYE, SID, Target, TargetPool, chroot_command, require

from core.dap.dist import debugpy_dir_for_target, debugpy_min_python, install_into_root, local_debugpy, shares_root
from core.dap.payload import debugpy_payload
from core.payloads.exec_payload import exec_payload

PROGRAM = program_text("import json, os, sys, time", '''\
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "config.json")) as f:
    config = json.load(f)
if config.get("self_listen"):
    sys.path.insert(0, config["self_listen"])
    import debugpy
    sys.path.pop(0)
    print("self_listen %d" % debugpy.listen(("127.0.0.1", 0))[1], flush=True)
print("ready", flush=True)
with open(os.path.join(here, "payload.py")) as f:
    source = f.read()
path_before = list(sys.path)
environ_before = dict(os.environ)
for _ in range(config["runs"]):
    ns = {"__builtins__": __builtins__}
    exec(compile(source, "<safeattach-payload>", "exec"), ns)
    try:
        result = ns["run"](config["params"], config["ctx"])
    except BaseException as exc:
        result = {"error": "%s: %s" % (type(exc).__name__, exc)}
    result["sys_path_unchanged"] = sys.path == path_before
    keys = set(os.environ) | set(environ_before)
    result["environ_changes"] = sorted(k for k in keys if os.environ.get(k) != environ_before.get(k))
    print("result " + json.dumps(result), flush=True)
''')


@dataclass
class Workdir:
    host: Path  # as we see it
    inside: str  # as the target sees it

    def program(self) -> str:
        return f"{self.inside}/prog.py"


@pytest.fixture
def workdir_factory() -> Iterator[Any]:
    made: list[Path] = []

    def make(root: Path) -> Workdir:
        tmp = root / "tmp"
        host = Path(tempfile.mkdtemp(prefix="safeattach-test-", dir=tmp))
        os.chmod(host, 0o755)
        made.append(host)
        return Workdir(host, "/" + str(host.relative_to(root)))

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


def prepare(wd: Workdir, *, debugpy_dir: str, runs: int = 1, self_listen: bool = False,
            bridge: bool = False, wait_for_client: bool = False) -> dict[str, Any]:
    private = wd.host / "private"
    private.mkdir(mode=0o700)
    spec = debugpy_payload(
        host="127.0.0.1", port=0, wait_for_client=wait_for_client, debugpy_dir=debugpy_dir,
        min_python=debugpy_min_python(),
        bridge_socket=f"{wd.inside}/private/bridge.sock" if bridge else None,
    )
    (wd.host / "prog.py").write_text(PROGRAM)
    (wd.host / "payload.py").write_text(spec.source)
    config = {
        "runs": runs,
        "params": dict(spec.params),
        "ctx": {"private_dir": f"{wd.inside}/private", "request_id": "test"},
        "self_listen": debugpy_dir if self_listen else None,
    }
    (wd.host / "config.json").write_text(json.dumps(config))
    return config


def result_of(target: Target) -> dict[str, Any]:
    line = target.wait_for("result ", timeout=60)
    result: dict[str, Any] = json.loads(line[len("result "):])
    assert "error" not in result, result
    return result


def debugpy_dir_in(root: Path) -> str:
    return str(local_debugpy().parent) if root == Path("/") else install_into_root(root)


def drive_session(port: int, program: str, target: Target) -> None:
    """A full DAP session; leaves the target running, without breakpoints."""
    run_full_session("127.0.0.1", port, program=program, source=PROGRAM, target=target)


def spawn_program(targets: TargetPool, interp_name: str, wd: Workdir, *, netns: bool = False) -> Target:
    if interp_name == "embed314":
        code = f"import runpy; runpy.run_path({wd.program()!r}, run_name='__main__')"
        return targets.spawn_embedded(code)
    interp = require(interp_name)
    argv = chroot_command(interp.root, [interp.argv0, wd.program()])
    if netns:
        argv = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *argv]
    return targets.spawn(argv, interp, timeout=30)


ROOTS = {"3.9": BULLSEYE, "3.13": SID, "3.11": Path("/"), "3.14": SID, "3.14d": SID, "3.15": SID, "embed314": SID}


@pytest.mark.parametrize("interp_name", ["3.11", "3.13", "3.14", "3.14d", "3.15", "embed314"])
def test_full_dap_session(targets: TargetPool, workdir_factory: Any, interp_name: str) -> None:
    root = ROOTS[interp_name]
    wd = workdir_factory(root)
    prepare(wd, debugpy_dir=debugpy_dir_in(root))
    target = spawn_program(targets, interp_name, wd)
    result = result_of(target)
    assert result["reused"] is False
    assert result["pid"] != 0
    assert result["port"] > 0
    assert result["debugpy_version"] == local_debugpy().version
    assert result["sys_path_unchanged"] is True
    assert result["environ_changes"] in ([], ["PYDEVD_USE_FRAME_EVAL"])  # the latter set by debugpy itself
    if interp_name == "embed314":
        assert result["adapter_python"] in ("/bin/python3.14", "/usr/bin/python3.14")
    drive_session(result["port"], wd.program(), target)


@pytest.mark.parametrize("interp_name", ["3.14"])
def test_second_run_reuses_and_reattach_works(targets: TargetPool, workdir_factory: Any, interp_name: str) -> None:
    wd = workdir_factory(SID)
    prepare(wd, debugpy_dir=debugpy_dir_in(SID), runs=2)
    target = spawn_program(targets, interp_name, wd)
    first, second = result_of(target), result_of(target)
    assert first["reused"] is False
    assert second["reused"] is True
    assert second["port"] == first["port"]
    drive_session(first["port"], wd.program(), target)
    drive_session(first["port"], wd.program(), target)  # a second client after the first disconnected


def test_too_old_python_is_refused_before_importing(targets: TargetPool, workdir_factory: Any) -> None:
    wd = workdir_factory(BULLSEYE)
    prepare(wd, debugpy_dir=debugpy_dir_in(BULLSEYE))
    target = spawn_program(targets, "3.9", wd)
    result = json.loads(target.wait_for("result ", timeout=60)[len("result "):])
    assert result["error"] == "RuntimeError: this debugpy needs Python >= 3.10; the target runs 3.9"
    assert result["sys_path_unchanged"] is True
    assert result["environ_changes"] == []


def test_wait_for_client_does_not_block_the_loader(targets: TargetPool, workdir_factory: Any) -> None:
    wd = workdir_factory(SID)
    prepare(wd, debugpy_dir=debugpy_dir_in(SID), wait_for_client=True)
    target = spawn_program(targets, "3.14", wd)
    result = result_of(target)  # reported before any client connected
    assert result["waiting_for_client"] is True
    target.wait_for("tick ", timeout=30)  # and the program runs on meanwhile
    drive_session(result["port"], wd.program(), target)


@pytest.mark.parametrize("interp_name", ["3.14", "3.11"])
def test_program_that_listened_itself_is_reused(
    targets: TargetPool, workdir_factory: Any, interp_name: str
) -> None:
    root = ROOTS[interp_name]
    wd = workdir_factory(root)
    prepare(wd, debugpy_dir=debugpy_dir_in(root), self_listen=True)
    target = spawn_program(targets, interp_name, wd)
    own_port = int(target.lines[-2].split()[1]) if target.lines[-2].startswith("self_listen") else None
    assert own_port is not None, target.lines
    result = result_of(target)
    assert result["reused"] is True
    assert result["port"] == own_port
    drive_session(own_port, wd.program(), target)


def test_bridge_into_another_network_namespace(targets: TargetPool, workdir_factory: Any) -> None:
    from core.dap.bridge import DapBridge

    wd = workdir_factory(SID)
    prepare(wd, debugpy_dir=debugpy_dir_in(SID), bridge=True)
    target = spawn_program(targets, "3.14", wd, netns=True)
    result = result_of(target)
    assert result["bridge_socket"] == f"{wd.inside}/private/bridge.sock"
    # the target's loopback is not ours: its port is unreachable from here
    assert os.readlink(f"/proc/{target.pid}/ns/net") != os.readlink("/proc/self/ns/net")
    with DapBridge(f"/proc/{target.pid}/root{result['bridge_socket']}") as bridge:
        # a client that connects and leaves without a word must not wedge debugpy's adapter
        socket.create_connection(bridge.address, timeout=10).close()
        drive_session(bridge.port, wd.program(), target)
        drive_session(bridge.port, wd.program(), target)
        assert bridge.connections == 3


def test_debugpy_copy_is_cached_and_verified() -> None:
    require("3.14")
    first = install_into_root(SID)
    host_copy = SID / first.lstrip("/")
    assert (host_copy / "debugpy" / "__init__.py").is_file()
    assert install_into_root(SID) == first
    # a copy someone else could have written to is not trusted: it is replaced
    os.chmod(host_copy, 0o777)
    (host_copy / "debugpy" / "evil.py").write_text("raise SystemExit")
    assert install_into_root(SID) == first
    assert not (host_copy / "debugpy" / "evil.py").exists()
    assert os.stat(host_copy).st_mode & 0o777 == 0o755


def test_shares_root_and_placement(targets: TargetPool) -> None:
    host = targets.spawn_script(require("3.11"), "sleepy.py")
    assert shares_root(host.pid)
    assert debugpy_dir_for_target(host.pid) == str(local_debugpy().parent)
    sid = targets.spawn_script(require("3.14"), "sleepy.py")
    assert not shares_root(sid.pid)
    inside = debugpy_dir_for_target(sid.pid)
    assert inside.startswith(f"/tmp/safeattach-debugpy-{local_debugpy().version}-")
    assert (SID / inside.lstrip("/") / "debugpy" / "__init__.py").is_file()


# -- exec payload ------------------------------------------------------------------------------------------

EXEC_RUNNER = '''\
import json, os, sys
os.chdir(sys.argv[1])
with open(sys.argv[2]) as f:
    source = f.read()
params = json.loads(sys.argv[3])
ns = {"__builtins__": __builtins__}
exec(compile(source, "<safeattach-payload>", "exec"), ns)
try:
    print("result " + json.dumps(ns["run"](params, {"private_dir": "/tmp", "request_id": "t"})), flush=True)
except BaseException as exc:
    print("error %s: %s" % (type(exc).__name__, exc), flush=True)
print("ready", flush=True)
'''


def run_exec(targets: TargetPool, wd: Workdir, script: str, *, as_uid: int | None = None) -> list[str]:
    spec = exec_payload(script)
    (wd.host / "payload.py").write_text(spec.source)
    (wd.host / "runner.py").write_text(EXEC_RUNNER)
    interp = require("3.14")
    argv = [interp.argv0, f"{wd.inside}/runner.py", wd.inside, f"{wd.inside}/payload.py",
            json.dumps(dict(spec.params))]
    command = chroot_command(interp.root, argv)
    if as_uid is not None:
        command = ["chroot", f"--userspec={as_uid}:{as_uid}", str(interp.root), *argv]
    target = targets.spawn(command, interp, timeout=30)
    target.proc.wait(timeout=30)
    return [line for line in target.lines if not line.startswith("ready")]


def test_exec_payload_runs_script_like_remote_exec(targets: TargetPool, workdir_factory: Any) -> None:
    wd = workdir_factory(SID)
    (wd.host / "user.py").write_text(
        "import sys\n"
        "print('names', sorted(k for k in globals() if k != 'sys'), flush=True)\n"
        "print('file', sys._getframe().f_code.co_filename, flush=True)\n"
    )
    lines = run_exec(targets, wd, "user.py")  # relative: resolved against the target's cwd
    assert lines == ["names ['__builtins__']", "file user.py", 'result {"script": "user.py"}']


def test_exec_payload_propagates_script_errors(targets: TargetPool, workdir_factory: Any) -> None:
    wd = workdir_factory(SID)
    (wd.host / "bad.py").write_text("raise ValueError('boom')\n")
    assert run_exec(targets, wd, f"{wd.inside}/bad.py") == ["error ValueError: boom"]


def test_exec_payload_unreadable_script(targets: TargetPool, workdir_factory: Any) -> None:
    wd = workdir_factory(SID)
    missing = f"{wd.inside}/missing.py"
    assert run_exec(targets, wd, missing) == [
        f"error FileNotFoundError: [Errno 2] cannot read script {missing!r} in the target: "
        f"No such file or directory: {missing!r}"
    ]
    (wd.host / "secret.py").write_text("print('leak')\n")
    os.chmod(wd.host / "secret.py", 0o600)
    lines = run_exec(targets, wd, f"{wd.inside}/secret.py", as_uid=65534)
    assert lines == [
        f"error PermissionError: [Errno 13] cannot read script {wd.inside + '/secret.py'!r} in the target: "
        f"Permission denied: {wd.inside + '/secret.py'!r}"
    ]


def test_payload_specs_validate_input() -> None:
    with pytest.raises(ValueError):
        exec_payload("")
    with pytest.raises(ValueError):
        debugpy_payload(host="127.0.0.1", port=70000, wait_for_client=False, debugpy_dir="/x", bridge_socket=None,
                        min_python=(3, 10))
    spec = debugpy_payload(host="127.0.0.1", port=0, wait_for_client=True, debugpy_dir="/x", bridge_socket=None,
                           min_python=(3, 10))
    assert spec.name == "debugpy"
    assert "def run(" in spec.source
    assert subprocess.run([sys.executable, "-c", spec.source], check=False).returncode == 0
