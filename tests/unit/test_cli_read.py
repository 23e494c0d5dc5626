"""The CLI's read commands on bad input: exit codes and kinds, no tracebacks (live targets: tests/live)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cli_process import cli_env, run_cli
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



def _with_closed(redirect: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m app ARGS` with one descriptor closed from the start (`1>&-`, `2>&-`, `0<&-`): Python gives
    that stream as None."""
    return subprocess.run(["sh", "-c", f'exec "$0" -m app "$@" {redirect}', sys.executable, *args],
                          capture_output=True, text=True, cwd=REPO, timeout=120, env=cli_env())


@pytest.mark.parametrize("closed", ["1>&-", "2>&-"])
@pytest.mark.parametrize("args", [("exec", "4194304", "/dev/null", "--json"), ("exec", "4194304", "/dev/null"),
                                  ("info", "4194304", "--json")])
def test_a_closed_output_stream_is_no_traceback(args: tuple[str, ...], closed: str) -> None:
    """A command still runs to its exit code: /dev/null stands in for the missing stream, so neither the event
    lines nor the last flush raise from the main thread while the engine works."""
    done = _with_closed(closed, *args)
    assert done.returncode == 10, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize(("closed", "args", "code"), [
    ("2>&-", ("attach", "4194304", "--listen", "bad", "--json"), 2),  # a usage error with stderr closed
    ("0<&-", (), 2),  # no command with stdin closed: the help (no console without a terminal)
])
def test_a_closed_stream_is_no_traceback_and_no_stray_line(closed: str, args: tuple[str, ...], code: int) -> None:
    """What belongs on stderr goes nowhere when stderr is closed, rather than onto stdout (print(file=None)
    writes there: JSON lines, or the protocol for `dap`)."""
    done = _with_closed(closed, *args)
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    assert "error:" not in done.stdout


@pytest.mark.parametrize(("args", "code"), [
    (("exec", "4194304", "/dev/null"), 10), (("exec", "4194304", "/dev/null", "--json"), 10),
    (("info", "4194304"), 10), (("info", "4194304", "--json"), 10), (("stack", "4194304", "--json"), 10),
    (("ps", "--json"), 1), (("--version",), 0), (("--version", "log"), 0),
])
@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_a_broken_stdout_pipe_keeps_the_failures_code(args: tuple[str, ...], code: int, unbuffered: bool) -> None:
    """stdout is a pipe nobody reads (`| head -0`): a failure still exits with its own code, output that could
    not be written with 1, never with a traceback (unbuffered, the JSON error's print used to raise one from
    inside the error handler; rich's broken-pipe exit replaced exec's code with 1)."""
    env = cli_env(PYTHONUNBUFFERED="1") if unbuffered else cli_env()
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "app", *args], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, cwd=REPO, timeout=120, env=env)
    finally:
        os.close(write_end)
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [("--version",), ("--version", "log")])
def test_version_is_the_same_line_on_the_fast_path_and_through_argparse(args: tuple[str, ...]) -> None:
    """A bare `--version` is answered before any parsing; any other command line that asks for it goes through
    argparse's action, which prints the same line."""
    from app import __version__

    done = run_cli(*args)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"safeattach {__version__}\n", "")
