"""Plain forms shared by the CLI and the console: JSON-ready records and the words/formats shown to people.

No Textual here (the CLI imports it); the console adds its styling around these strings."""

from __future__ import annotations

from core.model import ProcessReport, ProcessSummary, PythonVersion
from core.records import asdict  # dataclasses.asdict works on records too, but imports dataclasses (start-up)

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any


def summary_to_dict(row: ProcessSummary) -> dict[str, Any]:
    out = asdict(row)
    out["version"] = str(row.version) if row.version else None
    out["version_hex"] = f"0x{row.version.hexversion:08x}" if row.version else None
    out["version_source"] = row.version.source if row.version else None
    out["build"] = asdict(row.build) if row.build else None
    return out


def report_to_dict(report: ProcessReport) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": summary_to_dict(report.summary),
        "binary": report.binary,
        "binary_access": report.binary_access,
        "runtime_address": f"0x{report.runtime_address:x}",
        "runtime_source": report.runtime_source,
        "offsets": None,
        "interpreters": [asdict(i) for i in report.interpreters],
        "threads": [asdict(t) for t in report.threads],
        "notes": list(report.notes),
    }
    if report.offsets is not None:
        tree = report.offsets
        out["offsets"] = {
            "layout": tree.layout,
            "size": tree.size,
            "problems": list(tree.problems),
            "sections": {
                s.name: {f.name: {"offset": f.offset, "value": f.value, "problem": f.problem} for f in s.fields}
                for s in tree.sections
            },
        }
    return out


def yes_no(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def policy_word(enabled: bool | None, unknown: str = "n/a") -> str:
    """A target's remote-debugging policy in the words both front ends show."""
    if enabled is None:
        return unknown
    return "enabled" if enabled else "opted out"


def policy_label(row: ProcessSummary) -> str:
    return policy_word(row.remote_debug_enabled)


# attempt log -------------------------------------------------------------------
RESULT_STYLE = {"ok": "green", "failed": "bold red", "cancelled": "yellow", "started": "cyan", "abandoned": "magenta"}


def fmt_time(value: object, short: bool = False) -> str:
    """Epoch seconds or an ISO 8601 string, as UTC "YYYY-MM-DD HH:MM:SS" ("MM-DD HH:MM:SS" when short)."""
    from datetime import datetime, timezone  # only the log's human form needs it (start-up of info/stack)

    when: datetime | None = None
    if isinstance(value, (int, float)):
        when = datetime.fromtimestamp(value, tz=timezone.utc)
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            when = None
    if when is None:
        return str(value if value is not None else "")
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime("%m-%d %H:%M:%S" if short else "%Y-%m-%d %H:%M:%S")


def fmt_ms(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, (int, float)) else ""


def version_label(value: object) -> str:
    """A logged target version: "3.14.0" as is; a hexversion (int or "0x30e00f0", as the log keeps it) decoded."""
    number: int | None = value if isinstance(value, int) else None
    if isinstance(value, str) and value.startswith("0x"):
        try:
            number = int(value, 16)
        except ValueError:
            number = None
    if number is not None and number > 0x1000000:
        return str(PythonVersion.from_hex(number, "log"))
    return "" if value is None else str(value)
