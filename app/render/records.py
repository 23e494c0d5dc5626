"""JSON-ready records of what the engine read (`ps --json`, `info --json`): plain dicts, no rich."""

from __future__ import annotations

from core.model import ProcessReport, ProcessSummary
from core.records import asdict  # dataclasses.asdict works on records too, but imports dataclasses (start-up)


def summary_to_dict(row: ProcessSummary) -> dict[str, object]:
    out = asdict(row)
    out["version"] = str(row.version) if row.version else None
    out["version_hex"] = f"0x{row.version.hexversion:08x}" if row.version else None
    out["version_source"] = row.version.source if row.version else None
    out["build"] = asdict(row.build) if row.build else None
    return out


def report_to_dict(report: ProcessReport) -> dict[str, object]:
    out: dict[str, object] = {
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
