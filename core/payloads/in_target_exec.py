"""Runs INSIDE the target (source shipped by `exec_payload`): run a user's script like sys.remote_exec does.

The script is read by the target itself (its uid, its mount namespace, relative paths against its cwd),
through io.open_code like CPython, and executed in a fresh namespace holding only `__builtins__`.
Imports nothing from safeattach and stays valid on CPython 3.9+.
"""

from __future__ import annotations

import builtins
import io


def run(params: dict[str, object], ctx: dict[str, object]) -> dict[str, object]:
    path = str(params["script"])
    try:
        with io.open_code(path) as f:
            source = f.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        # keep the exception type: the engine maps PermissionError/FileNotFoundError to SCRIPT_UNREADABLE
        raise type(exc)(exc.errno, f"cannot read script {path!r} in the target: {reason}", path) from None
    code = compile(source, path, "exec")
    exec(code, {"__builtins__": builtins})
    return {"script": path}
