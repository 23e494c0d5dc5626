"""The common command lines (`info PID --json`, `exec PID SCRIPT`, ...) parsed without argparse.

Building the full parser costs more than the read commands' own work (argparse, its help formatter, shutil
and locale: 8-10 ms); anything not recognised here exactly (help, errors, abbreviations, `--opt=value`, `--`)
returns None and goes to argparse. tests/unit/test_quick_args.py holds every result equal to argparse's.
"""

from __future__ import annotations

from types import SimpleNamespace

from core.limits import MAX_IDLE_TIMEOUT, MAX_TIMEOUT

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    # an option's value: one of these choices, or what this converter makes of the text (None: argparse decides)
    Value = tuple[str, ...] | Callable[[str], object]


def _timeout(text: str, maximum: float = MAX_TIMEOUT) -> float | None:
    """As build_parser's `_timeout` (core.requests.parse_timeout), None where argparse reports an error."""
    from core.requests import InvalidRequest, parse_timeout

    try:
        return parse_timeout(text, maximum=maximum)
    except InvalidRequest:
        return None


def _idle_timeout(text: str) -> float | None:
    return _timeout(text, MAX_IDLE_TIMEOUT)


def _text(text: str) -> str:
    return text


# command -> (positionals as (name, int?), flags, options as name -> Value, defaults)
_METHODS = ("auto", "safe", "legacy")
_INJECTORS = ("ptrace", "gdb")
COMMANDS: dict[str, tuple[tuple[tuple[str, bool], ...], tuple[str, ...], dict[str, Value], dict[str, object]]] = {
    "ps": ((), ("--json",), {}, {}),
    "info": ((("pid", True),), ("--json",), {}, {}),
    "stack": ((("pid", True),), ("--json", "--locals"), {}, {}),
    "tasks": ((("pid", True),), ("--json",), {}, {}),
    "exec": ((("pid", True), ("script", False)), ("--json", "--allow-opted-out"),
             {"--timeout": _timeout, "--method": _METHODS, "--injector": _INJECTORS},
             {"timeout": 10.0, "method": "auto", "injector": "ptrace"}),
    "attach": ((("pid", True),), ("--json", "--wait-for-client", "--allow-opted-out"),
               {"--listen": _text, "--method": _METHODS, "--injector": _INJECTORS, "--timeout": _timeout,
                "--idle-timeout": _idle_timeout},
               {"listen": "127.0.0.1:0", "method": "auto", "injector": "ptrace", "timeout": 20.0,
                "idle_timeout": 600.0}),
}


def _dest(option: str) -> str:
    return option[2:].replace("-", "_")


def quick_parse(argv: list[str]) -> SimpleNamespace | None:
    """What argparse would return for `argv`, or None when argparse must decide (or report an error)."""
    if not argv or argv[0] not in COMMANDS:
        return None
    positionals, flags, options, defaults = COMMANDS[argv[0]]
    values: dict[str, object] = {"command": argv[0], **{_dest(f): False for f in flags}, **defaults}
    seen: list[str] = []
    i = 1
    while i < len(argv):
        token = argv[i]
        if token in flags:
            values[_dest(token)] = True
        elif token in options:
            if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                return None
            value = _option_value(argv[i + 1], options[token])
            if value is None:
                return None
            values[_dest(token)] = value
            i += 1
        elif token.startswith("-"):
            return None
        else:
            seen.append(token)
        i += 1
    if len(seen) != len(positionals):
        return None
    for (name, is_int), token in zip(positionals, seen, strict=True):
        if is_int:
            try:
                values[name] = int(token)
            except ValueError:
                return None
        else:
            values[name] = token
    return SimpleNamespace(**values)


def _option_value(text: str, value: Value) -> object:
    if isinstance(value, tuple):
        return text if text in value else None
    return value(text)
