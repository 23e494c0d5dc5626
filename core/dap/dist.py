"""Make our own debugpy importable by a target, as the target sees the filesystem.

A target that shares our root imports debugpy straight from our install. A target in another root (chroot,
container) gets a copy under its own /tmp, placed through /proc/PID/root: a cached, root-owned,
read-only directory `/tmp/safeattach-debugpy-<version>-<digest>` that is verified before reuse and
replaced when anything about it looks wrong. The compiled pydevd speedups in the copy only fit the client's
CPython; the payload falls back to pure Python (PYDEVD_USE_CYTHON=NO) on other versions.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from core.attemptlog import state_dir
from core.errors import FailureKind, SafeAttachError
from core.paths import write_atomic
from core.procfs import ensure_alive, same_root

_MARKER = ".safeattach-debugpy"
_SKIP_DIRS = {"__pycache__"}
_DIGESTS = "debugpy-digests.json"  # in the state dir: package path -> [file signature, content digest]


@dataclass(frozen=True)
class DebugpyInstall:
    parent: Path  # the directory holding the `debugpy` package (what goes on sys.path), client's view
    version: str

    @cached_property
    def digest(self) -> str:
        """Content digest of the package, naming the cached copy; only needed when copying it."""
        return cached_digest(self.parent / "debugpy")


@cache
def local_debugpy() -> DebugpyInstall:
    """Our own debugpy install, found without importing it; SafeAttachError(INTERNAL) if it is missing."""
    spec = importlib.util.find_spec("debugpy")
    if spec is None or not spec.origin:
        raise SafeAttachError(
            FailureKind.INTERNAL, "debugpy is not installed next to safeattach", hint="pip install debugpy"
        )
    package = Path(spec.origin).resolve().parent
    dist = _dist_info(package.parent)
    if dist is not None:
        return DebugpyInstall(package.parent, dist.name[len("debugpy-"):-len(".dist-info")])
    import debugpy  # no metadata next to it (a source checkout): ask the package itself

    return DebugpyInstall(package.parent, str(debugpy.__version__))


def _dist_info(parent: Path) -> Path | None:
    found = sorted(parent.glob("debugpy-*.dist-info"))
    return found[0] if len(found) == 1 else None


@cache
def debugpy_min_python() -> tuple[int, int]:
    """The oldest CPython our debugpy supports (its Requires-Python), e.g. (3, 10); read from its METADATA file
    (importlib.metadata costs the CLI tens of milliseconds)."""
    dist = _dist_info(local_debugpy().parent)
    try:
        lines = (dist / "METADATA").read_text(encoding="utf-8").splitlines() if dist is not None else []
    except OSError:
        lines = []
    spec = " ".join(line.partition(":")[2] for line in lines if line.lower().startswith("requires-python:"))
    match = re.search(r">=\s*(\d+)\.(\d+)", spec)
    return (int(match[1]), int(match[2])) if match else (3, 10)


def cached_digest(package: Path) -> str:
    """`_digest`, remembered in the state dir under a signature of every file's name, size, mtime and inode
    (hashing the whole package costs each attach about 50 ms)."""
    files = sorted(_files(package))
    sig = hashlib.sha256()
    for path in files:
        st = path.stat()
        sig.update(f"{path.relative_to(package).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
    key, where = sig.hexdigest(), state_dir() / _DIGESTS
    try:
        known = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    entry = known.get(str(package))
    if isinstance(entry, list) and len(entry) == 2 and entry[0] == key and isinstance(entry[1], str):
        return entry[1]
    digest = _digest(package)
    known[str(package)] = [key, digest]
    try:
        where.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(str(where), json.dumps(known, sort_keys=True).encode())
    except OSError:
        pass  # only a speed-up
    return digest


def _digest(package: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(_files(package)):
        # names and contents, not mtimes: identical installs (another venv, a reinstall) share one copy
        h.update(path.relative_to(package).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:12]


def _files(package: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        out += [Path(dirpath, f) for f in filenames if not f.endswith(".pyc")]
    return out


def shares_root(pid: int) -> bool:
    """True when the target's root directory is ours (so our paths mean the same thing to it)."""
    same = same_root(pid)
    if same is None:
        ensure_alive(pid)  # a clear error for a process that is gone
        raise SafeAttachError(FailureKind.OPEN_PROCESS, f"cannot inspect the root directory of process {pid}")
    return same


def debugpy_dir_for_target(pid: int, *, target_uid: int | None = None, install: DebugpyInstall | None = None) -> str:
    """A directory, as the target sees it, that contains a `debugpy` package the target can import: `install`'s
    (our own debugpy by default)."""
    install = install if install is not None else local_debugpy()
    if shares_root(pid) and (target_uid in (None, 0) or _world_readable(install.parent / "debugpy")):
        return str(install.parent)
    return install_into_root(Path(f"/proc/{pid}/root"), install)


def install_into_root(root: Path, install: DebugpyInstall | None = None) -> str:
    """Copy `install`'s debugpy (our own by default) under root/tmp, cached and verified; return the path as
    seen inside root."""
    install = install if install is not None else local_debugpy()
    name = f"safeattach-debugpy-{install.version}-{install.digest}"
    tmp = root / "tmp"
    dest = tmp / name
    if _trusted_copy(dest, install):
        return f"/tmp/{name}"
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=tmp))
        try:
            shutil.copytree(
                install.parent / "debugpy",
                staging / "debugpy",
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
            (staging / _MARKER).write_text(install.digest)
            _seal(staging)
            if dest.exists() or dest.is_symlink():
                _remove(dest)
            os.rename(staging, dest)
        except BaseException:
            _remove(staging)
            raise
    except OSError as exc:
        raise SafeAttachError(
            FailureKind.PAYLOAD,
            f"cannot place debugpy into the target's filesystem at {dest}: {exc}",
            hint="the target's /tmp must be writable by the client (root)",
        ) from exc
    return f"/tmp/{name}"


def _trusted_copy(dest: Path, install: DebugpyInstall) -> bool:
    """A previous copy is reused only if it is ours: a real directory owned by us, writable by nobody else."""
    try:
        st = os.lstat(dest)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return False
        marker = dest / _MARKER
        mst = os.lstat(marker)
        if not stat.S_ISREG(mst.st_mode) or mst.st_uid != os.geteuid() or mst.st_mode & 0o022:
            return False
        if marker.read_text() != install.digest:
            return False
        for dirpath, dirnames, filenames in os.walk(dest):
            for entry in (*dirnames, *filenames):
                est = os.lstat(os.path.join(dirpath, entry))
                if est.st_uid != os.geteuid() or est.st_mode & 0o022 or stat.S_ISLNK(est.st_mode):
                    return False
    except OSError:
        return False
    return True


def _seal(top: Path) -> None:
    """Owned by us, readable by everyone, writable by no one else."""
    for dirpath, _dirnames, filenames in os.walk(top):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    os.chmod(top, 0o755)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _world_readable(package: Path) -> bool:
    """Every directory from / down to the package traversable by others, and the package readable."""
    for part in (*reversed(package.parents), package):
        try:
            mode = os.stat(part).st_mode
        except OSError:
            return False
        if not mode & stat.S_IXOTH or (part == package and not mode & stat.S_IROTH):
            return False
    return True
