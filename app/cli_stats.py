"""`safeattach log --stats`: the attempt log summarised (rates, P50/P95 latency, failure sites)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from core.attemptstats import GroupStats, attempt_stats
from core.text import visible


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _table(title: str, groups: Mapping[str, GroupStats]) -> Table:
    table = Table(title=title, expand=False)
    for col in ("", "attempts", "ok", "fallback", "P50 ms", "P95 ms"):
        table.add_column(col, justify="left" if col == "" else "right")
    for name, g in groups.items():
        table.add_row(visible(name), str(g.attempts), _pct(g.success_rate), _pct(g.fallback_rate),
                      _ms(g.latency.p50_ms), _ms(g.latency.p95_ms))
    return table


def print_stats(records: Sequence[Mapping[str, Any]], corrupt: int, json_out: bool) -> int:
    stats = attempt_stats(records)
    if json_out:
        print(json.dumps({**stats.to_dict(), "corrupt_lines": corrupt}, indent=2))
        return 0
    con = Console(highlight=False, width=80)
    o = stats.overall
    con.print(f"{o.attempts} attempt(s): {_pct(o.success_rate)} succeeded, {_pct(o.fallback_rate)} fell back to "
              f"legacy; latency of successful attempts P50 {_ms(o.latency.p50_ms)} ms, P95 "
              f"{_ms(o.latency.p95_ms)} ms")
    con.print(_table("by path taken", stats.by_path))
    con.print(_table("by --method", stats.by_method))
    con.print(_table("by target version", stats.by_version))
    if stats.delta_p50_ms is not None:
        con.print(f"legacy minus safe attach: P50 {stats.delta_p50_ms:+.0f} ms, P95 {stats.delta_p95_ms:+.0f} ms")
    else:
        con.print("legacy minus safe attach: needs successful attempts on both paths")
    if stats.failures:
        table = Table(title="failures by site/kind", expand=False)
        table.add_column("site/kind")
        table.add_column("count", justify="right")
        for key, count in stats.failures.items():
            table.add_row(visible(key), str(count))
        con.print(table)
    if corrupt or stats.skipped:
        con.print(f"{corrupt} corrupt line(s) and {stats.skipped} record(s) without a result skipped")
    return 0
