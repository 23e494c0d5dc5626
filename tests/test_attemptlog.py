from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.attemptlog import AttemptLog, AttemptRecord, log_path, read_attempts, read_attempts_counted


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFEATTACH_STATE_DIR", str(tmp_path / "st"))
    return tmp_path / "st"


def _record(pid: int, result: str, kind: str | None = None) -> AttemptRecord:
    rec = AttemptRecord(pid=pid, method="safe", payload="exec", target_version="0x30e0af0")
    rec.result = result
    rec.failure_kind = kind
    rec.failure_site = "awaitRun" if kind else None
    rec.thread_selection = "main"
    rec.add_step("openProcess", "ok", 1.25)
    rec.elapsed_ms = 12.5
    return rec


def test_append_and_read(state: Path) -> None:
    log = AttemptLog()
    log.append(_record(1, "ok"))
    log.append(_record(2, "failed", "timeoutRun"))
    log.append(_record(3, "cancelled", "cancelled"))
    assert log_path() == state / "attempts.jsonl"
    recs = read_attempts()
    assert [r["pid"] for r in recs] == [1, 2, 3]
    assert recs[1]["failure_kind"] == "timeoutRun" and recs[1]["failure_site"] == "awaitRun"
    assert recs[0]["steps"] == [{"name": "openProcess", "status": "ok", "elapsed_ms": 1.25}]
    assert set(recs[0]) == {
        "time", "pid", "target_version", "method", "payload", "thread_selection", "result", "failure_site",
        "failure_kind", "flags", "truncation", "reuse", "steps", "elapsed_ms",
    }
    assert [r["pid"] for r in read_attempts(failures_only=True)] == [2, 3]


def test_corrupt_line_is_skipped_and_counted(state: Path) -> None:
    log = AttemptLog()
    log.append(_record(1, "ok"))
    with open(log.path, "a") as f:
        f.write('{"pid": 2, "trunc\n\xff not json\n[1,2]\n')
    log.append(_record(3, "ok"))
    recs, corrupt = read_attempts_counted()
    assert [r["pid"] for r in recs] == [1, 3]
    assert corrupt == 3


def test_unknown_keys_are_not_written(state: Path) -> None:
    AttemptLog().append({"pid": 5, "result": "ok", "script": "print('secret')", "env": {"TOKEN": "x"}})
    line = (state / "attempts.jsonl").read_text()
    assert "secret" not in line and "TOKEN" not in line
    assert json.loads(line) == {"pid": 5, "result": "ok"}


def test_missing_log_reads_empty(state: Path) -> None:
    assert read_attempts() == []


def test_xdg_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFEATTACH_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert log_path() == tmp_path / "safeattach" / "attempts.jsonl"
