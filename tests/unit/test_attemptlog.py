from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from repo_paths import REPO

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


def test_a_record_is_its_fields_in_order() -> None:
    """to_dict spells out FIELDS (a literal the checker types); the two must not drift apart."""
    from core.attemptlog import FIELDS

    rec = _record(1, "ok")
    assert tuple(rec.to_dict()) == FIELDS
    assert rec.to_dict() == {name: getattr(rec, name) for name in FIELDS}


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
        "failure_kind", "flags", "truncation", "reuse", "steps", "elapsed_ms", "attempt_id", "client",
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


def test_log_is_capped_with_one_rotation(state: Path) -> None:
    from core.attemptlog import MAX_LOG_BYTES

    assert MAX_LOG_BYTES == 4 << 20
    log = AttemptLog(max_bytes=2000)
    line_len = len(json.dumps(_record(0, "ok").to_dict(), sort_keys=True)) + 1
    for pid in range(1, 101):
        log.append(_record(pid, "ok"))
        assert os.stat(log.path).st_size <= 2000
    assert os.stat(log.rotated_path).st_size <= 2000
    assert sorted(p.name for p in state.iterdir()) == ["attempts.jsonl", "attempts.jsonl.1"]
    recs, corrupt = log.read()
    pids = [r["pid"] for r in recs]
    assert corrupt == 0 and pids[-1] == 100 and pids == list(range(pids[0], 101))
    assert len(pids) >= 2000 // line_len  # at least one full file of history kept


APPENDER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from core.attemptlog import AttemptLog
log = AttemptLog(Path(sys.argv[2]), max_bytes=3000)
for i in range(150):
    log.append({"pid": int(sys.argv[3]) * 1000 + i, "result": "ok", "method": "safe"})
"""


def test_concurrent_clients_rotate_without_losing_lines(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = str(REPO)
    path = tmp_path / "attempts.jsonl"
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, root, str(path), str(n)]) for n in range(4)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    log = AttemptLog(path, max_bytes=3000)
    recs, corrupt = log.read()
    assert corrupt == 0
    assert path.stat().st_size <= 3000 + 4 * 100 and os.stat(log.rotated_path).st_size <= 3000 + 4 * 100
    assert len({r["pid"] for r in recs}) == len(recs)  # no line written twice
    assert not (tmp_path / "attempts.jsonl.2").exists()


def test_an_attempt_whose_client_died_is_recorded_as_abandoned(state: Path) -> None:
    import os

    from core.procfs import start_ticks_of

    log = AttemptLog()
    dead = _record(7, "failed")
    dead.client = [os.getpid(), 1]  # not our start time: that client is gone
    log.append(dead.started())
    running = _record(8, "failed")  # this process is its client, and it is alive
    log.append(running.started())
    done = _record(9, "ok")
    log.append(done.started())
    log.append(done)
    assert running.client == [os.getpid(), start_ticks_of(os.getpid())]
    recs = read_attempts()
    assert [(r["pid"], r["result"]) for r in recs] == [(7, "abandoned"), (8, "started"), (9, "ok")]
    assert recs[0]["failure_kind"] == "abandoned"
    lines = Path(log.path).read_text().splitlines()
    assert len(lines) == 5 and json.loads(lines[-1])["result"] == "abandoned"  # recorded, once
    assert [r["result"] for r in read_attempts()] == ["abandoned", "started", "ok"]
    assert len(Path(log.path).read_text().splitlines()) == 5
    assert [r["pid"] for r in read_attempts(failures_only=True)] == [7, 8]
