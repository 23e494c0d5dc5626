"""Never two requests at once: one safeattach attach per target at a time, and never over another
debugger's armed request (CPython keeps one path buffer per thread state; a second writer replaces the
first request, and the first client's cancel would then disarm the second one)."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time

from core.errors import FailureKind, SafeAttachError
from core.memory import ProcessMemory
from core.privdir import base_dir_name, open_base_dir
from core.requests import CancelToken

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

POLL = 0.02
_PLANTED_HINT = ("Something other than safeattach created this name in the target's /tmp/safeattach-UID "
                 "directory; remove it (as the target's user or root) and retry. Nothing was written.")


class TargetLock:
    """An flock on `<target /tmp>/safeattach-<uid>/attach-<pid>-<start>.lock`, shared by every client that
    can reach the target's filesystem view (root and the target's own user alike)."""

    def __init__(self, root: str, uid: int, gid: int, pid: int, start_ticks: int) -> None:
        self.root, self.uid, self.gid = root, uid, gid
        self.name = f"attach-{pid}-{start_ticks}.lock"
        self._base_fd = -1
        self._fd = -1

    def acquire(self, timeout: float, cancel: CancelToken | None, say: Callable[[str], None]) -> None:
        self._base_fd = open_base_dir(self.root, base_dir_name(self.uid), self.uid, self.gid)
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            try:
                fd = self._open_lock_file()
            except FileNotFoundError:  # another client removed the (then empty) base dir: take a new one
                os.close(self._base_fd)
                self._base_fd = -1
                if time.monotonic() >= deadline:
                    raise SafeAttachError(FailureKind.BUSY, "the private base directory keeps disappearing") from None
                self._base_fd = open_base_dir(self.root, base_dir_name(self.uid), self.uid, self.gid)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                if not announced:
                    say("another safeattach attach to this process is in progress; waiting for it")
                    announced = True
                if time.monotonic() >= deadline or (cancel is not None and cancel.wait(POLL)):
                    self.release()
                    raise SafeAttachError(
                        FailureKind.BUSY, "another safeattach attach to this process is still in progress"
                    ) from None
                if cancel is None:
                    time.sleep(POLL)
                continue
            # the holder before us may have unlinked the file after we opened it: lock the live file only
            try:
                same = os.stat(self.name, dir_fd=self._base_fd, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                if os.fstat(fd).st_uid != self.uid:
                    os.fchown(fd, self.uid, self.gid)
                return
            os.close(fd)

    def _open_lock_file(self) -> int:
        """The target's uid owns the base directory and could plant anything under the lock's name: open it
        without following links or blocking (a FIFO), and accept a regular file only."""
        try:
            fd = os.open(self.name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
                         | os.O_CLOEXEC, 0o600, dir_fd=self._base_fd)
        except FileNotFoundError:
            raise  # the base directory went away meanwhile: the caller opens a new one
        except OSError as exc:
            self.release()
            raise SafeAttachError(FailureKind.BUSY, f"the lock file {self.name} cannot be opened: {exc.strerror}",
                                  _PLANTED_HINT) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            self.release()
            raise SafeAttachError(FailureKind.BUSY, f"the lock file {self.name} is not a regular file",
                                  _PLANTED_HINT)
        return fd

    @property
    def base_fd(self) -> int:
        """The base directory the lock lives in (valid while the lock is held)."""
        return self._base_fd

    def release(self) -> None:
        if self._fd >= 0:
            try:
                os.unlink(self.name, dir_fd=self._base_fd)  # while still holding the lock
            except OSError:
                pass
            os.close(self._fd)  # closes the lock too
            self._fd = -1
        if self._base_fd >= 0:
            os.close(self._base_fd)
            self._base_fd = -1


def check_no_foreign_request(mem: ProcessMemory, pending_address: int, path_address: int, path_size: int,
                             uid: int, say: Callable[[str], None]) -> None:
    """Refuse to overwrite a request another debugger armed and that has not run yet. Our own leftovers (a
    safeattach client that died mid-attach) are expired or withdrawn loaders and may be replaced."""
    if mem.read_i32(pending_address) != 1:
        return
    raw = mem.read(path_address, path_size)
    path = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
    if path.startswith(f"/tmp/{base_dir_name(uid)}/"):
        say(f"replacing a stale safeattach request left armed in this thread ({path})")
        return
    raise SafeAttachError(
        FailureKind.BUSY,
        f"another debugger's request is armed in this thread and has not run yet: {path!r}",
        "It runs when the thread next reaches a safe point (pdb -p and sys.remote_exec leave requests like "
        "this). Retry after it has run; nothing was written.",
        detail={"pending_script": path},
    )
