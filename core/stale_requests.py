"""Collect what a safeattach client killed mid-attempt (SIGKILL, a crash) left in a target's
`/tmp/safeattach-<uid>/`: request directories and lock files.

A request directory's name says when it expires and who made it for whom:
`r<deadline>-<client pid>-<client start ticks>-<target pid>-<target start ticks>-<random>`. An entry is
removed only when it is ours (name pattern, owner uid, mode, type: checked with lstat, never following a
link) and dead: expired *and* its client is gone, and its target is either gone or the one we hold the lock
of (a live target of another attempt may still have that request armed; removing its loader would make
CPython print "Can't open debugger script" into it), and never while its loader may still run (claimed,
no report yet, target alive). A request whose client is gone but which has not expired yet is withdrawn
instead (its claim marker is created, so its loader is a no-op) and collected
later. A lock file is stale when nobody holds its flock; it is unlinked while we hold it, the same protocol
`TargetLock.release` follows, so a client waiting on it re-checks and retries.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time

from core.privdir import remove_dir_at
from core.procfs import start_ticks_of
from core.records import dataclass

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from core.results import CollectedDetail

# The names are parsed by hand: the two regular expressions they were took 0.26 ms to compile in every exec.
# What they accepted (with ASCII digits: ours are) is held equal in tests/unit/test_stale_requests.py.
_HEX = frozenset("0123456789abcdef")


def _numbers(parts: list[str]) -> list[int] | None:
    if all(p and p.isascii() and p.isdigit() for p in parts):
        return [int(p) for p in parts]
    return None


def _request_numbers(name: str) -> list[int] | None:
    """The five numbers of `r<n>-<n>-<n>-<n>-<n>-<16 hex digits>p*` (p: fault-test padding), or None."""
    if not name.startswith("r"):
        return None
    *numbers, tail = name[1:].split("-", 5)
    token = tail.rstrip("p")
    if len(numbers) != 5 or len(token) != 16 or not _HEX.issuperset(token):
        return None
    return _numbers(numbers)


def is_lock_name(name: str) -> bool:
    """`attach-<n>-<n>.lock`: a target lock file's name."""
    if not (name.startswith("attach-") and name.endswith(".lock")):
        return False
    parts = name[len("attach-"):-len(".lock")].split("-")
    return len(parts) == 2 and _numbers(parts) is not None

_CLAIM = "claim"
WITHDRAWN = b"withdrawn"  # the note a withdrawal leaves in `claim` (core.loader writes the same)


