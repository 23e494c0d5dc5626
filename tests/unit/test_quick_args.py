"""app.cli.quick_args returns exactly what argparse returns, or nothing (then argparse decides)."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cli.main import build_parser
from app.cli.quick_args import COMMANDS, quick_parse


def argparse_result(argv: list[str]) -> dict[str, object] | None:
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            return vars(build_parser().parse_args(argv))
        except SystemExit:
            return None


@pytest.mark.parametrize("argv", [
    ["info", "12", "--json"], ["info", "12"], ["stack", "7", "--locals", "--json"], ["ps"], ["ps", "--json"],
    ["tasks", "3"], ["exec", "1", "s.py"], ["exec", "1", "s.py", "--json", "--timeout", "2.5", "--method", "safe",
                                           "--injector", "gdb", "--allow-opted-out"],
    ["exec", "--json", "1", "s.py"], ["info", "+5"], ["info", " 5 "], ["exec", "1", "s.py", "--timeout", "1e1"],
    ["attach", "1"], ["attach", "1", "--json"], ["attach", "--json", "7"],
    ["attach", "1", "--json", "--listen", "0.0.0.0:5678", "--wait-for-client", "--method", "legacy", "--injector",
     "gdb", "--allow-opted-out", "--timeout", "3", "--idle-timeout", "60"],
    ["attach", "1", "--listen", "[::1]:0"], ["attach", "1", "--listen", "nonsense"], ["attach", "1", "--listen", ""],
    ["attach", "1", "--idle-timeout", "7200"], ["attach", "1", "--idle-timeout", "604800"],
])
def test_common_forms_are_parsed_as_argparse_does(argv: list[str]) -> None:
    quick = quick_parse(argv)
    assert quick is not None
    assert vars(quick) == argparse_result(argv)


@pytest.mark.parametrize("argv", [
    [], ["--help"], ["info"], ["info", "x"], ["info", "1", "2"], ["info", "1", "--js"], ["info", "1", "-h"],
    ["exec", "1"], ["exec", "1", "s", "--timeout"], ["exec", "1", "s", "--timeout", "0"],
    ["exec", "1", "s", "--timeout=3"], ["exec", "1", "s", "--method", "fast"], ["exec", "1", "--", "-s"],
    ["exec", "1", "-"], ["exec", "1", "s", "--timeout", "-1"], ["log"], ["doctor", "1"], ["dap", "1"],
    ["attach"], ["attach", "x"], ["attach", "1", "2"], ["attach", "1", "--listen"], ["attach", "1", "--listen", "-1"],
    ["attach", "1", "--listen=h:1"], ["attach", "1", "--wait"], ["attach", "1", "--idle-timeout", "0"],
    ["attach", "1", "--idle-timeout", "inf"], ["attach", "1", "--idle-timeout", "604801"],
    ["attach", "1", "--timeout", "nan"], ["attach", "1", "--method", "fast"],
    ["attach", "1", "--injector", "lldb"], ["attach", "1", "--help"],
])
def test_everything_else_goes_to_argparse(argv: list[str]) -> None:
    assert quick_parse(argv) is None


TOKENS = st.sampled_from(["1", "42", "x", "s.py", "-", "--", "-1", "", "--json", "--locals", "--js", "--timeout",
                          "--method", "--injector", "--allow-opted-out", "3", "0.5", "nan", "auto", "legacy",
                          "gdb", "-h", "--timeout=2", "--listen", "--wait-for-client", "--idle-timeout",
                          "127.0.0.1:5678", "h:1", "--listen=h:1", "600"])


@settings(max_examples=600, deadline=None)
@given(command=st.sampled_from(sorted(COMMANDS)), rest=st.lists(TOKENS, max_size=7))
def test_never_disagrees_with_argparse(command: str, rest: list[str]) -> None:
    argv = [command, *rest]
    quick = quick_parse(argv)
    if quick is not None:
        assert vars(quick) == argparse_result(argv), argv
