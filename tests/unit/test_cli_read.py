"""The CLI's read commands on bad input: exit codes and kinds, no tracebacks (live targets: tests/live)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cli_process import run_cli
from repo_paths import REPO


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("info", "4194304"), 10, "noSuchProcess"),
        (("info", "0"), 10, "not a valid PID"),
        (("info", "4194304", "--json"), 10, '"kind": "noSuchProcess"'),
    ],
)
def test_bad_input_exit_codes(args: tuple[str, ...], code: int, needle: str) -> None:
    out = run_cli(*args)
    assert out.returncode == code
    assert needle in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_usage_error() -> None:
    out = run_cli("info", "not-a-pid")
    assert out.returncode == 2 and "invalid int value" in out.stderr


@pytest.mark.parametrize("closed", ["1", "2"])
@pytest.mark.parametrize("args", [("exec", "4194304", "/dev/null", "--json"), ("exec", "4194304", "/dev/null"),
                                  ("info", "4194304", "--json")])
def test_a_closed_output_stream_is_no_traceback(args: tuple[str, ...], closed: str) -> None:
    """Started with stdout or stderr closed (`>&-`: Python gives it None), a command still runs to its exit code:
    the event lines and the last flush skip the missing stream instead of raising from the main thread while
    the engine works."""
    script = f'exec "$0" -m app "$@" {closed}>&-'
    done = subprocess.run(["sh", "-c", script, sys.executable, *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                            "SAFEATTACH_STATE_DIR": os.environ["SAFEATTACH_STATE_DIR"]})
    assert done.returncode == 10, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
