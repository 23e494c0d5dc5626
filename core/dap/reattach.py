"""Where a debugpy server already listens in a process, remembered between attaches.

One JSON file per (pid, start ticks) under `<state dir>/reattach/` (`SAFEATTACH_STATE_DIR` overrides the
XDG state dir, as for the attempt log). An entry is used only after `validate` confirmed, from /proc alone,
that the process is the same one (start ticks), that the process owning the listening socket is the same
one, and that it still has that port in LISTEN state. We never connect to check a port: debugpy's adapter
can refuse every later client after a connection that closes without speaking.
"""

from __future__ import annotations

import json
import os
import stat
import time

from core.attemptlog import state_location
from core.paths import write_atomic
from core.procfs import start_ticks_of
from core.records import asdict, dataclass

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from core.results import JSONObject

_LISTEN = "0A"


@dataclass(frozen=True)
class CacheEntry:
    pid: int
    start_ticks: int
    host: str  # what debugpy listens on, in the target's network namespace
    port: int
    debugpy_version: str
    listener_pid: int  # the process that owns the listening socket (debugpy's adapter, or the target)
    listener_start_ticks: int
    bridge_socket: str | None = None  # in-target relay socket, as the target sees it
    created: float = 0.0
    gate: JSONObject | None = None  # the peer gate debugpy's adapter runs behind (see in_target_adapter_gate)


def cache_dir() -> str:
    return os.path.join(state_location(), "reattach")


def _path(pid: int, start_ticks: int) -> str:
    return os.path.join(cache_dir(), f"{pid}-{start_ticks}.json")


def load(pid: int, start_ticks: int) -> CacheEntry | None:
    """The stored entry for this process incarnation, or None (missing or unreadable)."""
    try:
        with open(_path(pid, start_ticks), encoding="utf-8") as f:
            data = json.load(f)
        entry = CacheEntry(**data)
    except (OSError, ValueError, TypeError):
        return None
    if (entry.pid, entry.start_ticks) != (pid, start_ticks) or not isinstance(entry.gate, (dict, type(None))):
        return None
    return entry


def store(entry: CacheEntry) -> None:
    """Write atomically (private dir, 0600) and drop entries of processes that are gone."""
    os.makedirs(cache_dir(), mode=0o700, exist_ok=True)
    data = {**asdict(entry), "created": entry.created or time.time()}
    write_atomic(_path(entry.pid, entry.start_ticks), json.dumps(data, sort_keys=True).encode())
    prune()


def forget(pid: int, start_ticks: int) -> None:
    try:
        os.unlink(_path(pid, start_ticks))
    except OSError:
        pass


def prune() -> None:
    """Remove entries whose process no longer exists (or is another process with the same PID)."""
    try:
        names = os.listdir(cache_dir())
    except OSError:
        return
    for name in names:
        stem, _, ext = name.partition(".")
        pid_s, _, ticks_s = stem.partition("-")
        if ext != "json" or not pid_s.isdigit() or not ticks_s.isdigit():
            continue
        if start_ticks_of(int(pid_s)) != int(ticks_s):
            forget(int(pid_s), int(ticks_s))


def validate(entry: CacheEntry) -> str | None:
    """None when the entry still describes a listening server; else why it does not."""
    if start_ticks_of(entry.pid) != entry.start_ticks:
        return "the process is not the one that was cached (it exited or its PID was reused)"
    if start_ticks_of(entry.listener_pid) != entry.listener_start_ticks:
        return f"the process that listened on port {entry.port} (PID {entry.listener_pid}) is gone"
    if entry.port not in listening_ports(entry.listener_pid):
        return f"nothing listens on port {entry.port} any more"
    if entry.bridge_socket is not None and not _is_socket(f"/proc/{entry.pid}/root{entry.bridge_socket}"):
        return "the in-target bridge socket is gone"
    return None


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


# -- listening sockets, from /proc only --------------------------------------------------------------------


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return inodes
    for fd in fds:
        try:
            link = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    return inodes


def listen_rows(pid: int) -> list[tuple[int, str]]:
    """(port, inode) of every TCP LISTEN socket in the network namespace of `pid`."""
    rows: list[tuple[int, str]] = []
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[3] == _LISTEN:
                rows.append((int(cols[1].rsplit(":", 1)[1], 16), cols[9]))
    return rows


def listening_ports(pid: int) -> set[int]:
    """TCP ports on which the process itself holds a LISTEN socket."""
    owned = _socket_inodes(pid)
    return {port for port, inode in listen_rows(pid) if inode in owned}


def find_listener(pid: int, port: int, hint: int | None = None) -> int | None:
    """The PID owning the LISTEN socket on `port` in the network namespace of `pid`: the process itself
    (in-process adapter) or another process in that namespace (debugpy's daemonised adapter). `hint`, a PID
    the target named (untrusted), is checked first, the same way, before every process is looked at."""
    inodes = {inode for p, inode in listen_rows(pid) if p == port}
    if not inodes:
        return None
    if _socket_inodes(pid) & inodes:
        return pid
    try:
        net = os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None
    candidates = os.listdir("/proc")
    if hint is not None and hint > 0:
        candidates.insert(0, str(hint))
    for entry in candidates:
        if not entry.isdigit() or int(entry) == pid:
            continue
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino != net:
                continue
        except OSError:
            continue
        if _socket_inodes(int(entry)) & inodes:
            return int(entry)
    return None

