"""How the CLI reports a failure: the error as JSON on stdout, or its kind, message and hint on stderr.

Every command module imports this, never app/cli/main.py (which imports them), so there is no cycle; rich is
imported only for the human form."""

from __future__ import annotations

import sys

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from rich.console import Console

    from core.errors import SafeAttachError

EXIT_USAGE = 2


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def print_error(exc: SafeAttachError, json_out: bool) -> int:
    """Report `exc` and return its exit code."""
    from core.errors import exit_code_for

    if json_out:
        from core.json_writer import dumps

        print(dumps({"error": exc.to_dict()}))
    else:
        from rich.text import Text

        from core.text import visible

        con = err_console()
        con.print(Text.assemble(("error", "bold red"), f" [{exc.kind.value}]: ", visible(exc.message)))
        if exc.hint:
            con.print(Text.assemble(("hint", "bold yellow"), ": ", visible(exc.hint)))
    return exit_code_for(exc.kind)


def print_usage_error(message: str) -> int:
    """A usage error found after parsing (e.g. a malformed --listen): one line on stderr, exit 2."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE
