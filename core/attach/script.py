"""Checking the user's script against the *target's* credentials, and building the exec payload.

A root client could read any file; the target must not be handed a script its own uid could not read
(that would leak the file across a privilege boundary), so readability is judged with the target's uid,
gid and supplementary groups — for the file *and* for every directory on the way to it. The file is
opened once: the path is walked one component at a time from directory descriptors with O_NOFOLLOW (a
symlink is resolved here, one checked step at a time, never by the kernel), the final descriptor is
fstat'ed, and the copy comes from that descriptor only, so swapping a path component between the check
and the read gains nothing. When the target sees the very same file at the same path, it reads it itself
(like `sys.remote_exec`, under its own credentials); otherwise (another mount namespace or root) the
checked content goes into the private directory.
"""

from __future__ import annotations

import errno
import os
import stat

from core.errors import FailureKind, SafeAttachError
from core.payloads.contract import PayloadSpec
from core.records import dataclass

SCRIPT_COPY_NAME = "script.py"
MAX_SCRIPT_BYTES = 16 * 1024 * 1024
MAX_SYMLINKS = 40  # like the kernel's limit: a loop ends as an error, not a hang

_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC  # no open side effects (FIFOs, devices)
_ACL_XATTR = "system.posix_acl_access"


@dataclass(frozen=True)
class Creds:
    """Whom a permission check is for: the target's uid(s), gid and supplementary groups. A process with
    several distinct non-root uids (setuid) passes a check only if each of them would."""

    uids: tuple[int, ...]
    gids: frozenset[int]

    @property
    def root(self) -> bool:
        return self.uids == (0,)

    def allows(self, st: os.stat_result, bit_owner: int, bit_group: int, bit_other: int) -> bool:
        return self.root or all(self._allows(uid, st, bit_owner, bit_group, bit_other) for uid in self.uids)

    def _allows(self, uid: int, st: os.stat_result, bit_owner: int, bit_group: int, bit_other: int) -> bool:
        mode = stat.S_IMODE(st.st_mode)
        if st.st_uid == uid:
            return bool(mode & bit_owner)
        if st.st_gid in self.gids:
            return bool(mode & bit_group)
        return bool(mode & bit_other)

    def owns(self, st: os.stat_result) -> bool:
        return st.st_uid in self.uids

    def can_read(self, st: os.stat_result) -> bool:
        return self.allows(st, stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)

    def can_search(self, st: os.stat_result) -> bool:
        return self.allows(st, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)

    def __str__(self) -> str:
        return "uid " + "/".join(str(u) for u in self.uids)


def target_groups(pid: int) -> set[int]:
    return _status_ids(pid).get("Groups", set())


def _status_ids(pid: int) -> dict[str, set[int]]:
    """The Uid/Gid (real, effective, saved, fs) and Groups lines of /proc/PID/status."""
    out: dict[str, set[int]] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("Uid", "Gid", "Groups"):
                    out[key] = {int(v) for v in rest.split()}
    except (OSError, ValueError):
        pass
    return out


def target_creds(pid: int, uid: int, gid: int) -> Creds:
    """Whom to judge readability for. The kernel checks a process's fs uid/gid; /proc/PID's owner (`uid`) is
    root for a non-dumpable process. So every non-root uid the process has (real, effective, saved, fs and
    `uid`) must be allowed; only a process that is root in all of them is treated as root."""
    ids = _status_ids(pid)
    uids = tuple(sorted(u for u in (ids.get("Uid") or set()) | {uid} if u != 0)) or (0,)
    gids = (ids.get("Gid") or set()) | {gid} | ids.get("Groups", set())
    return Creds(uids, frozenset(gids))


def readable_by(st: os.stat_result, uid: int, gids: set[int]) -> bool:
    return Creds((uid,), frozenset(gids)).can_read(st)


def _unreadable(message: str, path: str) -> SafeAttachError:
    return SafeAttachError(FailureKind.SCRIPT_UNREADABLE, message, detail={"script": path})


def _describe(st: os.stat_result) -> str:
    return f"mode {stat.S_IMODE(st.st_mode):o}, owner uid {st.st_uid}, group {st.st_gid}"


def _has_acl(fd: int) -> bool:
    try:
        os.getxattr(f"/proc/self/fd/{fd}", _ACL_XATTR)  # O_PATH fds take no f*xattr calls
    except OSError:
        return False
    return True


