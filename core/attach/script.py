"""Checking the user's script against the *target's* credentials, and building the exec payload.

A root client could read any file; the target must not be handed a script its own uid could not read
(that would leak the file across a privilege boundary), so readability is judged with the target's uid,
gid and supplementary groups. When the target sees the very same file at the same path, it reads it
itself (like `sys.remote_exec`); otherwise (another mount namespace or root) a copy goes into the
private directory.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from core.errors import FailureKind, SafeAttachError
from core.payload import PayloadSpec

SCRIPT_COPY_NAME = "script.py"
MAX_SCRIPT_BYTES = 16 * 1024 * 1024


def target_groups(pid: int) -> set[int]:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Groups:"):
                    return {int(g) for g in line.split()[1:]}
    except (OSError, ValueError):
        pass
    return set()


def readable_by(st: os.stat_result, uid: int, gids: set[int]) -> bool:
    if uid == 0:
        return True
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid == uid:
        return bool(mode & stat.S_IRUSR)
    if st.st_gid in gids:
        return bool(mode & stat.S_IRGRP)
    return bool(mode & stat.S_IROTH)


def _unreadable(message: str, path: str) -> SafeAttachError:
    return SafeAttachError(FailureKind.SCRIPT_UNREADABLE, message, detail={"script": path})


@dataclass(frozen=True)
class ScriptPlan:
    caller_path: str
    copied: bool  # True: a copy goes into the private dir; False: the target opens caller_path itself
    content: bytes


def check_script(script: str, pid: int, root: str, uid: int, gid: int) -> ScriptPlan:
    path = os.path.abspath(script)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _unreadable(f"Script file does not exist: {path}", path) from None
    except OSError as exc:
        raise _unreadable(f"Script file cannot be read: {path}: {exc.strerror}", path) from None
    if not stat.S_ISREG(st.st_mode):
        raise _unreadable(f"Script is not a regular file: {path}", path)
    gids = target_groups(pid) | {gid}
    if not readable_by(st, uid, gids):
        raise _unreadable(
            f"the target (uid {uid}) cannot read {path} (mode {stat.S_IMODE(st.st_mode):o}, owner {st.st_uid})",
            path,
        )
    if st.st_size > MAX_SCRIPT_BYTES:
        raise _unreadable(f"Script is larger than {MAX_SCRIPT_BYTES} bytes: {path}", path)
    try:
        with open(path, "rb") as f:
            content = f.read(MAX_SCRIPT_BYTES + 1)
    except OSError as exc:
        raise _unreadable(f"Script file cannot be read: {path}: {exc.strerror}", path) from None
    try:
        in_target = os.stat(os.path.join(root, path.lstrip("/")))
        same = (in_target.st_dev, in_target.st_ino) == (st.st_dev, st.st_ino)
    except OSError:
        same = False
    return ScriptPlan(caller_path=path, copied=not same, content=content)


def exec_spec(plan: ScriptPlan, private_dir_in_target: str) -> PayloadSpec:
    from core.payloads import exec_payload

    if not plan.copied:
        return exec_payload(plan.caller_path)
    spec = exec_payload(f"{private_dir_in_target}/{SCRIPT_COPY_NAME}")
    return PayloadSpec(spec.name, spec.source, spec.params, {**spec.files, SCRIPT_COPY_NAME: plan.content})
