"""Debugger sessions end to end: `safeattach attach` (CLI and engine) starts or reuses debugpy in a live
target, and a real DAP client (tests/support/dap_client.py) debugs it through the port the engine reports."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dap_client import DapClient
from dap_session import program_text, run_full_session
from debugpy_attach import (
    CLI,
    REPO,
    Session,
    cli_attach,
    cli_attach_serving,
    drive_session,
    engine_attach,
    stop_serving,
)
from live_targets import SID, chroot_command, require

from core.dap.dist import install_into_root, local_debugpy
from core.dap.reattach import cache_dir, find_listener, listening_ports
from core.events import Outcome, StepFinished, StepStatus
from core.procfs import start_ticks_of

PROBE = '''\
import sys
print("ready", flush=True)
for line in sys.stdin:
    print("debugpy-loaded" if any(m.split(".")[0] == "debugpy" for m in sys.modules) else "no-debugpy", flush=True)
'''


def _assert_started(outcome: Outcome, *, reused: bool, cache: str) -> None:
    assert outcome.ok, (outcome.message, outcome.result)
    r = outcome.result
    assert r["debugpy"]["version"] == local_debugpy().version
    assert r["reused"] is reused and r["debugpy"]["reused"] is reused
    assert r["reattach_cache"] == cache
    assert r["vscode"]["request"] == "attach" and r["vscode"]["type"] == "debugpy"
    assert r["vscode"]["connect"] == r["connect"]
    assert f"connect to {r['connect']['host']}:{r['connect']['port']}" in outcome.message


# -- tests ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["3.14", "3.14d", "3.15", "embed314", "3.13", "3.11"])
def test_cli_attach_then_full_dap_session(session: Session, name: str) -> None:
    """3.14+ through safe attach; 3.13 (sid chroot) and 3.11 (host) through legacy injection (method auto)."""
    target, prog = session.spawn(name)
    code, events, outcome, stderr = cli_attach(session, target.pid)
    assert code == 0, (outcome.message, stderr)
    _assert_started(outcome, reused=False, cache="miss")
    r = outcome.result
    assert r["connect"]["host"] == "127.0.0.1" and r["debugpy"]["host"] == "127.0.0.1"
    assert r["bridge"] is None and r["warnings"] == []
    if name == "3.11":
        assert "pathMappings" not in r["vscode"]
    else:
        assert r["vscode"]["pathMappings"] == [{"localRoot": str(SID), "remoteRoot": "/"}]
    assert r["legacy"] is (name in ("3.13", "3.11"))
    steps = [e["step"] for e in events if e["event"] == "StepFinished"]
    assert steps[0] == "reattachCache" and steps[-1] == "debugpyReady"
    ready = next(e for e in events if e["event"] == "StepFinished" and e["step"] == "debugpyReady")
    assert ready["status"] == "ok" and ready["detail"]["port"] == r["connect"]["port"]
    # the port is held by debugpy's adapter (a process of the target's), in LISTEN state
    assert r["connect"]["port"] in listening_ports(r["debugpy"]["listener_pid"])
    if name == "embed314":
        assert r["thread_selection"] == "enumerate"
        assert r["debugpy"]["adapter_python"] in ("/bin/python3.14", "/usr/bin/python3.14")
    drive_session(r["connect"]["port"], prog, target)


def test_reattach_twice_through_cache_and_through_rediscovery(session: Session) -> None:
    target, prog = session.spawn("3.14")
    events, first = engine_attach(session, target.pid)
    _assert_started(first, reused=False, cache="miss")
    port = first.result["connect"]["port"]
    drive_session(port, prog, target)

    # reattach 1: the cache is valid, nothing is injected
    code, events, second, _ = cli_attach(session, target.pid)
    assert code == 0
    _assert_started(second, reused=True, cache="hit")
    assert second.result["connect"]["port"] == port
    assert second.result["ran"] is False
    skipped = [e["step"] for e in events if e["event"] == "StepFinished" and e["status"] == "skipped"]
    assert {"openProcess", "writeScript", "awaitRun"} <= set(skipped)
    assert "reattach cache" in next(e["message"] for e in events if e.get("step") == "debugpyReady"
                                    and e["event"] == "StepFinished")
    drive_session(port, prog, target)

    # reattach 2: without the cache, the payload finds the running server in the target and reuses it
    shutil.rmtree(cache_dir())
    events, third = engine_attach(session, target.pid)
    _assert_started(third, reused=True, cache="miss")
    assert third.result["ran"] is True and third.result["connect"]["port"] == port
    assert any(isinstance(e, StepFinished) and e.step == "awaitRun" and e.status is StepStatus.OK for e in events)
    drive_session(port, prog, target)


def test_stale_cache_entry_is_not_used(session: Session) -> None:
    target, prog = session.spawn("3.14")
    _, first = engine_attach(session, target.pid)
    entry_path = next(Path(cache_dir()).iterdir())
    data = json.loads(entry_path.read_text())
    data["port"] = 1  # nothing of the adapter's listens there
    entry_path.write_text(json.dumps(data))
    _, again = engine_attach(session, target.pid)
    _assert_started(again, reused=True, cache="stale")
    assert again.result["connect"]["port"] == first.result["connect"]["port"]
    drive_session(again.result["connect"]["port"], prog, target)


def test_program_that_called_debugpy_listen_itself(session: Session) -> None:
    target, prog = session.spawn("3.14", self_listen=True)
    own_port = int(next(line for line in target.lines if line.startswith("self_listen")).split()[1])
    code, _, outcome, _ = cli_attach(session, target.pid)
    assert code == 0, outcome.message
    _assert_started(outcome, reused=True, cache="miss")
    assert outcome.result["connect"]["port"] == own_port
    assert "already running" in outcome.message
    drive_session(own_port, prog, target)


def test_target_in_its_own_network_namespace_through_the_bridge(session: Session) -> None:
    target, prog = session.spawn("3.14", netns=True)
    assert os.stat(f"/proc/{target.pid}/ns/net").st_ino != os.stat("/proc/self/ns/net").st_ino
    cli, outcome = cli_attach_serving(session, target.pid)
    _assert_started(outcome, reused=False, cache="miss")
    r = outcome.result
    ticks = start_ticks_of(target.pid)
    assert r["bridge"]["socket"] == f"/tmp/safeattach-0-bridge/{target.pid}-{ticks}/dap.sock"
    session.dirs.append(SID / "tmp" / "safeattach-0-bridge" / f"{target.pid}-{ticks}")  # removed after the target
    assert r["connect"]["host"] == "127.0.0.1"
    # debugpy listens on the target's own loopback, which is not ours
    assert r["debugpy"]["host"] == "127.0.0.1" and r["debugpy"]["port"] in listening_ports(r["debugpy"]["listener_pid"])
    assert (SID / r["bridge"]["socket"].lstrip("/")).is_socket()
    drive_session(r["connect"]["port"], prog, target)
    stop_serving(cli)

    # reattach with a new CLI: cache hit, a new local bridge to the same in-target relay
    cli2, again = cli_attach_serving(session, target.pid)
    _assert_started(again, reused=True, cache="hit")
    assert again.result["debugpy"]["port"] == r["debugpy"]["port"]
    drive_session(again.result["connect"]["port"], prog, target)
    stop_serving(cli2)


def test_non_loopback_listen_warns(session: Session) -> None:
    target, prog = session.spawn("3.14")
    code, events, outcome, stderr = cli_attach(session, target.pid, "--listen", "0.0.0.0:0")
    assert code == 0
    r = outcome.result
    assert r["debugpy"]["host"] == "0.0.0.0" and r["connect"]["host"] == "127.0.0.1"
    assert len(r["warnings"]) == 1 and "not loopback" in r["warnings"][0]
    assert "warning: listening on 0.0.0.0, not loopback" in " ".join(stderr.split())
    assert any(e["event"] == "StepOutput" and e["text"].startswith("warning: listening on 0.0.0.0") for e in events)
    drive_session(r["connect"]["port"], prog, target)


def test_opted_out_target_is_refused_and_nothing_is_imported(session: Session) -> None:
    interp = require("3.14")
    target = session.targets.spawn(chroot_command(interp.root, [interp.argv0, "-c", PROBE]), interp,
                                   env={"PYTHON_DISABLE_REMOTE_DEBUG": "1"}, stdin=subprocess.PIPE)
    code, events, outcome, _ = cli_attach(session, target.pid)
    assert code == 20
    assert outcome.kind is not None and outcome.kind.value == "policyDisabled"
    assert outcome.failed_step == "policy"
    assert "opted out" in outcome.message
    assert not any(e["event"] == "StepFinished" and e["step"] == "writeScript" for e in events)
    assert target.proc.stdin is not None
    target.proc.stdin.write(b"check\n")
    target.proc.stdin.flush()
    assert target.read_line(timeout=10) == "no-debugpy"
    assert _children(target.pid) == []  # no adapter was spawned


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        if entry.isdigit() and int(stat[stat.rfind(b")") + 2 :].split()[1]) == pid:
            out.append(int(entry))
    return out


def test_nonexistent_pid_and_bad_listen(session: Session) -> None:
    pid = 4194303  # above any PID this machine hands out in a test run
    while start_ticks_of(pid) is not None:
        pid -= 1
    code, _, outcome, _ = cli_attach(session, pid)
    assert code == 10
    assert outcome.message == f"no process with PID {pid}"
    assert outcome.failed_step == "openProcess"
    bad = subprocess.run([*CLI, "attach", "1", "--listen", "nowhere"], capture_output=True, text=True, timeout=30,
                         cwd=REPO)
    assert bad.returncode == 2
    assert "--listen must be HOST:PORT" in bad.stderr


def test_cli_attach_on_39_uses_the_debugpy_release_that_supports_it(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3.9 is older than the bundled debugpy supports: the CLI injects (ptrace) with debugpy 1.8.21, and the
    chroot gets a copy of that release only (the release is chosen before anything is copied)."""
    from live_targets import BULLSEYE, CACHE

    from core.dap.releases import OLD_RELEASE

    def copies_of_ours() -> list[Path]:
        return sorted((BULLSEYE / "tmp").glob(f"safeattach-debugpy-{local_debugpy().version}-*"))

    for stale in copies_of_ours():  # left by an earlier run (or by a client that copied before it decided)
        shutil.rmtree(stale)
    monkeypatch.setenv("SAFEATTACH_CACHE_DIR", str(CACHE / "cache"))  # provisioned by tests/provision.sh
    target, program = session.spawn("3.9")
    code, _events, outcome, _ = cli_attach(session, target.pid)
    assert code == 0, (outcome.message, outcome.hint)
    assert outcome.result["legacy"] is True
    assert outcome.result["debugpy"]["version"] == OLD_RELEASE
    assert copies_of_ours() == [], "a 3.9 target got a useless copy of the bundled debugpy"
    assert list((BULLSEYE / "tmp").glob(f"safeattach-debugpy-{OLD_RELEASE}-*")), "the 1.8.21 copy is missing"
    drive_session(int(outcome.result["connect"]["port"]), program, target)


