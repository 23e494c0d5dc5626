"""Which debugpy release serves which target Python: our own, or an older release for older targets.

Our debugpy (1.8.22) needs CPython >= 3.10. debugpy 1.8.21 is the newest release that still supports 3.9
(Requires-Python >= 3.8). Its pure wheel (`py2.py3-none-any`, no compiled speedups, so pydevd runs in pure
Python on any 3.9 build) is expected, unpacked, in the cache directory:

    <cache>/debugpy-legacy/1.8.21/debugpy/...

where <cache> is `$SAFEATTACH_CACHE_DIR`, else `$XDG_CACHE_HOME/safeattach`, else `~/.cache/safeattach` (the
directory keeps its historical name so copies fetched earlier stay valid). `fetch_command()` is the one
command that puts it there (tests/provision.sh runs it for the test suite). Nothing is downloaded at attach
time: a missing copy is an UNSUPPORTED_VERSION failure whose hint is that command.
"""

from __future__ import annotations

import os

from core.dap.dist import DebugpyInstall, debugpy_min_python, local_debugpy
from core.errors import FailureKind, SafeAttachError
from core.paths import xdg_location
from core.records import dataclass

OLD_RELEASE = "1.8.21"  # the newest debugpy that runs on 3.9
OLD_RELEASE_MIN_PYTHON = (3, 8)


@dataclass(frozen=True)
class Release:
    """The debugpy a target gets: where it is installed (client's view) and the oldest Python it runs on."""

    install: DebugpyInstall
    min_python: tuple[int, int]
    ours: bool  # our own debugpy (the one installed next to safeattach)


def cache_root() -> str:
    return xdg_location("SAFEATTACH_CACHE_DIR", "XDG_CACHE_HOME", ".cache")


def old_release_parent() -> str:
    """The directory that holds the old release's `debugpy` package (what goes on the target's sys.path)."""
    return os.path.join(cache_root(), "debugpy-legacy", OLD_RELEASE)


def fetch_command(python: str = "python3") -> str:
    import shlex  # only for this hint

    dest = shlex.quote(old_release_parent())
    return (f"{python} -m pip install --no-deps --only-binary=:all: --platform any --python-version 3.9 "
            f"--target {dest} debugpy=={OLD_RELEASE}")


def needs_old_release(version: tuple[int, int]) -> bool:
    return version < debugpy_min_python()


def release_for_target(version: tuple[int, int]) -> Release:
    """The debugpy for a target running Python `version`; UNSUPPORTED_VERSION when none fits or the old
    release was never fetched. Decided before anything is copied into the target's filesystem."""
    if not needs_old_release(version):
        return Release(local_debugpy(), debugpy_min_python(), ours=True)
    if version < OLD_RELEASE_MIN_PYTHON:
        raise SafeAttachError(FailureKind.UNSUPPORTED_VERSION,
                              f"no supported debugpy release runs on Python {version[0]}.{version[1]}")
    return Release(_old_release(), OLD_RELEASE_MIN_PYTHON, ours=False)


def _old_release() -> DebugpyInstall:
    parent = old_release_parent()
    package = os.path.join(parent, "debugpy")
    if not os.path.isfile(os.path.join(package, "__init__.py")):
        raise SafeAttachError(
            FailureKind.UNSUPPORTED_VERSION,
            f"the bundled debugpy needs Python >= {'.'.join(map(str, debugpy_min_python()))}, and debugpy "
            f"{OLD_RELEASE} (the newest release for older targets) is not in {parent}",
            hint=f"Fetch it once with: {fetch_command()}",
            detail={"expected": package, "debugpy_version": OLD_RELEASE},
        )
    return DebugpyInstall(parent, OLD_RELEASE)
