"""A debugpy for targets older than our own debugpy supports (CPython 3.9 for debugpy 1.8.22).

debugpy 1.8.21 is the newest release that still supports 3.9 (Requires-Python >= 3.8; 1.8.22 has none).
Its pure wheel (`py2.py3-none-any`, no compiled speedups, so pydevd runs in pure Python on any 3.9
build) is expected, unpacked, in the cache directory:

    <cache>/debugpy-legacy/1.8.21/debugpy/...

where <cache> is `$SAFEATTACH_CACHE_DIR`, else `$XDG_CACHE_HOME/safeattach`, else `~/.cache/safeattach`.
`fetch_command()` is the one command that puts it there (tests/provision.sh runs it for the test suite).
Nothing is downloaded at attach time: a missing copy is an UNSUPPORTED_VERSION failure whose hint is that
command. For a target in another root the copy is placed under the target's /tmp (cached, sealed,
verified before reuse) by the same code in core.debugpy_dist that places our own debugpy.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

from core.debugpy_dist import DebugpyInstall, debugpy_dir_for_target
from core.debugpy_dist import debugpy_min_python as current_min_python
from core.errors import FailureKind, SafeAttachError
from core.paths import xdg_dir
from core.payload import PayloadSpec

LEGACY_DEBUGPY_VERSION = "1.8.21"
LEGACY_MIN_PYTHON = (3, 8)


def cache_root() -> Path:
    return xdg_dir("SAFEATTACH_CACHE_DIR", "XDG_CACHE_HOME", ".cache")


def legacy_debugpy_parent() -> Path:
    """The directory that holds the legacy `debugpy` package (what goes on the target's sys.path)."""
    return cache_root() / "debugpy-legacy" / LEGACY_DEBUGPY_VERSION


def fetch_command(python: str = "python3") -> str:
    dest = shlex.quote(str(legacy_debugpy_parent()))
    return (f"{python} -m pip install --no-deps --only-binary=:all: --platform any --python-version 3.9 "
            f"--target {dest} debugpy=={LEGACY_DEBUGPY_VERSION}")


def needs_legacy_debugpy(version: tuple[int, int]) -> bool:
    return version < current_min_python()


def _installed() -> DebugpyInstall:
    parent = legacy_debugpy_parent()
    package = parent / "debugpy"
    if not (package / "__init__.py").is_file():
        raise SafeAttachError(
            FailureKind.UNSUPPORTED_VERSION,
            f"the bundled debugpy needs Python >= {'.'.join(map(str, current_min_python()))}, and debugpy "
            f"{LEGACY_DEBUGPY_VERSION} (the newest release for older targets) is not in {parent}",
            hint=f"Fetch it once with: {fetch_command()}",
            detail={"expected": str(package), "debugpy_version": LEGACY_DEBUGPY_VERSION},
        )
    return DebugpyInstall(parent, LEGACY_DEBUGPY_VERSION)


def legacy_debugpy_dir_for_target(pid: int, *, target_uid: int | None = None) -> str:
    """A directory, as the target sees it, holding the legacy debugpy package."""
    return debugpy_dir_for_target(pid, target_uid=target_uid, install=_installed())


def adapt_debugpy_spec(spec: PayloadSpec, version: tuple[int, int], pid: int, uid: int,
                       say: Callable[[str], None]) -> PayloadSpec:
    """The debugpy payload for a target too old for our debugpy: point it at the legacy release instead.
    Other payloads and current targets are returned unchanged."""
    if spec.name != "debugpy" or not needs_legacy_debugpy(version):
        return spec
    if version < LEGACY_MIN_PYTHON:
        raise SafeAttachError(FailureKind.UNSUPPORTED_VERSION,
                              f"no supported debugpy release runs on Python {version[0]}.{version[1]}")
    where = legacy_debugpy_dir_for_target(pid, target_uid=uid)
    say(f"Python {version[0]}.{version[1]} target: using debugpy {LEGACY_DEBUGPY_VERSION} from {where}")
    params = {**spec.params, "debugpy_dir": where, "min_python": list(LEGACY_MIN_PYTHON)}
    return PayloadSpec(spec.name, spec.source, params, spec.files)