@contextlib.contextmanager
def server_joined(outcome: Outcome) -> Iterator[DapClient]:
    """A DAP session on the attach's port once the debug server in the target joined it (the attach returns
    as soon as the adapter listens, while pydevd may still be importing)."""
    with DapClient("127.0.0.1", int(outcome.result["connect"]["port"]), timeout=30) as dap:
        dap.initialize()
        dap.attach()
        dap.wait_event("initialized")
        yield dap


COMPILE_COUNTER = """
import sys, threading, time
DIR = sys.argv[1]
compiled = []
def hook(event, args):
    # a module the import system compiled from source (not debugpy's own compile() calls)
    if event == "compile" and len(args) > 1 and str(args[1]).startswith(DIR):
        if sys._getframe(1).f_code.co_filename.startswith("<frozen importlib"):
            compiled.append(str(args[1]))
sys.addaudithook(hook)
def answer():
    for _line in sys.stdin:
        print(f"compiled {len(compiled)} {sorted(set(compiled))[:5]}", flush=True)
threading.Thread(target=answer, daemon=True).start()
print("ready", flush=True)
while True:
    time.sleep(0.01)
"""


def test_a_target_that_writes_no_bytecode_imports_debugpy_from_bytecode_on_the_next_attach(session: Session) -> None:
    """PYTHONDONTWRITEBYTECODE=1 target: the first attach leaves debugpy's .pyc in the copy (target and adapter
    side), so the next target compiles none of debugpy (counted by a `compile` audit hook inside it)."""
    interp = require("3.14")
    inside = install_into_root(SID)
    copy = SID / inside.lstrip("/") / "debugpy"
    tag = f"cpython-{interp.version[0]}{interp.version[1]}"
    for pyc in copy.rglob(f"*.{tag}.pyc"):  # start cold, as after a fresh install
        pyc.unlink(missing_ok=True)

    def attach_and_count() -> int:
        argv = chroot_command(SID, [interp.argv0, "-c", COMPILE_COUNTER, inside])
        target = session.targets.spawn(argv, interp, env={"PYTHONDONTWRITEBYTECODE": "1"}, timeout=30,
                                       stdin=subprocess.PIPE)
        _, outcome = engine_attach(session, target.pid)
        assert outcome.ok, (outcome.message, outcome.hint)
        with server_joined(outcome) as dap:  # pydevd is imported once its debug server joined
            dap.disconnect()
        assert target.proc.stdin is not None
        target.proc.stdin.write(b"count\n")
        target.proc.stdin.flush()
        return int(target.wait_for("compiled ", timeout=30).split()[1])

    assert attach_and_count() > 50  # cold: debugpy and pydevd compiled from source
    assert (copy / "adapter" / "__pycache__" / f"clients.{tag}.pyc").is_file()  # the adapter cached its own
    for pyc in copy.rglob(f"*.{tag}.pyc"):
        st = pyc.stat()
        assert st.st_uid == os.geteuid() and not st.st_mode & 0o022, pyc
    assert attach_and_count() == 0


