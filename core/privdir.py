"""A private, per-request directory in the target's filesystem view, created without races.

Layout (as the target sees it): ``/tmp/safeattach-<uid>/<request-id>/``. The client reaches it through
``/proc/PID/root`` so that targets in another mount namespace (containers, chroots) see the same files.
Every directory is created with mode 0700 and owned by the target's uid/gid; every component is opened
with O_NOFOLLOW|O_DIRECTORY and re-checked with fstat, so a pre-planted symlink or a directory owned by
somebody else is refused instead of followed.
"""

from __future__ import annotations

import errno
import os
import stat

from core.errors import FailureKind, SafeAttachError
from core.procfs import user_name
from core.records import dataclass, field

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# for files in a directory another uid can write: no link followed, no FIFO/device open blocking, no tty
UNTRUSTED_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


_BASE_RETRIES = 5


class _Vanished(Exception):
    """The directory was removed between creating (or finding) it and opening it."""


def _fail(message: str, **detail: object) -> SafeAttachError:
    return SafeAttachError(
        FailureKind.WRITE_SCRIPT,
        message,
        "The private directory in the target's /tmp could not be created safely; nothing was armed.",
        detail,
    )


def _check_dir(fd: int, uid: int, what: str) -> None:
    st = os.fstat(fd)
    if not stat.S_ISDIR(st.st_mode):
        raise _fail(f"{what} is not a directory")
    if st.st_uid != uid:
        raise _fail(f"{what} is owned by uid {st.st_uid}, expected {uid}", path=what)
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise _fail(f"{what} has mode {stat.S_IMODE(st.st_mode):o}, expected 0700", path=what)


def mkdir_private(parent_fd: int, name: str, uid: int, gid: int, *, must_create: bool) -> int:
    """mkdir name (0700) under parent_fd, chown it, open it without following links, verify it."""
    created = False
    try:
        os.mkdir(name, 0o700, dir_fd=parent_fd)
        created = True
    except FileExistsError:
        if must_create:
            raise _fail(f"{name} already exists") from None
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT and not must_create:
            raise _Vanished(name) from exc
        if exc.errno == errno.ELOOP or exc.errno == errno.ENOTDIR:
            raise _fail(f"{name} is a symlink or not a directory; refusing to follow it") from exc
        raise _fail(f"cannot open {name}: {exc.strerror}") from exc
    try:
        if created:
            os.fchown(fd, uid, gid)
            os.fchmod(fd, 0o700)
        _check_dir(fd, uid, name)
    except BaseException:
        os.close(fd)
        raise
    return fd


