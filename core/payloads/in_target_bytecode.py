"""Runs INSIDE the target and debugpy's adapter (shipped by `core.dap.payload`): debugpy's bytecode is cached
even where the process writes none (PYTHONDONTWRITEBYTECODE, `-B`), so the next attach reads it.

Without it such a target compiles all of debugpy from source on every attach (most of the wait). The
process-wide `sys.dont_write_bytecode` is never touched: only the finders of debugpy's own directories
(`sys.path_importer_cache` entries, or a path hook in the adapter, a process of our own) get a loader that
writes the .pyc the interpreter would have written. A .pyc is written only into a directory this process's
user owns, into a `__pycache__` of that user that nobody else may write, atomically and never over a link.
Imports nothing from safeattach; valid on CPython 3.9+.
"""

from __future__ import annotations

import marshal
import os
import stat
import sys
import threading
from importlib.machinery import (
    BYTECODE_SUFFIXES,
    EXTENSION_SUFFIXES,
    SOURCE_SUFFIXES,
    ExtensionFileLoader,
    FileFinder,
    SourceFileLoader,
    SourcelessFileLoader,
)
from importlib.util import MAGIC_NUMBER, cache_from_source
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from importlib.abc import Loader
    from types import CodeType

_SKIP = ("__pycache__",)


class CachingLoader(SourceFileLoader):
    """SourceFileLoader that writes the timestamp .pyc itself when the interpreter is told not to."""

    def get_code(self, fullname: str) -> CodeType | None:
        code = super().get_code(fullname)
        if code is not None and sys.dont_write_bytecode:
            write_pyc(self.path, code)
        return code


def write_pyc(source: str, code: CodeType) -> bool:
    """Write the .pyc of `source` (an unexecuted code object compiled from it) unless one is there."""
    try:
        cached = cache_from_source(source)
        if os.path.exists(cached):
            return False
        st = os.stat(source)
        folder = os.path.dirname(cached)
        if os.lstat(os.path.dirname(folder)).st_uid != os.geteuid():
            return False  # never create files in another user's directory
        try:
            os.mkdir(folder, 0o755)
        except FileExistsError:
            pass
        fst = os.lstat(folder)
        if not stat.S_ISDIR(fst.st_mode) or fst.st_uid != os.geteuid() or fst.st_mode & 0o022:
            return False
        data = b"".join((MAGIC_NUMBER, (0).to_bytes(4, "little"), (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little"),
                         (st.st_size & 0xFFFFFFFF).to_bytes(4, "little"), marshal.dumps(code)))
        tmp = f"{cached}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, cached)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except (OSError, ValueError, NotImplementedError):
        return False  # read-only, not ours, no cache tag: the import goes on from source as before
    return True


def _loaders() -> list[tuple[type[Loader], list[str]]]:
    return [(ExtensionFileLoader, EXTENSION_SUFFIXES), (CachingLoader, SOURCE_SUFFIXES),
            (SourcelessFileLoader, BYTECODE_SUFFIXES)]


def cache_package(parent: str, package: str = "debugpy") -> int:
    """Give every directory of `parent/package` (and `parent`, its sys.path entry) a caching finder; returns
    how many. Only needed when the interpreter writes no bytecode itself."""
    if not sys.dont_write_bytecode:
        return 0
    dirs = [parent]
    for dirpath, dirnames, _files in os.walk(os.path.join(parent, package)):
        dirnames[:] = [d for d in dirnames if d not in _SKIP]
        dirs.append(dirpath)
    for d in dirs:
        sys.path_importer_cache[d] = FileFinder(d, *_loaders())
    return len(dirs)


def caching_hook(parent: str) -> Callable[[str], FileFinder]:
    """A path hook for a process of our own (debugpy's adapter, whose sys.path holds unnormalised paths like
    `.../debugpy/adapter/../../`): caching finders for directories under `parent`, ImportError elsewhere."""
    top = os.path.realpath(parent)

    def hook(path: str) -> FileFinder:
        real = os.path.realpath(path or ".")
        if real != top and not real.startswith(top + os.sep):
            raise ImportError("not debugpy's directory")
        return FileFinder(path, *_loaders())

    return hook
