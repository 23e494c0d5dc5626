"""`log --stats`: rates, nearest-rank P50/P95, legacy-minus-safe delta, failure sites; bad records ignored."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.attemptstats import attempt_stats, minor_version, percentile


def rec(result: str, ms: object, method: str = "auto", flags: list[str] | None = None,
        version: object = "0x30e0af0", site: str | None = None, kind: str | None = None) -> dict[str, object]:
    return {"result": result, "elapsed_ms": ms, "method": method, "flags": flags or [], "target_version": version,
            "failure_site": site, "failure_kind": kind}


def test_percentiles_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95
    assert percentile([7.0], 95) == 7 and percentile([], 50) is None


def test_stats_groups_and_delta() -> None:
    records = [rec("ok", 10), rec("ok", 20), rec("ok", 30),
               rec("ok", 100, flags=["legacy", "ptrace", "legacy_fallback"]),
               rec("ok", 200, method="legacy", flags=["legacy", "ptrace"], version="0x30b07f0"),
               rec("failed", 5000, site="awaitRun", kind="timeoutRun"),
               rec("failed", 3, site="policy", kind="policyDisabled"),
               rec("failed", "NaN?", site="policy", kind="policyDisabled"),
               {"result": "weird"}, {"result": "ok", "elapsed_ms": float("inf"), "flags": "legacy"}]
    s = attempt_stats(records)
    assert s.overall.attempts == 9 and s.overall.ok == 6 and s.skipped == 1
    assert s.overall.fallbacks == 1
    assert s.by_path["safe"].latency.p50_ms == 20 and s.by_path["safe"].latency.count == 3  # inf ignored
    assert s.by_path["legacy"].latency.p50_ms == 100 and s.by_path["legacy"].latency.p95_ms == 200
    assert s.delta_p50_ms == 80 and s.delta_p95_ms == 170
    assert set(s.by_version) == {"3.14", "3.11", "?"}
    assert s.failures == {"policy/policyDisabled": 2, "awaitRun/timeoutRun": 1}
    assert json.dumps(s.to_dict())  # JSON-ready


def test_minor_version_forms() -> None:
    assert minor_version("0x30f02f0") == "3.15" and minor_version(0x3090200) == "3.9"
    assert minor_version("3.13.1") == "3.13" and minor_version(None) == "?" and minor_version("0xzz") == "?"


VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.sampled_from(["ok", "failed", "legacy",
                   "0x30e0af0", "3.14"]), st.lists(st.sampled_from(["legacy", "legacy_fallback", "x"]), max_size=3))
KEYS = st.sampled_from(["result", "elapsed_ms", "flags", "method", "target_version", "failure_site", "failure_kind"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(KEYS, VALUES, max_size=7), max_size=12))
def test_any_records_never_raise(records: list[dict[str, object]]) -> None:
    attempt_stats(records).to_dict()