class _Walk:
    """Resolves an absolute path from `/` with one O_PATH|O_NOFOLLOW open per component, checking that
    the target may search every directory it passes. Symlinks are read and followed here, each step
    checked the same way."""

    def __init__(self, path: str, creds: Creds) -> None:
        self.path, self.creds = path, creds
        self.links = 0

    def _check_dir(self, fd: int, where: str) -> None:
        st = os.fstat(fd)
        if not stat.S_ISDIR(st.st_mode):
            raise _unreadable(f"{where} is not a directory (on the way to {self.path})", self.path)
        if self.creds.root:
            return
        if not self.creds.can_search(st):
            raise _unreadable(
                f"the target ({self.creds}) cannot reach {self.path}: it may not search the directory "
                f"{where} ({_describe(st)})", self.path)
        if not self.creds.owns(st) and _has_acl(fd):
            raise _unreadable(f"the directory {where} on the way to {self.path} has a POSIX ACL, which "
                              "safeattach does not evaluate; refusing rather than guessing", self.path)

    def open_file(self) -> int:
        """An O_PATH descriptor of the final (non-symlink) file; every directory on the way checked."""
        fd = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        where = "/"
        todo = [c for c in self.path.split("/") if c]
        try:
            while True:
                self._check_dir(fd, where)
                if not todo:
                    raise _unreadable(f"Script is a directory: {self.path}", self.path)
                name = todo.pop(0)
                try:
                    nxt = os.open(name, _PATH_FLAGS, dir_fd=fd)
                except OSError as exc:
                    raise self._os_error(exc, where, name) from None
                st = os.fstat(nxt)
                if stat.S_ISLNK(st.st_mode):
                    os.close(nxt)
                    todo, fd, where = self._follow(fd, where, name, todo)
                    continue
                if not todo:
                    os.close(fd)
                    return nxt
                os.close(fd)
                fd, where = nxt, os.path.join(where, name)
        except BaseException:
            os.close(fd)
            raise

    def _follow(self, fd: int, where: str, name: str, todo: list[str]) -> tuple[list[str], int, str]:
        self.links += 1
        if self.links > MAX_SYMLINKS:
            raise _unreadable(f"too many symbolic links on the way to {self.path}", self.path)
        try:
            link = os.readlink(name, dir_fd=fd)
        except OSError as exc:  # swapped away meanwhile
            raise self._os_error(exc, where, name) from None
        rest = [c for c in link.split("/") if c] + todo
        if link.startswith("/"):
            os.close(fd)
            return rest, os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC), "/"
        return rest, fd, where

    def _os_error(self, exc: OSError, where: str, name: str) -> SafeAttachError:
        shown = os.path.join(where, name)
        if exc.errno == errno.ENOENT:
            return _unreadable(f"Script file does not exist: {self.path} ({shown} is missing)", self.path)
        if exc.errno == errno.ENOTDIR:
            return _unreadable(f"{where} is not a directory (on the way to {self.path})", self.path)
        return _unreadable(f"Script file cannot be read: {self.path}: {shown}: {exc.strerror}", self.path)


@dataclass(frozen=True)
class ScriptPlan:
    caller_path: str
    copied: bool  # True: a copy goes into the private dir; False: the target opens caller_path itself
    content: bytes


def _read_all(fd: int, path: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            raise _unreadable(f"Script file would block on read: {path}", path) from None
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > MAX_SCRIPT_BYTES:
            raise _unreadable(f"Script is larger than {MAX_SCRIPT_BYTES} bytes: {path}", path)
        chunks.append(chunk)


def read_as_target(path: str, creds: Creds) -> tuple[os.stat_result, bytes]:
    """Open `path` once, as described above, and return its fstat and content (capped)."""
    try:
        pfd = _Walk(path, creds).open_file()
    except OSError as exc:
        raise _unreadable(f"Script file cannot be read: {path}: {exc.strerror}", path) from None
    try:
        st = os.fstat(pfd)
        if not stat.S_ISREG(st.st_mode):
            raise _unreadable(f"Script is not a regular file: {path}", path)
        if not creds.can_read(st):
            raise _unreadable(f"the target ({creds}) cannot read {path} ({_describe(st)})", path)
        if not creds.root and not creds.owns(st) and _has_acl(pfd):
            raise _unreadable(f"{path} has a POSIX ACL, which safeattach does not evaluate; refusing rather "
                              "than guessing", path)
        if st.st_size > MAX_SCRIPT_BYTES:
            raise _unreadable(f"Script is larger than {MAX_SCRIPT_BYTES} bytes: {path}", path)
        # reopen the very inode checked above (not the path): no second lookup to race with
        try:
            fd = os.open(f"/proc/self/fd/{pfd}", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
        except OSError as exc:
            raise _unreadable(f"Script file cannot be read: {path}: {exc.strerror}", path) from None
    finally:
        os.close(pfd)
    try:
        st2 = os.fstat(fd)
        if (st2.st_dev, st2.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(st2.st_mode):
            raise _unreadable(f"Script file changed while it was opened: {path}", path)
        return st2, _read_all(fd, path)
    finally:
        os.close(fd)


def check_script(script: str, pid: int, root: str, uid: int, gid: int) -> ScriptPlan:
    path = os.path.abspath(script)
    creds = target_creds(pid, uid, gid)
    st, content = read_as_target(path, creds)
    try:
        in_target = os.stat(os.path.join(root, path.lstrip("/")))
        same = (in_target.st_dev, in_target.st_ino) == (st.st_dev, st.st_ino)
    except OSError:
        same = False
    return ScriptPlan(caller_path=path, copied=not same, content=content)


def exec_spec(plan: ScriptPlan, private_dir_in_target: str) -> PayloadSpec:
    from core.payloads.exec_payload import exec_payload

    if not plan.copied:
        return exec_payload(plan.caller_path)
    spec = exec_payload(f"{private_dir_in_target}/{SCRIPT_COPY_NAME}", filename=plan.caller_path)
    return PayloadSpec(spec.name, spec.source, spec.params, {**spec.files, SCRIPT_COPY_NAME: plan.content})