def request_name(expires_in: float, target_pid: int, target_ticks: int) -> str:
    """A fresh request id that records its deadline (rounded up: never earlier than the loader's), this
    client and the target."""
    deadline = -int(-(time.time() + expires_in) // 1) + 1  # rounded up (math.ceil: 0.3 ms of start-up)
    client_ticks = start_ticks_of(os.getpid()) or 0
    return f"r{deadline}-{os.getpid()}-{client_ticks}-{target_pid}-{target_ticks}-{os.urandom(8).hex()}"


@dataclass(frozen=True)
class RequestName:
    deadline: int
    client: tuple[int, int]
    target: tuple[int, int]

    @classmethod
    def parse(cls, name: str) -> RequestName | None:
        numbers = _request_numbers(name)
        if numbers is None:
            return None
        deadline, cpid, cticks, tpid, tticks = numbers
        return cls(deadline, (cpid, cticks), (tpid, tticks))


@dataclass(frozen=True)
class Collected:
    requests: tuple[str, ...] = ()  # removed request directories
    withdrawn: tuple[str, ...] = ()  # orphaned, not yet expired: made a no-op, removed on a later run
    locks: tuple[str, ...] = ()  # removed lock files

    def detail(self) -> CollectedDetail:
        return {"collected_requests": list(self.requests), "withdrawn_orphans": list(self.withdrawn),
                "collected_locks": list(self.locks)}


def _gone(pid: int, ticks: int) -> bool:
    return start_ticks_of(pid) != ticks


def _ours(base_fd: int, name: str, uid: int, kind: int, mode: int) -> bool:
    try:
        st = os.stat(name, dir_fd=base_fd, follow_symlinks=False)
    except OSError:
        return False
    return stat.S_IFMT(st.st_mode) == kind and st.st_uid == uid and stat.S_IMODE(st.st_mode) == mode


def _running(base_fd: int, name: str) -> bool:
    """Claimed by the loader itself (an empty claim: a withdrawal writes a note into it) and without a report
    yet: the loader may still be running its script."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=base_fd)
    except OSError:
        return False
    try:
        claim = os.stat(_CLAIM, dir_fd=fd, follow_symlinks=False)
        reported = os.path.lexists(f"/proc/self/fd/{fd}/result.json")
    except OSError:
        return False  # no claim: the loader never started
    finally:
        os.close(fd)
    return stat.S_ISREG(claim.st_mode) and claim.st_size == 0 and not reported


def _withdraw(base_fd: int, name: str) -> bool:
    try:
        dir_fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=base_fd)
    except OSError:
        return False
    try:
        fd = os.open(_CLAIM, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=dir_fd)
    except OSError:
        return False  # already claimed: the loader ran, or a withdrawal came first
    finally:
        os.close(dir_fd)
    try:
        os.write(fd, WITHDRAWN)
    except OSError:
        pass
    finally:
        os.close(fd)
    return True


def _collect_lock(base_fd: int, name: str) -> bool:
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # O_NONBLOCK: a planted FIFO cannot hang us
    try:
        fd = os.open(name, flags, dir_fd=base_fd)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return False  # a live client holds it
            raise
        try:
            same = os.stat(name, dir_fd=base_fd, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False
        if same:
            os.unlink(name, dir_fd=base_fd)  # while holding the lock
        return same
    except OSError:
        return False
    finally:
        os.close(fd)


_SAY_EACH = 3  # more stale requests than this are summed up in one line
_REQUEST_DEPTH = 2  # a request dir holds files and a debugpy request's gate/ (files): its adapter started long ago


def collect_stale(base_fd: int, uid: int, target: tuple[int, int], own_lock: str,
                  say: Callable[[str], None]) -> Collected:
    """Collect dead entries in the base directory open at `base_fd` (see the module docstring). `target`
    is the (pid, start ticks) whose lock we hold, `own_lock` that lock's file name. Never raises OSError."""
    try:
        names = os.listdir(base_fd)
    except OSError:
        return Collected()
    now = time.time()
    removed: list[str] = []
    withdrawn: list[str] = []
    locks: list[str] = []
    expired: list[str] = []  # what was removed, said once at the end: a machine can hold many of them
    stuck: list[str] = []
    for name in sorted(names):
        parsed = RequestName.parse(name)
        if parsed is not None:
            if not _ours(base_fd, name, uid, stat.S_IFDIR, 0o700) or not _gone(*parsed.client):
                continue
            if parsed.target != target and not _gone(*parsed.target):
                continue  # another live target's request: its own next run collects it
            if not _gone(*parsed.target) and _running(base_fd, name):
                continue  # its loader started and has not reported: it may still be running its script
            if parsed.deadline < now:
                if remove_dir_at(base_fd, name, depth=_REQUEST_DEPTH):
                    removed.append(name)
                    expired.append(f"{name} (expired; client PID {parsed.client[0]} is gone)")
                else:
                    stuck.append(name)
            elif _withdraw(base_fd, name):
                withdrawn.append(name)
                say(f"withdrew an orphaned request {name} (client PID {parsed.client[0]} is gone)")
            continue
        if is_lock_name(name) and name != own_lock and _ours(base_fd, name, uid, stat.S_IFREG, 0o600):
            if _collect_lock(base_fd, name):
                locks.append(name)
                say(f"collected a stale lock {name} (nobody holds it)")
    if len(expired) <= _SAY_EACH:
        for line in expired:
            say(f"collected a stale request {line}")
    else:
        say(f"collected {len(expired)} stale requests (expired; their clients are gone), "
            f"{removed[0]} … {removed[-1]}")
    if stuck:
        say(f"could not remove {len(stuck)} stale request(s), e.g. {stuck[0]}; they are retried on the next run")
    return Collected(tuple(removed), tuple(withdrawn), tuple(locks))
