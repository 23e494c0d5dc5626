"""The payload that runs a user's script inside the target (the `exec` method)."""

from __future__ import annotations

from core.payloads.contract import PayloadSpec
from core.payloads.sources import payload_source


def exec_payload(script_path_in_target: str, filename: str | None = None) -> PayloadSpec:
    """Run the script at this path (as the target sees it; relative to the target's cwd) like sys.remote_exec,
    compiled as `filename` (default: that path; the user's own path when the target runs a private copy).

    The result is `{"script": filename}`; an exception raised by the script propagates to the loader, and an
    unreadable script raises PermissionError/FileNotFoundError/IsADirectoryError naming the path.
    """
    if not script_path_in_target or "\0" in script_path_in_target:
        raise ValueError(f"invalid script path {script_path_in_target!r}")
    return PayloadSpec(
        name="exec", source=payload_source("in_target_exec"),
        params={"script": script_path_in_target, "filename": filename or script_path_in_target},
    )
