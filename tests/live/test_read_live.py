"""The read path against real CPython processes of every provisioned version and build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from live_targets import SID, TargetPool, require
from repo_paths import REPO

from core.errors import FailureKind, SafeAttachError
from core.inspect import inspect_process, list_python_processes

EXPECTED = {
    # name: (version prefix, pep768 capable, debug, has offsets, threads walkable)
    "3.9": ("3.9.", False, False, False, True),
    "3.11": ("3.11.", False, False, False, True),
    "3.13": ("3.13.", False, False, True, True),
    "3.13d": ("3.13.", False, True, True, True),
    "3.14": ("3.14.", True, False, True, True),
    "3.14d": ("3.14.", True, True, True, True),
    "3.14-pie": ("3.14.", True, False, True, True),
    "3.15": ("3.15.", True, False, True, True),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_inspect_every_interpreter(targets: TargetPool, name: str) -> None:
    interp = require(name)
    prefix, capable, debug, has_offsets, walkable = EXPECTED[name]
    target = targets.spawn_script(interp, "many_threads.py")
    report = inspect_process(target.pid)
    s = report.summary
    assert str(s.version).startswith(prefix)
    assert s.version is not None and s.version.source in ("Py_Version symbol", "version string in the binary")
    assert s.pep768_capable is capable
    assert s.remote_debug_enabled is (True if capable else None)
    assert s.build is not None and s.build.debug is debug and s.build.shared is False
    assert s.container is interp.chrooted  # another root (chroot) or mount namespace counts as a container
    assert any("chroot" in n for n in report.notes) is interp.chrooted
    assert (report.offsets is not None) is has_offsets
    if has_offsets:
        assert report.offsets is not None and report.offsets.layout.startswith(prefix[:4])
        assert not report.offsets.problems
    if walkable:
        # main thread + 8 workers; the main thread is the process itself
        assert len(report.threads) == 9
        mains = [t for t in report.threads if t.is_main]
        assert [t.native_thread_id for t in mains] == [target.pid]
        assert {t.native_thread_id for t in report.threads} == {int(t) for t in os.listdir(f"/proc/{target.pid}/task")}
        assert all(t.os_state in "RSD" for t in report.threads)
        funcs = {t.current_function for t in report.threads}
        assert {"spin", "nap"} & funcs, funcs
    else:
        assert report.threads == ()
        assert any("no thread walk" in n for n in report.notes)
    assert target.alive()


def test_gil_holder_is_a_running_thread(targets: TargetPool) -> None:
    target = targets.spawn_script(require("3.14"), "busy.py")
    # right after the handshake the thread may still be inside write() with the GIL dropped: re-read, bounded
    for _ in range(50):
        (main,) = inspect_process(target.pid).threads
        if main.holds_gil:
            break
    assert main.holds_gil is True and main.os_state == "R" and main.is_main
    assert main.current_function == "<module>"


@pytest.mark.parametrize(
    "how",
    [
        ({"PYTHON_DISABLE_REMOTE_DEBUG": "1"}, ()),
        ({"PYTHON_DISABLE_REMOTE_DEBUG": ""}, ()),
        ({}, ("-X", "disable-remote-debug")),
    ],
    ids=["env", "env-empty", "X-hyphen"],
)
@pytest.mark.parametrize("name", ["3.14", "3.15"])
def test_opted_out_targets_report_policy_disabled(targets: TargetPool, name: str, how: tuple) -> None:
    env, flags = how
    target = targets.spawn_script(require(name), "sleepy.py", env=env, python_flags=flags)
    s = inspect_process(target.pid).summary
    assert s.pep768_capable is True
    assert s.remote_debug_enabled is False


def test_underscore_spelling_does_not_opt_out(targets: TargetPool) -> None:
    target = targets.spawn_script(require("3.14"), "sleepy.py", python_flags=("-X", "disable_remote_debug"))
    assert inspect_process(target.pid).summary.remote_debug_enabled is True


def test_embedded_libpython(targets: TargetPool) -> None:
    target = targets.spawn_embedded("import time\nprint('ready', flush=True)\nwhile True: time.sleep(0.01)")
    report = inspect_process(target.pid)
    s = report.summary
    assert str(s.version).startswith("3.14.")
    assert s.build is not None and s.build.shared is True and s.build.pie is True
    assert report.binary.endswith("libpython3.14.so.1.0")
    (interp,) = report.interpreters
    assert interp.threads_main == 0  # plain embedders never set threads.main
    (thread,) = report.threads
    assert thread.native_thread_id == target.pid and thread.is_main


def test_main_module_finished(targets: TargetPool) -> None:
    target = targets.spawn_script(require("3.14"), "main_done.py")
    report = inspect_process(target.pid)
    assert report.interpreters[0].threads_main == 0
    # the worker runs Python; the main OS thread still owns a thread state, parked in interpreter shutdown
    by_tid = {t.native_thread_id: t for t in report.threads}
    assert len(by_tid) == 2 and by_tid[target.pid].os_state == "S"
    (worker,) = [t for t in report.threads if t.native_thread_id != target.pid]
    assert worker.current_function == "work" and not worker.is_main


def test_deleted_binary(targets: TargetPool) -> None:
    interp = require("3.14")
    copy_dir = Path(tempfile.mkdtemp(dir=SID / "tmp"))
    copy = copy_dir / "python3.14-replaced"
    shutil.copy2(interp.host_path, copy)
    try:
        target = targets.spawn(["chroot", str(SID), f"/tmp/{copy_dir.name}/{copy.name}", "-c",
                                "import time\nprint('ready', flush=True)\nwhile True: time.sleep(0.01)"])
        copy.unlink()
        assert "(deleted)" in os.readlink(f"/proc/{target.pid}/exe")
        report = inspect_process(target.pid)
        assert str(report.summary.version).startswith("3.14.")
        assert report.summary.pep768_capable and report.summary.remote_debug_enabled
        assert any("deleted" in n for n in report.notes)
        assert len(report.threads) == 1
    finally:
        shutil.rmtree(copy_dir, ignore_errors=True)


def test_other_mount_namespace(targets: TargetPool, tmp_path: Path) -> None:
    """A 'container': the binary's path exists only inside the target's private mount namespace."""
    require("3.14")
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    script = (
        f"mount -t tmpfs none {hidden} && mkdir {hidden}/root && mount --rbind {SID} {hidden}/root && "
        f"exec chroot {hidden}/root /usr/bin/python3.14 -c \"import time; print('ready', flush=True); "
        f"exec('while True: time.sleep(0.01)')\""
    )
    target = targets.spawn(["unshare", "-m", "--propagation", "private", "sh", "-c", script])
    maps_path = next(line.split()[-1] for line in Path(f"/proc/{target.pid}/maps").read_text().splitlines()
                     if line.endswith("python3.14"))
    assert maps_path.startswith(str(hidden)) and not Path(maps_path).exists()
    report = inspect_process(target.pid)
    assert report.summary.container is True
    assert str(report.summary.version).startswith("3.14.")
    assert report.binary_access == "map_files"
    assert any("mount namespace" in n for n in report.notes)


def test_ps_lists_targets_and_skips_non_python(targets: TargetPool) -> None:
    py = targets.spawn_script(require("3.14"), "sleepy.py")
    opted = targets.spawn_script(require("3.15"), "sleepy.py", env={"PYTHON_DISABLE_REMOTE_DEBUG": "1"})
    other = targets.spawn(["sh", "-c", "echo ready; exec sleep 60"])
    rows = {r.pid: r for r in list_python_processes()}
    assert other.pid not in rows
    assert rows[py.pid].pep768_capable and rows[py.pid].remote_debug_enabled is True
    assert rows[opted.pid].remote_debug_enabled is False
    assert "sleepy" not in rows[py.pid].cmdline or True
    assert rows[py.pid].user == "root"


def test_ps_rows_say_what_psutil_says(targets: TargetPool) -> None:
    """`ps` reads user, uid, command line and start time from /proc itself; they must be psutil's values (an
    empty argument and one with a space included)."""
    import psutil

    mine = [targets.spawn_script(require("3.14"), "sleepy.py", args=("", "two words")),
            targets.spawn_script(require("3.15"), "sleepy.py")]
    rows = {r.pid: r for r in list_python_processes()}
    for target in mine:
        row, proc = rows[target.pid], psutil.Process(target.pid)
        assert (row.user, row.uid, row.cmdline) == (proc.username(), proc.uids().real, " ".join(proc.cmdline()))
        assert row.start_time == pytest.approx(proc.create_time(), abs=0.01)
    assert rows[mine[0].pid].cmdline.endswith("  two words")


@pytest.mark.parametrize(
    ("pid_factory", "kind"),
    [
        (lambda pool: 4194304, FailureKind.NO_SUCH_PROCESS),
        (lambda pool: -5, FailureKind.NO_SUCH_PROCESS),
        (lambda pool: pool.spawn(["sh", "-c", "echo ready; exec sleep 60"]).pid, FailureKind.NOT_PYTHON),
    ],
    ids=["missing", "negative", "not-python"],
)
def test_bad_pids_are_typed_errors(targets: TargetPool, pid_factory, kind: FailureKind) -> None:
    with pytest.raises(SafeAttachError) as info:
        inspect_process(pid_factory(targets))
    assert info.value.kind is kind and info.value.hint


def test_zombie_is_reported_as_exited(targets: TargetPool) -> None:
    # a child that exits while its parent (which we started) never reaps it
    parent = targets.spawn(["python3", "-c",
                            "import os,sys,time\npid=os.fork()\nif pid==0: os._exit(0)\n"
                            "print('ready', pid, flush=True)\ntime.sleep(60)"], ready=None)
    line = parent.wait_for("ready")
    zombie = int(line.split()[1])
    with pytest.raises(SafeAttachError) as info:
        for _ in range(200):  # the child may take a moment to become a zombie: poll its state, bounded
            state = Path(f"/proc/{zombie}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z":
                break
            subprocess.run(["true"], check=False)
        inspect_process(zombie)
    assert info.value.kind is FailureKind.PROCESS_EXITED


def test_other_users_process_without_privileges(targets: TargetPool) -> None:
    """An unprivileged client gets openProcess with the reason, not a traceback."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root to run the client as another user")
    target = targets.spawn_script(require("3.14"), "sleepy.py")
    out = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "app", "info",
         str(target.pid)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert out.returncode == 11, out.stderr
    assert "openProcess" in out.stderr and "uid" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("name", ["3.13", "3.14", "3.15"])
def test_cookie_scan_finds_the_same_runtime(targets: TargetPool, name: str) -> None:
    from core.memory import ProcessMemory
    from core.procfs import read_maps
    from core.runtime import locate_runtime, scan_for_cookie

    target = targets.spawn_script(require(name), "sleepy.py")
    with ProcessMemory(target.pid) as mem:
        maps = read_maps(target.pid)
        by_section = locate_runtime(target.pid, mem, maps)
        found = scan_for_cookie(mem, maps)
    assert by_section.source == ".PyRuntime section"
    assert found is not None and found[1] == by_section.address


def test_process_exiting_mid_read_is_typed(targets: TargetPool) -> None:
    from core.memory import ProcessMemory
    from core.target import open_target

    target = targets.spawn_script(require("3.14"), "sleepy.py")
    with open_target(target.pid) as opened:
        address = opened.runtime_address
        target.stop()  # killed and reaped: the pid is gone while we still hold it
        with pytest.raises(SafeAttachError) as info:
            opened.threads()
    assert info.value.kind is FailureKind.PROCESS_EXITED
    with ProcessMemory(target.pid) as mem, pytest.raises(SafeAttachError) as info2:
        mem.read(address, 8)
    assert info2.value.kind is FailureKind.PROCESS_EXITED