SLOW_PYDEVD = program_text("import sys, time", '''\
sys.path.insert(0, sys.argv[1])
import debugpy, debugpy.server.api as api
sys.path.pop(0)
_settrace = api._settrace
def slow_settrace(*args, **kwargs):  # pydevd connects to the adapter late: listen() returns late
    time.sleep(float(sys.argv[2]))
    return _settrace(*args, **kwargs)
api._settrace = slow_settrace
print("ready", flush=True)
''')


def test_attach_reports_once_the_gated_port_listens_before_listen_returns(session: Session) -> None:
    """debugpy.listen() still connects pydevd to the adapter after the adapter's port listens; the attach reports
    the port then (the gate announces it), and a client that connects meanwhile is served once pydevd is up."""
    interp = require("3.14")
    delay = 6.0
    host = Path(tempfile.mkdtemp(prefix="sa-dbg-", dir=SID / "tmp"))
    os.chmod(host, 0o755)
    session.dirs.append(host)
    (host / "prog.py").write_text(SLOW_PYDEVD)
    prog = "/" + str((host / "prog.py").relative_to(SID))
    target = session.targets.spawn(chroot_command(SID, [interp.argv0, prog, install_into_root(SID), str(delay)]),
                                   interp, timeout=30)
    t0 = time.monotonic()
    _, outcome = engine_attach(session, target.pid)
    assert time.monotonic() - t0 < delay, "the attach waited for debugpy.listen() to return"
    _assert_started(outcome, reused=False, cache="miss")
    run_full_session("127.0.0.1", int(outcome.result["connect"]["port"]), program=prog, source=SLOW_PYDEVD,
                     target=target)


