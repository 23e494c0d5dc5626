"""The CLI's read commands on bad input: exit codes and kinds, no tracebacks (live targets: tests/live)."""

from __future__ import annotations

import pytest
from cli_process import run_cli


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
