"""`--timeout` (and AttachRequest.timeout) is a finite positive number of seconds up to MAX_TIMEOUT; anything
else is a usage error before anything touches a process."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from repo_paths import REPO

from core.requests import MAX_TIMEOUT, AttachRequest, InvalidRequest, check_timeout, parse_timeout

BAD_TEXT = ["inf", "-inf", "Infinity", "nan", "NaN", "0", "0.0", "-1", "-0.5", "1e309", "3600.5", "abc", "", "1s",
            "0x10"]


@pytest.mark.parametrize("text", BAD_TEXT)
def test_bad_timeout_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_timeout(text)
    assert "--timeout must be" in str(info.value) and str(info.value).endswith(f"got {text!r}")


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 0, -3, MAX_TIMEOUT + 1, 10**400,
                                   True, "10", None])
def test_engine_refuses_bad_timeouts(value: object) -> None:
    with pytest.raises(InvalidRequest):
        AttachRequest(pid=1, script="/dev/null", timeout=value)  # type: ignore[arg-type]


def test_good_timeouts() -> None:
    assert parse_timeout(" 2.5 ") == 2.5
    assert parse_timeout("3600") == MAX_TIMEOUT
    assert check_timeout(1) == 1.0
    assert AttachRequest(pid=1, timeout=0.01).timeout == 0.01


@pytest.mark.parametrize("command", ["exec", "attach"])
@pytest.mark.parametrize("text", ["inf", "nan", "0", "-1", "garbage"])
def test_cli_usage_error(command: str, text: str) -> None:
    args = [str(2**22 + 7), "/dev/null"] if command == "exec" else [str(2**22 + 7)]
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "app", command, *args, f"--timeout={text}"], capture_output=True,
                         text=True, cwd=REPO, timeout=60)
    assert time.monotonic() - t0 < 30
    assert out.returncode == 2, out.stderr
    assert "--timeout must be" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


def test_help_documents_the_maximum() -> None:
    out = subprocess.run([sys.executable, "-m", "app", "exec", "--help"], capture_output=True, text=True, cwd=REPO,
                         timeout=60)
    assert out.returncode == 0 and "at most 3600" in " ".join(out.stdout.split())


@pytest.mark.parametrize("command", ["attach", "dap"])
@pytest.mark.parametrize("text", ["inf", "nan", "0", "garbage", "604801"])
def test_idle_timeout_usage_errors_name_the_option(command: str, text: str) -> None:
    out = subprocess.run([sys.executable, "-m", "app", command, str(2**22 + 7), f"--idle-timeout={text}"],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 2, out.stderr
    assert "--idle-timeout must be" in out.stderr and "--timeout must" not in out.stderr.replace("idle-timeout", "")
    assert "Traceback" not in out.stderr


def test_idle_timeout_goes_past_the_attach_timeout() -> None:
    """A debug server may wait days for its next client (the attach itself at most MAX_TIMEOUT): 7200 s was
    refused by the parser, which checked --idle-timeout against --timeout's limit."""
    from app.cli.main import build_parser
    from app.cli.quick_args import quick_parse

    argv = ["attach", "1", "--idle-timeout", "7200"]
    assert build_parser().parse_args(argv).idle_timeout == 7200.0
    quick = quick_parse(argv)
    assert quick is not None and quick.idle_timeout == 7200.0


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 0, -1, 604801, "600"])
def test_engine_refuses_bad_idle_timeouts(value: object) -> None:
    """The idle timeout is rendered into the loader as a literal: `inf` would be a NameError in the target."""
    with pytest.raises(InvalidRequest):
        AttachRequest(pid=1, idle_timeout=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("idle", [float("inf"), 0.0, 604801.0])
def test_attach_and_dap_called_directly_refuse_a_bad_idle_timeout(idle: float,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The commands build the request, whose own check refuses it: a usage error, nothing started."""
    from app.cli.attach import cmd_attach, cmd_dap

    assert cmd_attach(2**22 + 7, "127.0.0.1:0", False, "auto", False, 10.0, True, idle_timeout=idle) == 2
    assert cmd_dap(2**22 + 7, "auto", 10.0, idle) == 2
    assert "idle_timeout must be" in capsys.readouterr().err