@dataclass
class PrivateDir:
    """One request's private directory. `host_path` is how the client reaches it, `target_path` how the
    target names it."""

    root: str  # /proc/PID/root (or "/" for a target in our own view)
    uid: int
    gid: int
    request_id: str
    base_name: str
    _base_fd: int = -1
    _fd: int = -1
    _files: list[str] = field(default_factory=list)

    @property
    def target_path(self) -> str:
        return target_dir(self.uid, self.request_id)

    @property
    def host_path(self) -> str:
        return os.path.join(self.root, "tmp", self.base_name, self.request_id)

    def target_file(self, name: str) -> str:
        return f"{self.target_path}/{name}"

    def host_file(self, name: str) -> str:
        return os.path.join(self.host_path, name)

    def write_file(self, name: str, data: bytes, mode: int = 0o600) -> None:
        """Create name exclusively (never following a link), write data, chown to the target."""
        if "/" in name or name in ("", ".", ".."):
            raise _fail(f"invalid file name {name!r}")
        try:
            fd = os.open(name, _FILE_FLAGS, mode, dir_fd=self._fd)
        except OSError as exc:
            raise _fail(f"cannot create {name} in the private directory: {exc.strerror}") from exc
        self._files.append(name)
        try:
            os.fchown(fd, self.uid, self.gid)
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        finally:
            os.close(fd)

    def exists(self, name: str) -> bool:
        try:
            os.stat(name, dir_fd=self._fd, follow_symlinks=False)
        except OSError:
            return False
        return True

    def read_file(self, name: str, limit: int = 4 << 20) -> bytes | None:
        """The file's content, or None if it is absent. The target's uid can write here, so: never follows
        a link, never blocks (a planted FIFO is refused, not waited on), regular files only, capped."""
        return read_untrusted(self._fd, name, limit)

    def claim(self, name: str, note: bytes = b"") -> bool:
        """Create an O_EXCL marker holding `note`; True if we created it (nobody else had)."""
        try:
            fd = os.open(name, _FILE_FLAGS, 0o600, dir_fd=self._fd)
        except FileExistsError:
            return False
        except OSError:
            return False
        try:
            if note:
                os.write(fd, note)
        except OSError:
            pass
        finally:
            os.close(fd)
        return True

    def close(self) -> None:
        """Let go of the directory without removing it (someone else will). Idempotent."""
        for fd in (self._fd, self._base_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._base_fd = -1

    def cleanup(self) -> None:
        """Remove everything in the request directory and the directory itself. Idempotent."""
        if self._fd >= 0:
            empty_dir(self._fd)
            os.close(self._fd)
            self._fd = -1
        if self._base_fd >= 0:
            try:
                os.rmdir(self.request_id, dir_fd=self._base_fd)
            except OSError:
                pass
            os.close(self._base_fd)
            self._base_fd = -1


def read_untrusted(dir_fd: int, name: str, limit: int) -> bytes | None:
    """Read `name` under `dir_fd` when another uid may have planted it: None if absent; a SafeAttachError
    (payload) if it is a link, not a regular file, or larger than `limit`. Every call returns at once."""
    try:
        fd = os.open(name, UNTRUSTED_READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        why = "is a symlink" if exc.errno == errno.ELOOP else f"cannot be opened: {exc.strerror}"
        raise _untrusted(f"{name} in the private directory {why}; refusing it") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _untrusted(f"{name} in the private directory is not a regular file "
                             f"({_file_type(st.st_mode)}); refusing to read it")
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            try:
                chunk = os.read(fd, limit + 1 - total)
            except BlockingIOError:  # regular files never block; belt and braces
                raise _untrusted(f"{name} in the private directory would block") from None
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
        raise _untrusted(f"{name} in the private directory is larger than {limit} bytes; refusing it")
    finally:
        os.close(fd)


def _untrusted(message: str) -> SafeAttachError:
    return SafeAttachError(FailureKind.PAYLOAD, message,
                           "Something other than safeattach's loader wrote into the request's private directory "
                           "(its owner, the target's uid, can); the attempt was stopped instead of trusting it.")


def _file_type(mode: int) -> str:
    kinds = ((stat.S_ISLNK, "a symlink"), (stat.S_ISREG, "a regular file"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISDIR, "a directory"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"))
    for test, word in kinds:
        if test(mode):
            return word
    return f"mode {mode:o}"


def base_dir_name(uid: int) -> str:
    """`safeattach-<uid>`: the per-user directory in the target's /tmp that holds request dirs and locks."""
    return f"safeattach-{uid}"


def target_dir(uid: int, request_id: str) -> str:
    """A request's private directory as the target sees it."""
    return f"/tmp/{base_dir_name(uid)}/{request_id}"


def open_base_dir(root: str, base_name: str, uid: int, gid: int,
                  unreachable: FailureKind = FailureKind.WRITE_SCRIPT) -> int:
    """Open (creating it private if needed) `<root>/tmp/<base_name>`; the caller closes the fd."""
    tmp = os.path.join(root, "tmp")
    try:
        tmp_fd = os.open(tmp, _DIR_FLAGS)
    except OSError as exc:
        raise SafeAttachError(unreachable, f"the target's /tmp is not reachable at {tmp}: {exc.strerror}",
                              "The private directory in the target's /tmp could not be created safely; "
                              "nothing was armed.") from exc
    try:
        for _ in range(_BASE_RETRIES):
            try:
                return mkdir_private(tmp_fd, base_name, uid, gid, must_create=False)
            except _Vanished:  # removed by another client between our mkdir and open: make it again
                continue
        raise _fail(f"{base_name} keeps disappearing while it is opened")
    except SafeAttachError as exc:
        raise _base_dir_error(exc, tmp_fd, os.path.join(tmp, base_name), base_name, uid) from None
    finally:
        os.close(tmp_fd)


def remove_base_if_empty(root: str, base_name: str) -> None:
    """rmdir `<root>/tmp/<base_name>` when nothing is left in it, so a target's /tmp ends as it began. Safe
    against concurrent clients: rmdir fails on a non-empty directory, and a client that opened the base
    just before it went retries (open_base_dir, TargetLock, create_private_dir)."""
    try:
        tmp_fd = os.open(os.path.join(root, "tmp"), _DIR_FLAGS)
    except OSError:
        return
    try:
        os.rmdir(base_name, dir_fd=tmp_fd)
    except OSError:
        pass
    finally:
        os.close(tmp_fd)


def _base_dir_error(exc: SafeAttachError, tmp_fd: int, path: str, base_name: str, uid: int) -> SafeAttachError:
    """Somebody pre-created the per-user directory wrongly (owner, mode, a symlink): say exactly which path,
    what it is, and how to remove it."""
    try:
        st = os.stat(base_name, dir_fd=tmp_fd, follow_symlinks=False)
    except OSError:
        return exc
    owner = f"{user_name(st.st_uid)} (uid {st.st_uid})"
    what = _file_type(st.st_mode) if not stat.S_ISDIR(st.st_mode) else "a directory"
    if stat.S_ISLNK(st.st_mode):
        try:
            what = f"a symlink to {os.readlink(base_name, dir_fd=tmp_fd)!r}"
        except OSError:
            what = "a symlink"
    import shlex  # only for this hint (start-up)

    seen = f" (the target sees /tmp/{base_name})" if path != f"/tmp/{base_name}" else ""
    who = "root" if st.st_uid == 0 else f"{user_name(st.st_uid)} or root"
    hint = (f"{path}{seen} is {what}, owned by {owner}, mode {stat.S_IMODE(st.st_mode):04o}; safeattach needs a "
            f"directory owned by uid {uid} with mode 0700 there, and never uses or changes one it did not make. "
            f"Remove it (as {who}): rm -rf {shlex.quote(path)}")
    detail = {**exc.detail, "path": path, "owner_uid": st.st_uid, "mode": f"{stat.S_IMODE(st.st_mode):04o}"}
    return SafeAttachError(exc.kind, f"{path}: {exc.message}", hint, detail)


def empty_dir(fd: int, depth: int = 0) -> None:
    """Unlink every file of the directory open at `fd`; with `depth`, also remove its subdirectories that many
    levels down, never following a link. Depth 0 keeps a debugpy request's `gate/`: the adapter the target
    starts reads it after the attach returns; stale-request collection removes it later."""
    try:
        names = os.listdir(fd)
    except OSError:
        return
    for name in names:
        try:
            os.unlink(name, dir_fd=fd)
            continue
        except IsADirectoryError:
            pass
        except OSError:
            continue
        if depth > 0:
            remove_dir_at(fd, name, depth - 1)


def remove_dir_at(parent_fd: int, name: str, depth: int = 0) -> bool:
    """Empty and remove the directory `name` under `parent_fd`, best effort, never following links; True when
    it is gone."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        empty_dir(fd, depth)
    finally:
        os.close(fd)
    try:
        os.rmdir(name, dir_fd=parent_fd)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def create_private_dir(root: str, uid: int, gid: int, request_id: str | None = None) -> PrivateDir:
    """Create `<root>/tmp/safeattach-<uid>/<request-id>/` owned by uid:gid with mode 0700."""
    rid = request_id or os.urandom(8).hex()  # what secrets.token_hex does, without importing hashlib
    base_name = base_dir_name(uid)
    for attempt in range(_BASE_RETRIES):
        base_fd = open_base_dir(root, base_name, uid, gid)
        try:
            fd = mkdir_private(base_fd, rid, uid, gid, must_create=True)
            break
        except FileNotFoundError:  # the base went (removed empty by another client) after we opened it
            os.close(base_fd)
            if attempt == _BASE_RETRIES - 1:
                raise _fail(f"{base_name} keeps disappearing while a request is created") from None
        except BaseException:
            os.close(base_fd)
            raise
    return PrivateDir(
        root=root, uid=uid, gid=gid, request_id=rid, base_name=base_name, _base_fd=base_fd, _fd=fd
    )
