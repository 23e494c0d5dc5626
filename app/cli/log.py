"""`safeattach log`: the attempt log as compact rows for the terminal's width, or JSON lines; `--stats`: the
log summarised (rates, P50/P95 latency, failure sites). rich is imported only for the human `--stats`."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

from app.render.words import log_lines
from app.render.words import ms as _ms
from app.render.words import pct as _pct
from core.text import visible

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from rich.table import Table

    from core.attemptstats import GroupStats


def cmd_log(json_out: bool, failures_only: bool, stats: bool = False) -> int:
    from core.attemptlog import read_attempts_counted

    records, corrupt = read_attempts_counted(failures_only)
    if stats:
        return print_stats(records, corrupt, json_out)
    if json_out:
        for rec in records:
            print(json.dumps(rec, sort_keys=True))
        return 0
    for line in log_lines(records, shutil.get_terminal_size().columns, failures_only):
        print(line)
    if corrupt:
        print(f"{corrupt} corrupt line(s) skipped")
    return 0


def _table(title: str, groups: Mapping[str, GroupStats]) -> Table:
    from rich.table import Table

    table = Table(title=title, expand=False)
    for col in ("", "attempts", "ok", "fallback", "P50 ms", "P95 ms"):
        table.add_column(col, justify="left" if col == "" else "right")
    for name, g in groups.items():
        table.add_row(visible(name), str(g.attempts), _pct(g.success_rate), _pct(g.fallback_rate),
                      _ms(g.latency.p50_ms), _ms(g.latency.p95_ms))
    return table


def print_stats(records: Sequence[Mapping[str, object]], corrupt: int, json_out: bool) -> int:
    from core.attemptstats import attempt_stats

    stats = attempt_stats(records)
    if json_out:
        print(json.dumps({**stats.to_dict(), "corrupt_lines": corrupt}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

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
