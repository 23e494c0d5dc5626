"""Statistics over the attempt log: success and fallback rates, latency percentiles, failure sites.

Latency percentiles are over successful attempts only (a failure's duration is mostly its timeout), by the
nearest-rank method. The path an attempt took is "legacy" when legacy injection ran (directly or as a
fallback, flag `legacy`), else "safe". Log lines are data from a file: fields of the wrong type are ignored.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping

from core.records import dataclass, field

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

Record = Mapping[str, object]  # one attempt-log line: data from a file, each field checked before use


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Latency:
    count: int
    p50_ms: float | None
    p95_ms: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Latency:
        return cls(len(values), percentile(values, 50), percentile(values, 95))

    def to_dict(self) -> dict[str, object]:
        return {"count": self.count, "p50_ms": self.p50_ms, "p95_ms": self.p95_ms}


@dataclass(frozen=True)
class GroupStats:
    attempts: int
    ok: int
    fallbacks: int
    latency: Latency  # successful attempts

    @property
    def success_rate(self) -> float | None:
        return self.ok / self.attempts if self.attempts else None

    @property
    def fallback_rate(self) -> float | None:
        return self.fallbacks / self.attempts if self.attempts else None

    def to_dict(self) -> dict[str, object]:
        return {"attempts": self.attempts, "ok": self.ok, "success_rate": self.success_rate,
                "fallbacks": self.fallbacks, "fallback_rate": self.fallback_rate, "latency": self.latency.to_dict()}


@dataclass(frozen=True)
class AttemptStats:
    overall: GroupStats
    by_path: Mapping[str, GroupStats]  # "safe", "legacy"
    by_method: Mapping[str, GroupStats]  # as requested: "auto", "safe", "legacy"
    by_version: Mapping[str, GroupStats]  # "3.14"
    failures: Mapping[str, int]  # "site/kind" -> count
    delta_p50_ms: float | None  # legacy minus safe, successful attempts
    delta_p95_ms: float | None
    skipped: int = 0  # records without a usable result
    extra: Mapping[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "overall": self.overall.to_dict(),
            "by_path": {k: v.to_dict() for k, v in self.by_path.items()},
            "by_method": {k: v.to_dict() for k, v in self.by_method.items()},
            "by_version": {k: v.to_dict() for k, v in self.by_version.items()},
            "failures": dict(self.failures),
            "legacy_minus_safe": {"p50_ms": self.delta_p50_ms, "p95_ms": self.delta_p95_ms},
            "skipped": self.skipped,
        }


def minor_version(value: object) -> str:
    """"3.14" from a logged hexversion ("0x30e0af0" or an int) or a dotted string; "?" when unreadable."""
    number: int | None = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str):
        if value.startswith("0x"):
            try:
                number = int(value, 16)
            except ValueError:
                return "?"
        else:
            parts = value.split(".")
            return ".".join(parts[:2]) if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]) else "?"
    if number is None or number < 0x1000000:
        return "?"
    return f"{(number >> 24) & 0xFF}.{(number >> 16) & 0xFF}"


def _elapsed(rec: Record) -> float | None:
    value = rec.get("elapsed_ms")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _flags(rec: Record) -> list[str]:
    flags = rec.get("flags")
    return [f for f in flags if isinstance(f, str)] if isinstance(flags, list) else []


def _group(records: Sequence[Record]) -> GroupStats:
    ok = [r for r in records if r.get("result") == "ok"]
    fallbacks = sum(1 for r in records if "legacy_fallback" in _flags(r))
    latencies = [e for e in (_elapsed(r) for r in ok) if e is not None]
    return GroupStats(len(records), len(ok), fallbacks, Latency.of(latencies))


def _by(records: Sequence[Record], key: Callable[[Record], str]) -> dict[str, GroupStats]:
    groups: dict[str, list[Record]] = {}
    for r in records:
        groups.setdefault(key(r), []).append(r)
    return {k: _group(v) for k, v in sorted(groups.items())}


def path_of(rec: Record) -> str:
    return "legacy" if "legacy" in _flags(rec) else "safe"


def attempt_stats(records: Sequence[Record]) -> AttemptStats:
    usable = [r for r in records if r.get("result") in ("ok", "failed", "cancelled")]
    skipped = len(records) - len(usable)
    failures: Counter[str] = Counter()
    for r in usable:
        if r.get("result") != "ok":
            failures[f"{r.get('failure_site') or '?'}/{r.get('failure_kind') or '?'}"] += 1
    by_path = _by(usable, path_of)
    safe, legacy = by_path.get("safe"), by_path.get("legacy")

    def delta(which: str) -> float | None:
        if safe is None or legacy is None:
            return None
        a, b = getattr(legacy.latency, which), getattr(safe.latency, which)
        return None if a is None or b is None else round(a - b, 3)

    return AttemptStats(
        overall=_group(usable), by_path=by_path,
        by_method=_by(usable, lambda r: str(r.get("method") or "?")),
        by_version=_by(usable, lambda r: minor_version(r.get("target_version"))),
        failures=dict(failures.most_common()), delta_p50_ms=delta("p50_ms"), delta_p95_ms=delta("p95_ms"),
        skipped=skipped,
    )