def test_wait_for_client_behind_the_gate(session: Session) -> None:
    """--wait-for-client: debugpy.wait_for_client() starts once listen() returned (after the early report),
    in a service thread; the program runs on and a client gets a full session."""
    target, prog = session.spawn("3.14")
    _, outcome = engine_attach(session, target.pid, wait_for_client=True)
    _assert_started(outcome, reused=False, cache="miss")
    assert outcome.result["debugpy"]["waiting_for_client"] is True
    drive_session(int(outcome.result["connect"]["port"]), prog, target)


def test_the_adapter_pid_the_target_names_is_only_a_hint(session: Session) -> None:
    """The gate names the adapter's pid; the client checks it in /proc and finds the real one past a wrong one."""
    target, _ = session.spawn("3.14")
    _, outcome = engine_attach(session, target.pid)
    assert outcome.ok, outcome.message
    port, listener = int(outcome.result["debugpy"]["port"]), int(outcome.result["debugpy"]["listener_pid"])
    assert listener != target.pid
    assert find_listener(target.pid, port, hint=listener) == listener
    assert find_listener(target.pid, port, hint=os.getpid()) == listener  # a wrong hint: the scan finds it
    assert find_listener(target.pid, port, hint=None) == listener


NODELAY_PROBE = """
import socket, sys, threading, time
def answer():
    for _line in sys.stdin:
        py_db = sys.modules["pydevd"].get_global_debugger()
        sock = py_db.writer.sock
        print("nodelay %d" % sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), flush=True)
threading.Thread(target=answer, daemon=True).start()
print("ready", flush=True)
while True:
    time.sleep(0.01)
"""


@pytest.mark.parametrize("name", ["3.14", "3.13"])
def test_the_debug_servers_connection_to_the_adapter_sends_without_delay(session: Session, name: str) -> None:
    """pydevd writes a message as two sends; with Nagle's algorithm each answer waited for the adapter's delayed
    ACK (about 40 ms per DAP request). Both ways of starting the adapter (the client's on 3.14, the target's
    on 3.13) leave TCP_NODELAY on pydevd's socket."""
    interp = require(name)
    target = session.targets.spawn(chroot_command(SID, [interp.argv0, "-c", NODELAY_PROBE]), interp, timeout=30,
                                   stdin=subprocess.PIPE)
    _, outcome = engine_attach(session, target.pid)
    assert outcome.ok, (outcome.message, outcome.hint)
    with server_joined(outcome) as dap:
        assert target.proc.stdin is not None
        target.proc.stdin.write(b"nodelay?\n")
        target.proc.stdin.flush()
        assert target.wait_for("nodelay ", timeout=30).split()[1] == "1"
        dap.disconnect()
    assert target.alive()
