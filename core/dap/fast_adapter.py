"""debugpy's adapter started by the client, in parallel with the injection (what `debugpy --pid` gains time by).

Today's path has the payload call `debugpy.listen()`, which spawns the adapter from inside the target and
waits for it. Here the client spawns the same adapter, early, as it would run if the target had spawned it:
the target's interpreter and debugpy copy, in the target's root (a chroot into /proc/PID/root when it is not
ours), as the target's uid, gid and supplementary groups (dropped before exec when we are root; no
capability survives, verified), with the target's initial environment and the same peer-uid gate as its
sitecustomize. It runs in a session of its own with /dev/null for stdio and no inherited descriptor. The
payload then connects pydevd to the adapter's server port with the access token, as `debugpy --pid` does.

It applies only where that adapter is the one the target would have started: same network, mount, pid and
user namespaces, a target whose uids and gids are not mixed (no set-id), whose interpreter is a `python*`
executable, on Python 3.12+ (the payload connects from a thread of its own). Other targets keep the old path.
The adapter ends on its own: the gate stops it when no debug server connected by the request's deadline,
and after the idle timeout when no client is connected; a failed attach kills it at once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

from core.errors import FailureKind, SafeAttachError
from core.payloads.sources import payload_source
from core.privdir import mkdir_private, open_base_dir, remove_dir_at
from core.procfs import exe_path, same_namespace, same_root, start_ticks_of, status_field
from core.records import dataclass, field

ENDPOINTS = "endpoints"  # written by the gate once both ports listen: "<client port> <server port> <pid>"
MARKER = "installed"  # written by the gate once installed (fail closed without it)
SERVER_GRACE = 20.0  # seconds past the request's timeout the adapter waits for the server (the payload's budget)
EXEC_WAIT = 2.0  # seconds the staging waits for the bootstrap to exec the adapter (milliseconds, normally)
_BOOT_FAILED = 71

# Runs as `python -I -S -c BOOT` (the client's interpreter), its configuration on stdin (never in its command
# line, which every local user can read: it holds the target's environment): enter the target's root, become
# the target's user, check that nothing of root's is left, exec the adapter with /dev/null for stdin.
# Everything is imported and opened before chroot.
BOOT = r"""
import json, os
try:
    data = b""
    while True:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        data += chunk
    c = json.loads(data)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    status = os.open("/proc/self/status", os.O_RDONLY)
    if c["chroot"]:
        os.chroot(c["chroot"])
    os.chdir("/")
    uid, gid, groups = c["uid"], c["gid"], c["groups"]
    if os.geteuid() != uid or os.getegid() != gid or sorted(os.getgroups()) != sorted(groups):
        os.setgroups(groups)
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise SystemExit("ids")
    if sorted(os.getgroups()) != sorted(groups):
        raise SystemExit("groups")
    if uid != 0:
        caps = {}
        for line in os.pread(status, 65536, 0).decode().splitlines():
            k, _, v = line.partition(":")
            caps[k] = v.strip()
        for k in ("CapEff", "CapPrm", "CapAmb", "CapInh"):
            if int(caps.get(k, "1"), 16) != 0:
                raise SystemExit(k)
    os.close(status)
    os.set_inheritable(c["report_fd"], False)  # closed by a successful exec: the client reads EOF
    os.execve(c["argv"][0], c["argv"], c["env"])
except BaseException as exc:
    try:
        os.write(c["report_fd"], repr(exc).encode()[:500] or b"failed")
    except BaseException:
        pass
    os._exit(BOOT_FAILED)
""".replace("BOOT_FAILED", str(_BOOT_FAILED))


def blocker(pid: int, version: tuple[int, int], ours: bool) -> str | None:
    """Why the client may not start this target's adapter itself (None: it may)."""
    if version < (3, 12):
        return "the target's Python is older than 3.12"
    if not ours:
        return "the target gets an older debugpy release"
    for ns in ("net", "mnt", "pid", "user"):
        if same_namespace(pid, ns) is not True:
            return f"the target is in another {ns} namespace"
    if same_root(pid) is not True and os.geteuid() != 0:
        return "the target has another root directory, and entering it needs root"
    ids = _ids(pid)
    if ids is None:
        return "the target's uids and gids are mixed (or unreadable)"
    if os.geteuid() != 0 and (os.geteuid(), os.getegid(), sorted(os.getgroups())) != (ids[0], ids[1], sorted(ids[2])):
        return "the target runs with other ids (user, group or groups), and taking them needs root"
    if not os.path.basename(exe_path(pid)).startswith("python"):
        return "the target's executable is not a Python interpreter"
    return None


