"""Human (rich) forms of what the CLI prints on errors; imported only when the output is not `--json`."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from core.errors import SafeAttachError
from core.text import visible


def err_console() -> Console:
    return Console(stderr=True, highlight=False)


def print_error_human(exc: SafeAttachError) -> None:
    con = err_console()
    con.print(Text.assemble(("error", "bold red"), f" [{exc.kind.value}]: ", visible(exc.message)))
    if exc.hint:
        con.print(Text.assemble(("hint", "bold yellow"), ": ", visible(exc.hint)))
