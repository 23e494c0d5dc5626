"""Where safeattach keeps its files on the client: XDG directories, each with an override for tests."""

from __future__ import annotations

import os

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def xdg_location(override_var: str, xdg_var: str, fallback: str) -> str:
    """`$override_var`, else `$xdg_var/safeattach`, else `~/<fallback>/safeattach` (a string: the CLI's hot
    paths do not import pathlib)."""
    explicit = os.environ.get(override_var)
    if explicit:
        return explicit
    xdg = os.environ.get(xdg_var)
    return os.path.join(xdg if xdg else os.path.join(os.path.expanduser("~"), fallback), "safeattach")


def xdg_dir(override_var: str, xdg_var: str, fallback: str) -> Path:
    """xdg_location as a Path."""
    from pathlib import Path

    return Path(xdg_location(override_var, xdg_var, fallback))


def write_atomic(path: str, data: bytes) -> None:
    """Replace `path` with `data` in one step (a reader sees the old file or the new one, never half of one):
    a fresh 0600 temporary file beside it, never through a link, then rename. Raises OSError; the temporary
    file does not outlive a failure."""
    tmp = os.path.join(os.path.dirname(path), f".tmp-{os.getpid()}-{os.urandom(4).hex()}")  # tempfile: hashlib
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