def _ids(pid: int) -> tuple[int, int, list[int]] | None:
    """(uid, gid, supplementary groups) of a target whose real, effective and saved ids agree."""
    uids, gids, groups = (status_field(pid, k) for k in ("Uid", "Gid", "Groups"))
    if uids is None or gids is None or groups is None:
        return None
    u, g = set(uids.split()[:3]), set(gids.split()[:3])
    if len(u) != 1 or len(g) != 1:
        return None
    return int(u.pop()), int(g.pop()), [int(x) for x in groups.split()]


def _target_view(pid: int, host_path: str) -> str:
    """A path we see inside the target's root, as the target names it."""
    if same_root(pid):
        return host_path
    root = os.path.realpath(f"/proc/{pid}/root")
    if not host_path.startswith(root.rstrip("/") + "/"):
        raise SafeAttachError(FailureKind.PAYLOAD, f"{host_path} is not inside the target's root {root}")
    return host_path[len(root.rstrip("/")):]


def _environ(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        raw = f.read()
    env: dict[str, str] = {}
    for item in raw.split(b"\0"):
        k, sep, v = item.partition(b"=")
        if sep and k:
            env[k.decode(errors="surrogateescape")] = v.decode(errors="surrogateescape")
    return env


@dataclass
class FastAdapter:
    """One adapter the client started for one target; `endpoints()` once it listens, `kill()` on failure."""

    pid: int  # the target
    root: str  # the target's root, our view (/proc/PID/root)
    dir_name: str  # its directory under <root>/tmp/<base>/
    base: str
    token: str  # the server access token the payload presents
    host: str
    port: int
    proc: subprocess.Popen[bytes]
    python: str  # the interpreter running the adapter, target's view
    server_deadline: float  # epoch seconds: the gate stops the adapter if no debug server connected by then
    report: socket.socket  # where the adapter reports its endpoints (--for-server): held until the attach ends
    exec_fd: int = -1  # EOF once the bootstrap exec'd the adapter; its reason if it failed before
    started: float = field(default_factory=time.monotonic)
    adapter_pid: int | None = None
    client_port: int | None = None
    server_port: int | None = None
    reported: bool = False

    @property
    def dir_target_path(self) -> str:
        return f"/tmp/{self.base}/{self.dir_name}"

    def _host_file(self, name: str) -> str:
        return os.path.join(self.root, "tmp", self.base, self.dir_name, name)

    def endpoints(self, timeout: float) -> tuple[int, int, int]:
        """(client port, server port, adapter pid) once the gated adapter listens on both."""
        deadline = time.monotonic() + timeout
        while self.adapter_pid is None:
            text = _read_small(self._host_file(ENDPOINTS))
            if text is not None:
                try:
                    client, server, pid = (int(x) for x in text.split())
                except ValueError:
                    raise SafeAttachError(FailureKind.PAYLOAD, "the debug adapter announced garbled ports") from None
                self.client_port, self.server_port, self.adapter_pid = client, server, pid
                break
            status = self._exit_status()
            if status not in (None, 0):
                raise SafeAttachError(FailureKind.PAYLOAD,
                                      f"the debug adapter exited with status {status} before listening")
            if time.monotonic() > deadline:
                raise SafeAttachError(FailureKind.PAYLOAD, f"the debug adapter did not listen within {timeout:g}s")
            time.sleep(0.003)
        assert self.client_port is not None and self.server_port is not None
        self._take_report(deadline)
        if not os.path.exists(self._host_file(MARKER)):
            self.kill()
            raise SafeAttachError(FailureKind.PAYLOAD,
                                  "the debug adapter runs without safeattach's gate; it was stopped")
        return self.client_port, self.server_port, self.adapter_pid

    def _take_report(self, deadline: float) -> None:
        """Read the adapter's own endpoints report, so that closing `report` later cannot fail its connect."""
        while not self.reported:
            self.report.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                conn, _ = self.report.accept()
            except OSError:
                raise SafeAttachError(FailureKind.PAYLOAD, "the debug adapter did not report its endpoints") from None
            try:
                conn.settimeout(max(0.01, deadline - time.monotonic()))
                data = b""
                while len(data) < 4096:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                got = json.loads(data.decode("utf-8"))
                self.reported = int(got["server"]["port"]) == self.server_port
            except (OSError, ValueError, KeyError, TypeError):
                pass  # not the adapter (any local user can connect here): wait for the real report
            finally:
                conn.close()

    def exec_failure(self, timeout: float) -> str | None:
        """Why the bootstrap could not exec the adapter (entering the root, taking the target's ids, the check
        that no privilege is left, the exec itself), or None once it did."""
        if self.exec_fd < 0:
            return None
        import select

        ready, _, _ = select.select([self.exec_fd], [], [], timeout)
        if not ready:
            return f"the adapter was not started within {timeout:g}s"
        why = os.read(self.exec_fd, 1024)
        os.close(self.exec_fd)
        self.exec_fd = -1
        return why.decode(errors="replace") if why else None

    def owned_pid(self) -> int | None:
        """The announced adapter pid, if it is the process we started: in our process group, whose leader
        (the process we spawned, a zombie at worst) keeps the group id from being reused."""
        pid = self.adapter_pid
        if pid is None or not self.reported:
            return None
        try:
            return pid if os.getpgid(pid) == self.proc.pid and pid != self.pid else None
        except OSError:
            return None

    def reap(self) -> None:
        """The spawned process daemonises (forks, the parent exits): collect the parent once it did."""
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _exit_status(self) -> int | None:
        """The spawned process's exit status, without reaping it (its pid must stay ours: see `kill`)."""
        if self.proc.returncode is not None:
            return self.proc.returncode
        try:
            info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return None
        return None if info is None else info.si_status

    def kill(self) -> None:
        """Stop the adapter (and its daemonised child, in the same process group). Until the process we
        spawned is reaped, its pid (the group's id) cannot name anyone else's processes; after, only the
        announced adapter pid is signalled, once it is found in that group."""
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        elif self.adapter_pid is not None and self.adapter_pid > 1:
            try:  # the announced pid is only a hint: it must be in our group
                if os.getpgid(self.adapter_pid) == self.proc.pid:
                    os.kill(self.adapter_pid, signal.SIGKILL)
            except OSError:
                pass
        self.reap()

    def cleanup(self) -> None:
        """Remove the adapter's directory (the adapter read its sitecustomize long before)."""
        self.report.close()
        if self.exec_fd >= 0:
            os.close(self.exec_fd)
            self.exec_fd = -1
        try:
            base_fd = os.open(os.path.join(self.root, "tmp", self.base), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            return
        try:
            remove_dir_at(base_fd, self.dir_name)
        except (OSError, SafeAttachError):
            pass
        finally:
            os.close(base_fd)
        try:
            os.rmdir(os.path.join(self.root, "tmp", self.base))
        except OSError:
            pass


def _read_small(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        return os.read(fd, 256).decode(errors="replace")
    finally:
        os.close(fd)


@dataclass
class Boot:
    """The bootstrap process, started before its configuration is known: its interpreter's start-up (about
    10 ms) overlaps with finding the debugpy copy. It does nothing until `start` writes its configuration on
    its stdin; `abandon` ends it when no adapter is started after all."""

    proc: subprocess.Popen[bytes]
    exec_r: int  # EOF once the bootstrap exec'd the adapter; its reason if it failed before
    report_fd: int  # the bootstrap's end of that pipe (its own descriptor number)

    def abandon(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # a session and group of its own: nothing else of ours
        except OSError:
            pass
        self.proc.wait()
        os.close(self.exec_r)


_prestarted: list[Boot] = []  # at most one, started by `prestart` and taken by the next `boot`


def prestart() -> None:
    """Start a bootstrap now, for the attach this process is about to run (the CLI calls it before it reads the
    target): its interpreter's start-up then overlaps with the CLI's own. It does nothing until configured; an
    attach that does not take it ends it with `discard_prestarted`, and a client that dies closes its stdin,
    on which it exits."""
    if not _prestarted:
        try:
            _prestarted.append(_spawn_boot())
        except SafeAttachError:
            pass  # `boot` tries again, and reports


def discard_prestarted() -> None:
    while _prestarted:
        _prestarted.pop().abandon()


def boot() -> Boot:
    """The prestarted bootstrap if there is one (still waiting), else a new one."""
    while _prestarted:
        ready = _prestarted.pop()
        if ready.proc.poll() is None:
            return ready
        os.close(ready.exec_r)
    return _spawn_boot()


def _spawn_boot() -> Boot:
    """Start the bootstrap (`python -I -S -c BOOT`), waiting for its configuration on stdin."""
    exec_r, exec_w = os.pipe()
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", BOOT],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                close_fds=True, pass_fds=(exec_w,), start_new_session=True, cwd="/")
    except OSError as exc:
        os.close(exec_r)
        raise SafeAttachError(FailureKind.PAYLOAD, f"cannot start the debug adapter: {exc}") from exc
    finally:
        os.close(exec_w)
    return Boot(proc, exec_r, exec_w)


def start(pid: int, *, debugpy_dir: str, host: str, port: int, allowed: list[int], idle: float,
          open_to_network: bool, server_deadline: float, booting: Boot) -> FastAdapter:
    """Configure `booting` to exec the gated adapter for `pid` (see the module docstring); the caller checked
    `blocker` first. Raises SafeAttachError or OSError, leaving nothing behind (`booting` abandoned)."""
    try:
        return _start(pid, debugpy_dir, host, port, allowed, idle, open_to_network, server_deadline, booting)
    except BaseException:
        booting.abandon()
        raise


def _start(pid: int, debugpy_dir: str, host: str, port: int, allowed: list[int], idle: float,
           open_to_network: bool, server_deadline: float, booting: Boot) -> FastAdapter:
    ids = _ids(pid)
    ticks = start_ticks_of(pid)
    if ids is None or ticks is None:
        raise SafeAttachError(FailureKind.PAYLOAD, "the target's ids could not be read")
    uid, gid, groups = ids
    root = f"/proc/{pid}/root"
    python = _target_view(pid, exe_path(pid))
    env = _environ(pid)
    base = f"safeattach-{uid}-adapter"
    name = f"{pid}-{ticks}-{os.urandom(4).hex()}"
    base_fd = open_base_dir(root, base, uid, gid, unreachable=FailureKind.PAYLOAD)
    try:
        for entry in os.listdir(base_fd):  # directories of targets that are gone
            p, _, rest = entry.partition("-")
            t = rest.partition("-")[0]
            if p.isdigit() and t.isdigit() and start_ticks_of(int(p)) != int(t):
                remove_dir_at(base_fd, entry)
        fd = mkdir_private(base_fd, name, uid, gid, must_create=True)
        try:
            for fname, src in (("sitecustomize.py", "in_target_adapter_gate"),
                               ("safeattach_bytecode.py", "in_target_bytecode")):
                f = os.open(fname, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd)
                try:
                    os.fchown(f, uid, gid)
                    os.write(f, payload_source(src).encode("utf-8"))
                finally:
                    os.close(f)
            return _spawn(pid, root, base, name, python, env, debugpy_dir, host, port, allowed, idle,
                          open_to_network, server_deadline, (uid, gid, groups), booting)
        except BaseException:
            remove_dir_at(base_fd, name)
            raise
        finally:
            os.close(fd)
    finally:
        os.close(base_fd)


def _spawn(pid: int, root: str, base: str, name: str, python: str, env: dict[str, str], debugpy_dir: str,
           host: str, port: int, allowed: list[int], idle: float, open_to_network: bool, server_deadline: float,
           ids: tuple[int, int, list[int]], booting: Boot) -> FastAdapter:
    uid, gid, groups = ids
    dir_view = f"/tmp/{base}/{name}"
    env = dict(env)
    old = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = dir_view + (os.pathsep + old if old else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONSAFEPATH", None)
    env["SAFEATTACH_ADAPTER_GATE"] = json.dumps({
        "allowed": sorted(set(allowed)), "open": open_to_network, "idle": float(idle),
        "marker": f"{dir_view}/{MARKER}", "pythonpath": old, "bytecode": debugpy_dir, "listening": None,
        "endpoints": f"{dir_view}/{ENDPOINTS}", "server_deadline": server_deadline,
    })
    token = os.urandom(32).hex()
    # --for-server reports the endpoints to a port (the adapter exits if nothing listens there): we read that
    # report in `endpoints`, and the payload reads the gate's file
    report = socket.socket()
    report.bind(("127.0.0.1", 0))
    report.listen(1)
    argv = [python, f"{debugpy_dir}/debugpy/adapter", "--for-server", str(report.getsockname()[1]), "--host",
            host, "--port", str(port), "--server-access-token", token]
    config = {"chroot": None if same_root(pid) else root, "uid": uid, "gid": gid, "groups": groups,
              "argv": argv, "env": env, "report_fd": booting.report_fd}
    proc = booting.proc
    assert proc.stdin is not None
    try:
        proc.stdin.write(json.dumps(config).encode("utf-8"))
        proc.stdin.close()
    except OSError:  # it died already: reported by `exec_failure`
        pass
    return FastAdapter(pid=pid, root=root, dir_name=name, base=base, token=token, host=host, port=port, proc=proc,
                       python=python, server_deadline=server_deadline, report=report, exec_fd=booting.exec_r)
